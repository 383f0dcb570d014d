"""Orders, fills, positions and balances through signed REST calls."""

from __future__ import annotations

import re
from decimal import Decimal

from .venue import Venue, run

ORDER = "/openApi/swap/v2/trade/order"


def test_contracts_and_server_time_are_public(bingx_emulator):
    async def scenario(venue: Venue):
        contracts = await venue.public("/openApi/swap/v2/quote/contracts")
        time_reply = await venue.public("/openApi/swap/v2/server/time")
        return contracts, time_reply

    contracts, time_reply = run(bingx_emulator, scenario)
    assert contracts.code == 0 and contracts.json["msg"] == ""
    btc = next(c for c in contracts.data if c["symbol"] == "BTC-USDT")
    assert btc["pricePrecision"] == 1 and btc["quantityPrecision"] == 4
    assert btc["tradeMinQuantity"] == 0.0001 and btc["apiStateOpen"] == "true"
    assert time_reply.data["serverTime"] > 1_700_000_000_000


def test_market_order_fills_at_feed_price_and_opens_position(bingx_emulator):
    bingx_emulator.set_price("BTC-USDT", "50000")

    async def scenario(venue: Venue):
        placed = await venue.order(
            symbol="BTC-USDT",
            side="BUY",
            positionSide="BOTH",
            type="MARKET",
            quantity="0.01",
            clientOrderId="Entry-ABC",
        )
        positions = await venue.signed("GET", "/openApi/swap/v2/user/positions", {"symbol": "BTC-USDT"})
        balance = await venue.signed("GET", "/openApi/swap/v3/user/balance")
        return placed, positions, balance

    placed, positions, balance = run(bingx_emulator, scenario)
    assert placed.code == 0
    order = placed.data["order"]
    # the id is an unquoted JSON integer above 2**53 (float parsers would corrupt it)
    assert re.search(r'"orderId":\d{19}[,}]', placed.text)
    assert order["orderId"] > 2**53 and order["clientOrderID"] == "entry-abc"
    assert order["quantity"] == 0.01 and order["status"] == "FILLED"
    (pos,) = positions.data
    # a market buy takes the best ask of the book, one tick above the last price
    assert pos["positionAmt"] == "0.0100" and Decimal(pos["avgPrice"]) == Decimal("50000.1")
    fee = Decimal("0.01") * Decimal("50000.1") * Decimal("0.0005")
    assert Decimal(balance.data[0]["balance"]) == (Decimal("10000") - fee).quantize(Decimal("0.0001"))
    state = bingx_emulator.state
    assert state.fills[0].role == "taker" and state.fills[0].commission == -fee


def test_limit_rests_then_fills_when_feed_crosses_and_is_queryable_both_ways(bingx_emulator):
    bingx_emulator.set_price("ETH-USDT", "3000")

    async def scenario(venue: Venue):
        placed = await venue.order(
            symbol="ETH-USDT",
            side="BUY",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.5",
            price="2990.123",
            clientOrderId="BidOne",
        )
        order_id = placed.data["order"]["orderId"]
        by_id = await venue.signed("GET", ORDER, {"symbol": "ETH-USDT", "orderId": order_id})
        by_client_id = await venue.signed("GET", ORDER, {"symbol": "ETH-USDT", "clientOrderId": "BIDONE"})
        open_orders = await venue.signed("GET", "/openApi/swap/v2/trade/openOrders", {"symbol": "ETH-USDT"})
        bingx_emulator.set_price("ETH-USDT", "2989")
        filled = await venue.signed("GET", ORDER, {"symbol": "ETH-USDT", "orderId": order_id})
        fills = await venue.signed(
            "GET", "/openApi/swap/v2/trade/allFillOrders", {"tradingUnit": "COIN", "startTs": 0, "endTs": 2**41}
        )
        return by_id, by_client_id, open_orders, filled, fills

    by_id, by_client_id, open_orders, filled, fills = run(bingx_emulator, scenario)
    resting = by_id.data["order"]
    assert resting["status"] == "PENDING" and resting["price"] == "2990.12"  # truncated, not rejected
    assert by_client_id.data["order"]["orderId"] == resting["orderId"]
    assert [o["orderId"] for o in open_orders.data["orders"]] == [resting["orderId"]]
    done = filled.data["order"]
    assert done["status"] == "FILLED" and done["avgPrice"] == "2990.12" and done["executedQty"] == "0.50"
    (row,) = fills.data["fill_orders"]
    assert row["orderId"] == str(resting["orderId"]) and row["volume"] == "0.50"
    assert Decimal(row["commission"]) == -Decimal("0.5") * Decimal("2990.12") * Decimal("0.0002")  # maker
    assert row["filledTime"].endswith("+0800")


