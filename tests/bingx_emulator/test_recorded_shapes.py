"""The emulator's answer to the same request has the shape of the recorded venue payload: the same field
names and JSON types (tests/fixtures/bingx). Fields the emulator sends beyond a recording are allowed only
where the reference documents them (named per fixture below)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from dolphin_nautilus.bingx_emulator import EmulatorConfig, EmulatorHandle
from dolphin_nautilus.bingx_emulator.clock import ManualClock

from .recorded import load_fixture, shape_differences
from .venue import Venue, next_event

ORDER_EXTRAS = frozenset(
    {
        "reduceOnly",
        "onlyOnePosition",
        "postOnly",
        "trailingStopRate",
        "trailingStopDistance",
        "StopGuaranteed",
        "stopGuaranteed",
        "triggerOrderId",
    }
)  # docs/reference/bingx_api.md §5.4
# fixture -> fields the recording lacks but the reference documents for that payload
DOCUMENTED_EXTRAS: dict[str, frozenset[str]] = {
    "rest_contracts": frozenset(
        {"ensureTrigger", "triggerFeeRate", "displayName", "brokerState", "launchTime", "maintainTime", "offTime"}
    ),  # docs/reference/bingx_api.md §4.1
    "rest_book_ticker": frozenset({"time"}),  # docs/reference/bingx_api.md §4.6
    # docs/reference/bingx_api.md §5.1
    "rest_place_order_live": frozenset({"status", "avgPrice", "executedQty", "stopGuaranteed"}),
    "rest_cancel_order": ORDER_EXTRAS,
    "rest_query_order": ORDER_EXTRAS,
    "rest_open_orders": ORDER_EXTRAS,
    "rest_all_orders": ORDER_EXTRAS,
    "rest_cancel_all": ORDER_EXTRAS,
    "rest_all_fill_orders": frozenset({"side", "positionSide", "onlyOnePosition"}),  # docs/reference/bingx_api.md §5.9
    "ws_order_trade_update_2025": frozenset({"l", "L"}),  # docs/reference/bingx_api.md §9.3 (CCXT, VST probe)
}
SHAPE_FIXTURES = [
    "rest_server_time",
    "rest_contracts",
    "rest_depth",
    "rest_klines_v3",
    "rest_book_ticker",
    "rest_ticker",
    "rest_place_order_live",
    "rest_cancel_order",
    "rest_query_order",
    "rest_open_orders",
    "rest_all_orders",
    "rest_cancel_all",
    "rest_all_fill_orders",
    "rest_fill_history",
    "rest_positions_live",
    "rest_balance_v3",
    "rest_position_mode",
    "rest_commission_rate",
    "rest_listen_key",
    "rest_income_funding_live",
    "rest_error_signature",
    "rest_error_business",
    "ws_ticker",
    "ws_book_ticker",
    "ws_trade",
    "ws_kline",
    "ws_depth",
    "ws_mark_price",
    "ws_last_price",
    "ws_order_trade_update_2025",
    "ws_account_update_2025",
    "ws_account_config_update",
    "ws_listen_key_expired",
]
MARKET_TOPICS = {
    "ws_ticker": "BTC-USDT@ticker",
    "ws_book_ticker": "BTC-USDT@bookTicker",
    "ws_trade": "BTC-USDT@trade",
    "ws_kline": "BTC-USDT@kline_1m",
    "ws_depth": "BTC-USDT@depth5@100ms",
    "ws_mark_price": "BTC-USDT@markPrice",
    "ws_last_price": "BTC-USDT@lastPrice",
}
T = "/openApi/swap/v2/trade"


async def _scenario(handle: EmulatorHandle) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        v = Venue(handle, session)
        key = (await v.signed("POST", "/openApi/user/auth/userDataStream")).json
        out["rest_listen_key"] = key
        user = await session.ws_connect(handle.ws_user_url(key["listenKey"]))
        out["ws_account_config_update"] = await next_event(user, skip=("Ping",))
        market = await session.ws_connect(handle.ws_market_url)
        for topic in MARKET_TOPICS.values():
            await market.send_str(json.dumps({"id": topic, "reqType": "sub", "dataType": topic}))
        resting = (
            await v.order(
                symbol="BTC-USDT",
                side="BUY",
                positionSide="BOTH",
                type="LIMIT",
                quantity="0.001",
                price="40000",
                clientOrderId="Rest-1",
            )
        ).json["data"]["order"]
        out["rest_place_order_live"] = (
            await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.002")
        ).json
        handle.set_price("BTC-USDT", "50010")
        order_ref = {"symbol": "BTC-USDT", "orderId": resting["orderId"]}
        out["rest_query_order"] = (await v.signed("GET", f"{T}/order", order_ref)).json
        out["rest_open_orders"] = (await v.signed("GET", f"{T}/openOrders", {"symbol": "BTC-USDT"})).json
        out["rest_cancel_order"] = (await v.signed("DELETE", f"{T}/order", order_ref)).json
        await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="LIMIT", quantity="0.001", price="40001")
        out["rest_cancel_all"] = (await v.signed("DELETE", f"{T}/allOpenOrders", {"symbol": "BTC-USDT"})).json
        out["rest_all_orders"] = (await v.signed("GET", f"{T}/allOrders", {"symbol": "BTC-USDT", "limit": 100})).json
        now = handle.clock.now_ms()
        span = {"startTs": now - 60_000, "endTs": now + 1_000}
        out["rest_all_fill_orders"] = (
            await v.signed("GET", f"{T}/allFillOrders", {**span, "tradingUnit": "COIN"})
        ).json
        out["rest_fill_history"] = (await v.signed("GET", f"{T}/fillHistory", {**span, "symbol": "BTC-USDT"})).json
        out["rest_positions_live"] = (await v.signed("GET", "/openApi/swap/v2/user/positions")).json
        out["rest_balance_v3"] = (await v.signed("GET", "/openApi/swap/v3/user/balance")).json
        out["rest_position_mode"] = (await v.signed("GET", "/openApi/swap/v1/positionSide/dual")).json
        out["rest_commission_rate"] = (await v.signed("GET", "/openApi/swap/v2/user/commissionRate")).json
        out["rest_error_signature"] = (await v.signed("GET", "/openApi/swap/v3/user/balance", secret="wrong")).json
        out["rest_error_business"] = (await v.signed("GET", f"{T}/order", {"symbol": "BTC-USDT", "orderId": 1})).json
        handle.advance_clock(8 * 3_600_000)  # past a funding time; sign with the venue's clock from here
        out["rest_income_funding_live"] = (
            await v.signed(
                "GET", "/openApi/swap/v2/user/income", {"incomeType": "FUNDING_FEE"}, timestamp=handle.clock.now_ms()
            )
        ).json
        for name, path, params in [
            ("rest_server_time", "/openApi/swap/v2/server/time", {}),
            ("rest_contracts", "/openApi/swap/v2/quote/contracts", {}),
            ("rest_depth", "/openApi/swap/v2/quote/depth", {"symbol": "BTC-USDT", "limit": 5}),
            ("rest_klines_v3", "/openApi/swap/v3/quote/klines", {"symbol": "BTC-USDT", "interval": "1m", "limit": 3}),
            ("rest_book_ticker", "/openApi/swap/v2/quote/bookTicker", {"symbol": "BTC-USDT"}),
            ("rest_ticker", "/openApi/swap/v2/quote/ticker", {"symbol": "BTC-USDT"}),
        ]:
            out[name] = (await v.public(path, **params)).json
        events: dict[str, dict] = {}
        while len(events) < 2:
            event = await next_event(user, skip=("Ping", "ACCOUNT_CONFIG_UPDATE"))
            events.setdefault(event["e"], event)
        out["ws_order_trade_update_2025"] = events["ORDER_TRADE_UPDATE"]
        out["ws_account_update_2025"] = events["ACCOUNT_UPDATE"]
        handle.expire_listen_keys()
        out["ws_listen_key_expired"] = await next_event(
            user, skip=("Ping", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "ACCOUNT_CONFIG_UPDATE")
        )
        wanted = {topic: name for name, topic in MARKET_TOPICS.items()}
        handle.set_price("BTC-USDT", "50020")
        while set(wanted.values()) - set(out):
            frame = await next_event(market, timeout=5.0, skip=("Ping",))
            if isinstance(frame, dict) and frame.get("dataType") in wanted:
                out.setdefault(wanted[frame["dataType"]], frame)
        await user.close()
        await market.close()
    return out


@pytest.fixture(scope="module")
def emulator_answers() -> Iterator[dict[str, Any]]:
    clock = ManualClock()
    with EmulatorHandle(EmulatorConfig(), clock=clock) as handle:
        handle.set_price("BTC-USDT", "50000")
        yield asyncio.run(asyncio.wait_for(_scenario(handle), 60))


@pytest.mark.parametrize("name", SHAPE_FIXTURES)
def test_emulator_answer_has_the_recorded_shape(name, emulator_answers):
    venue = load_fixture(name)["payload"]
    ours = emulator_answers[name]
    if isinstance(venue.get("data"), (list, dict)) and venue["data"]:
        assert ours.get("data"), f"{name}: the scenario must produce a non-empty answer to compare: {ours}"
    assert shape_differences(venue, ours, extra_ok=DOCUMENTED_EXTRAS.get(name, frozenset())) == []


def test_shape_comparison_catches_a_swapped_type_and_a_renamed_field():
    venue = {"data": [{"price": "1.0", "qty": "2", "id": 1}]}
    assert shape_differences(venue, {"data": [{"price": 1.0, "qty": "2", "id": 1}]}) == [
        "$.data[0].price: venue sends string, emulator number (1.0)"
    ]
    assert shape_differences(venue, {"data": [{"price": "1", "quantity": "2", "id": 1}]}) == [
        "$.data[0].qty: missing in emulator output",
        "$.data[0].quantity: emulator sends a field the recording does not have",
    ]
