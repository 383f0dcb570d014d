"""The rest of the trading/account surface: JSON bodies, batch, amend, cancelReplace, stops, history."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from .venue import Venue, run, signature

ORDER = "/openApi/swap/v2/trade/order"


def test_json_body_signed_over_sorted_params_places_an_order(bingx_emulator):
    async def scenario(v: Venue):
        params = {
            "symbol": "BTC-USDT",
            "side": "BUY",
            "positionSide": "BOTH",
            "type": "LIMIT",
            "quantity": 0.001,
            "price": 30000,
            "clientOrderId": "json-body",
            "timestamp": int(time.time() * 1000),
            "recvWindow": 5000,
        }
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
        body = {**params, "signature": signature(bingx_emulator.api_secret, payload)}
        async with v.session.post(
            bingx_emulator.rest_url + ORDER, json=body, headers={"X-BX-APIKEY": bingx_emulator.api_key}
        ) as resp:
            return await resp.json()

    reply = run(bingx_emulator, scenario)
    assert reply["code"] == 0 and reply["data"]["order"]["clientOrderID"] == "json-body"


def test_batch_orders_and_batch_cancel(bingx_emulator):
    async def scenario(v: Venue):
        orders = [
            {
                "symbol": "BTC-USDT",
                "side": "BUY",
                "positionSide": "BOTH",
                "type": "LIMIT",
                "quantity": 0.001,
                "price": 30000 + i,
                "clientOrderId": f"b{i}",
            }
            for i in range(3)
        ]
        placed = await v.signed("POST", "/openApi/swap/v2/trade/batchOrders", {"batchOrders": json.dumps(orders)})
        ids = [o["orderId"] for o in placed.data["orders"]]
        cancelled = await v.signed(
            "DELETE",
            "/openApi/swap/v2/trade/batchOrders",
            {"symbol": "BTC-USDT", "orderIdList": json.dumps(ids[:2]), "clientOrderIDList": json.dumps(["b2", "nope"])},
        )
        empty = await v.signed("DELETE", "/openApi/swap/v2/trade/batchOrders", {"symbol": "BTC-USDT"})
        return placed, cancelled, empty

    placed, cancelled, empty = run(bingx_emulator, scenario)
    assert [o["clientOrderID"] for o in placed.data["orders"]] == ["b0", "b1", "b2"]
    assert len(cancelled.data["success"]) == 3
    (failed,) = cancelled.data["failed"]
    assert failed["clientOrderId"] == "nope" and failed["errorCode"] == 109421
    assert empty.code == 109400


def test_amend_quantity_and_cancel_replace(bingx_emulator):
    async def scenario(v: Venue):
        placed = await v.order(
            symbol="ETH-USDT",
            side="SELL",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.1",
            price="3500",
            clientOrderId="amend-me",
        )
        order_id = placed.data["order"]["orderId"]
        amended = await v.signed(
            "POST", "/openApi/swap/v1/trade/amend", {"symbol": "ETH-USDT", "orderId": order_id, "quantity": "0.3"}
        )
        replaced = await v.signed(
            "POST",
            "/openApi/swap/v1/trade/cancelReplace",
            {
                "cancelReplaceMode": "STOP_ON_FAILURE",
                "cancelClientOrderId": "amend-me",
                "symbol": "ETH-USDT",
                "side": "SELL",
                "positionSide": "BOTH",
                "type": "LIMIT",
                "quantity": "0.2",
                "price": "3600",
            },
        )
        return order_id, amended, replaced

    order_id, amended, replaced = run(bingx_emulator, scenario)
    assert amended.data == {"orderId": order_id, "clientOrderId": "amend-me", "symbol": "ETH-USDT", "quantity": 0.3}
    data = replaced.data
    assert data["cancelResult"] == "true" and data["cancelResponse"]["status"] == "CANCELLED"
    assert data["replaceResult"] == "true" and data["newOrderResponse"]["price"] == 3600
    open_prices = sorted(o.price for o in bingx_emulator.state.orders.values() if o.is_open)
    assert open_prices == [Decimal("3600")]


def test_stop_market_needs_a_position_and_triggers_on_the_feed(bingx_emulator):
    bingx_emulator.set_price("BTC-USDT", "50000")

    async def scenario(v: Venue):
        naked = await v.order(
            symbol="BTC-USDT", side="SELL", positionSide="BOTH", type="STOP_MARKET", quantity="0.002", stopPrice="49000"
        )
        await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.002")
        stop = await v.order(
            symbol="BTC-USDT",
            side="SELL",
            positionSide="BOTH",
            type="STOP_MARKET",
            quantity="0.002",
            stopPrice="49000",
            reduceOnly="true",
        )
        bingx_emulator.set_price("BTC-USDT", "49500")
        before = await v.signed("GET", ORDER, {"symbol": "BTC-USDT", "orderId": stop.data["order"]["orderId"]})
        bingx_emulator.set_price("BTC-USDT", "48900")
        after = await v.signed("GET", ORDER, {"symbol": "BTC-USDT", "orderId": stop.data["order"]["orderId"]})
        return naked, before, after

    naked, before, after = run(bingx_emulator, scenario)
    assert naked.code == 101205
    assert before.data["order"]["status"] == "PENDING"
    # triggered, then sold into the best bid of the book (one tick under the trigger print)
    assert after.data["order"]["status"] == "FILLED" and after.data["order"]["avgPrice"] == "48899.9"
    assert bingx_emulator.state.positions[("BTC-USDT", "BOTH")].qty == 0


def test_fill_history_income_and_close_all_positions(bingx_emulator):
    async def scenario(v: Venue):
        await v.order(symbol="ETH-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.5")
        closed = await v.signed("POST", "/openApi/swap/v2/trade/closeAllPositions")
        now = int(time.time() * 1000) + 1000
        history = await v.signed(
            "GET", "/openApi/swap/v2/trade/fillHistory", {"symbol": "ETH-USDT", "startTs": now - 60_000, "endTs": now}
        )
        only_start = await v.signed(
            "GET", "/openApi/swap/v2/trade/fillHistory", {"symbol": "ETH-USDT", "startTs": now - 60_000}
        )
        income = await v.signed("GET", "/openApi/swap/v2/user/income", {"incomeType": "TRADING_FEE"})
        positions = await v.signed("GET", "/openApi/swap/v2/user/positions")
        return closed, history, only_start, income, positions

    closed, history, only_start, income, positions = run(bingx_emulator, scenario)
    assert len(closed.data["success"]) == 1 and positions.data == []
    rows = history.data["fill_history_orders"]
    assert [(r["side"], r["role"]) for r in rows] == [("buy", "taker"), ("sell", "taker")]
    assert rows[0]["tradeId"] != rows[1]["tradeId"] and isinstance(rows[0]["tradeId"], str)
    assert only_start.data["fill_history_orders"] == []  # documented quirk
    assert len(income.data) == 2 and all(Decimal(r["income"]) < 0 for r in income.data)


def test_hedge_leverage_side_rules_and_max_leverage(bingx_emulator_factory):
    venue = bingx_emulator_factory(dual_side_position=True)

    async def scenario(v: Venue):
        path = "/openApi/swap/v2/trade/leverage"
        return (
            await v.signed("POST", path, {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 3}),
            await v.signed("POST", path, {"symbol": "BTC-USDT", "side": "SHORT", "leverage": 3}),
            await v.signed("POST", path, {"symbol": "BTC-USDT", "side": "LONG", "leverage": 500}),
            await v.signed("GET", path, {"symbol": "BTC-USDT"}),
            await v.signed("GET", "/openApi/swap/v1/positionSide/dual"),
        )

    both, short, too_high, current, dual = run(venue, scenario)
    assert both.code == 109400 and short.code == 0 and too_high.code == 101414
    assert current.data["shortLeverage"] == 3 and current.data["longLeverage"] == 5
    assert dual.data == {"dualSidePosition": "true"}


def test_order_test_endpoint_places_nothing(bingx_emulator):
    reply = run(
        bingx_emulator,
        lambda v: v.signed(
            "POST",
            "/openApi/swap/v2/trade/order/test",
            {"symbol": "BTC-USDT", "side": "BUY", "positionSide": "BOTH", "type": "MARKET", "quantity": "0.001"},
        ),
    )
    assert reply.code == 0 and reply.data["order"]["orderId"] > 2**53
    assert bingx_emulator.state.orders == {}


def test_malformed_input_is_a_clear_reject_not_a_server_error(bingx_emulator):
    async def scenario(v: Venue):
        return (
            await v.signed(
                "DELETE", "/openApi/swap/v2/trade/batchOrders", {"symbol": "BTC-USDT", "orderIdList": "[1,"}
            ),
            await v.signed(
                "GET",
                "/openApi/swap/v2/trade/allFillOrders",
                {"tradingUnit": "COIN", "startTs": "yesterday", "endTs": "1"},
            ),
            await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="lots"),
        )

    replies = run(bingx_emulator, scenario)
    assert [(r.status, r.code) for r in replies] == [(200, 109400)] * 3
    assert bingx_emulator.state.orders == {}
