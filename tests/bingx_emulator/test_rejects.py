"""Business rejects with the documented codes, in both error-code generations."""

from __future__ import annotations

import pytest

from .venue import Venue, run


def place(handle, **params):
    return run(handle, lambda v: v.order(**params))


def test_duplicate_client_order_id_is_101481_case_insensitively(bingx_emulator):
    async def scenario(venue: Venue):
        first = await venue.order(
            symbol="BTC-USDT",
            side="BUY",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.001",
            price="30000",
            clientOrderId="dup-1",
        )
        second = await venue.order(
            symbol="BTC-USDT",
            side="BUY",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.001",
            price="30000",
            clientOrderID="DUP-1",
        )
        return first, second

    first, second = run(bingx_emulator, scenario)
    assert first.code == 0 and second.code == 101481
    assert len(bingx_emulator.state.orders) == 1


def test_client_order_id_longer_than_40_is_rejected(bingx_emulator):
    reply = place(
        bingx_emulator,
        symbol="BTC-USDT",
        side="BUY",
        positionSide="BOTH",
        type="MARKET",
        quantity="0.001",
        clientOrderId="x" * 41,
    )
    assert reply.code == 109400


def test_min_quantity_101400_and_min_notional_110425(bingx_emulator):
    too_small = place(
        bingx_emulator, symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.00005"
    )
    assert too_small.code == 101400
    bingx_emulator.set_price("BTC-USDT", "10000")
    tiny_notional = place(
        bingx_emulator, symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.0001"
    )  # 1 USDT < 2 USDT
    assert tiny_notional.code == 110425
    assert bingx_emulator.state.orders == {}


def test_quantity_is_truncated_to_precision(bingx_emulator):
    reply = place(
        bingx_emulator, symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001999"
    )
    assert reply.code == 0 and reply.data["order"]["quantity"] == 0.0019


def test_reduce_only_that_would_open_or_flip_is_101290(bingx_emulator):
    async def scenario(venue: Venue):
        opening = await venue.order(
            symbol="BTC-USDT", side="SELL", positionSide="BOTH", type="MARKET", quantity="0.001", reduceOnly="true"
        )
        await venue.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001")
        flipping = await venue.order(
            symbol="BTC-USDT", side="SELL", positionSide="BOTH", type="MARKET", quantity="0.002", reduceOnly="true"
        )
        increasing = await venue.order(
            symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001", reduceOnly="true"
        )
        return opening, flipping, increasing

    assert [r.code for r in run(bingx_emulator, scenario)] == [101290, 101290, 101290]


@pytest.mark.parametrize(("generation", "code"), [("new", 109400), ("old", 80001)])
def test_hedge_mode_rejects_reduce_only_and_both(bingx_emulator_factory, generation, code):
    venue = bingx_emulator_factory(dual_side_position=True, error_generation=generation)
    reduce_only = place(
        venue, symbol="BTC-USDT", side="BUY", positionSide="LONG", type="MARKET", quantity="0.001", reduceOnly="false"
    )
    both = place(venue, symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001")
    close_without_position = place(
        venue, symbol="BTC-USDT", side="SELL", positionSide="LONG", type="MARKET", quantity="0.001"
    )
    assert reduce_only.code == code and "ReduceOnly" in reduce_only.json["msg"]
    assert both.code == code
    assert close_without_position.code == 101205


def test_hedge_mode_long_and_short_coexist(bingx_emulator_factory):
    venue = bingx_emulator_factory(dual_side_position=True)

    async def scenario(v: Venue):
        await v.order(symbol="ETH-USDT", side="BUY", positionSide="LONG", type="MARKET", quantity="0.1")
        await v.order(symbol="ETH-USDT", side="SELL", positionSide="SHORT", type="MARKET", quantity="0.2")
        return await v.signed("GET", "/openApi/swap/v2/user/positions")

    positions = run(venue, scenario)
    assert {(p["positionSide"], p["positionAmt"]) for p in positions.data} == {("LONG", "0.10"), ("SHORT", "0.20")}


@pytest.mark.parametrize(("generation", "code"), [("new", 109421), ("old", 80016)])
def test_order_not_exist_in_both_generations(bingx_emulator_factory, generation, code):
    venue = bingx_emulator_factory(error_generation=generation)
    reply = run(
        venue,
        lambda v: v.signed(
            "GET", "/openApi/swap/v2/trade/order", {"symbol": "BTC-USDT", "orderId": 1736012449498123456}
        ),
    )
    assert reply.code == code


def test_one_way_wrong_position_side_and_position_mode_switch_with_orders(bingx_emulator):
    async def scenario(v: Venue):
        wrong = await v.order(symbol="BTC-USDT", side="BUY", positionSide="LONG", type="MARKET", quantity="0.001")
        await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="LIMIT", quantity="0.01", price="1000")
        switch = await v.signed("POST", "/openApi/swap/v1/positionSide/dual", {"dualSidePosition": "true"})
        return wrong, switch

    wrong, switch = run(bingx_emulator, scenario)
    assert wrong.code == 109400 and switch.code == 109401


def test_post_only_that_would_take_is_101215_and_insufficient_margin_101204(bingx_emulator):
    bingx_emulator.set_price("BTC-USDT", "50000")
    post_only = place(
        bingx_emulator,
        symbol="BTC-USDT",
        side="BUY",
        positionSide="BOTH",
        type="LIMIT",
        quantity="0.001",
        price="51000",
        timeInForce="PostOnly",
    )
    huge = place(bingx_emulator, symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="5")
    assert post_only.code == 101215 and huge.code == 101204


def test_filled_order_cannot_be_cancelled(bingx_emulator):
    async def scenario(v: Venue):
        placed = await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001")
        return await v.signed(
            "DELETE", "/openApi/swap/v2/trade/order", {"symbol": "BTC-USDT", "orderId": placed.data["order"]["orderId"]}
        )

    assert run(bingx_emulator, scenario).code == 109422


def test_unknown_symbol_and_bad_depth_limit(bingx_emulator):
    async def scenario(v: Venue):
        return (
            await v.order(symbol="DOGE-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="1"),
            await v.public("/openApi/swap/v2/quote/depth", symbol="BTC-USDT", limit=1),
        )

    unknown, depth = run(bingx_emulator, scenario)
    assert unknown.code == 109425 and depth.code == 109400