def test_cancel_then_cancel_again_within_a_second_is_109201(bingx_emulator):
    async def scenario(venue: Venue):
        placed = await venue.order(
            symbol="BTC-USDT", side="SELL", positionSide="BOTH", type="LIMIT", quantity="0.001", price="70000"
        )
        order_id = placed.data["order"]["orderId"]
        cancelled = await venue.signed("DELETE", ORDER, {"symbol": "BTC-USDT", "orderId": order_id})
        again = await venue.signed("DELETE", ORDER, {"symbol": "BTC-USDT", "orderId": order_id})
        missing = await venue.signed("GET", ORDER, {"symbol": "BTC-USDT", "orderId": 123})
        return cancelled, again, missing

    cancelled, again, missing = run(bingx_emulator, scenario)
    assert cancelled.data["order"]["status"] == "CANCELLED"
    assert again.code == 109201
    assert missing.status == 200 and missing.code == 109421


def test_cancel_all_and_history(bingx_emulator):
    async def scenario(venue: Venue):
        for price in ("40000", "41000"):
            await venue.order(
                symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="LIMIT", quantity="0.001", price=price
            )
        cancelled = await venue.signed("DELETE", "/openApi/swap/v2/trade/allOpenOrders", {"symbol": "BTC-USDT"})
        left = await venue.signed("GET", "/openApi/swap/v2/trade/openOrders")
        history = await venue.signed("GET", "/openApi/swap/v2/trade/allOrders", {"symbol": "BTC-USDT", "limit": 100})
        return cancelled, left, history

    cancelled, left, history = run(bingx_emulator, scenario)
    assert len(cancelled.data["success"]) == 2 and left.data["orders"] == []
    assert {o["status"] for o in history.data["orders"]} == {"CANCELLED"}


def test_round_trip_realizes_pnl_and_flat_position_disappears(bingx_emulator):
    bingx_emulator.set_price("BTC-USDT", "50000")

    async def scenario(venue: Venue):
        await venue.order(symbol="BTC-USDT", side="SELL", positionSide="BOTH", type="MARKET", quantity="0.02")
        bingx_emulator.set_price("BTC-USDT", "49000")
        closing = await venue.order(
            symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.02", reduceOnly="true"
        )
        positions = await venue.signed("GET", "/openApi/swap/v2/user/positions")
        query = await venue.signed("GET", ORDER, {"symbol": "BTC-USDT", "orderId": closing.data["order"]["orderId"]})
        return positions, query

    positions, query = run(bingx_emulator, scenario)
    assert positions.data == []
    # sold at the best bid 49999.9, bought back at the best ask 49000.1: (49999.9 - 49000.1) * 0.02
    assert Decimal(query.data["order"]["profit"]) == Decimal("19.9960")
    state = bingx_emulator.state
    fees = sum(-f.commission for f in state.fills)
    assert state.balance == Decimal("10000") + Decimal("19.996") - fees


def test_market_order_in_slices_reports_partial_fills(bingx_emulator_factory):
    from dolphin_nautilus.bingx_emulator import FillModel

    venue = bingx_emulator_factory(fill_model=FillModel(market_slices=3))
    reply = run(
        venue, lambda v: v.order(symbol="ETH-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.9")
    )
    assert reply.data["order"]["status"] == "FILLED" and reply.data["order"]["executedQty"] == "0.90"
    fills = venue.state.fills
    assert [f.qty for f in fills] == [Decimal("0.3")] * 3 and len({f.trade_id for f in fills}) == 3


def test_ioc_limit_that_cannot_fill_expires(bingx_emulator):
    reply = run(
        bingx_emulator,
        lambda v: v.order(
            symbol="BTC-USDT",
            side="BUY",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.001",
            price="50000",
            timeInForce="IOC",
        ),
    )
    assert reply.code == 0 and reply.data["order"]["status"] == "EXPIRED"
    assert bingx_emulator.state.open_orders == {}
