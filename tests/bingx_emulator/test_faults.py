"""Fault injection: storms, rejects, 5xx, 504 with and without execution, delayed acks, stream faults."""

from __future__ import annotations

import asyncio
import time

from dolphin_nautilus.bingx_emulator import RateLimitConfig

from .venue import Venue, next_event, run

ORDER = "/openApi/swap/v2/trade/order"
PLACE = f"POST {ORDER}"
NOISE = ("Ping", "ACCOUNT_CONFIG_UPDATE")


def market_buy(v: Venue, cid: str):
    return v.order(
        symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001", clientOrderId=cid
    )


def test_gateway_timeout_where_the_order_was_placed_is_found_by_client_order_id(bingx_emulator):
    bingx_emulator.faults.gateway_timeout(PLACE, executed=True)

    async def scenario(v: Venue):
        reply = await market_buy(v, "unknown-outcome")
        found = await v.signed("GET", ORDER, {"symbol": "BTC-USDT", "clientOrderId": "unknown-outcome"})
        return reply, found

    reply, found = run(bingx_emulator, scenario)
    assert reply.status == 504
    assert found.code == 0 and found.data["order"]["status"] == "FILLED"


def test_gateway_timeout_where_the_order_was_not_placed(bingx_emulator):
    bingx_emulator.faults.gateway_timeout(PLACE, executed=False)

    async def scenario(v: Venue):
        reply = await market_buy(v, "never-placed")
        found = await v.signed("GET", ORDER, {"symbol": "BTC-USDT", "clientOrderId": "never-placed"})
        retry = await market_buy(v, "never-placed")
        return reply, found, retry

    reply, found, retry = run(bingx_emulator, scenario)
    assert reply.status == 504 and found.code == 109421 and retry.code == 0


def test_client_timeout_while_the_venue_hangs_after_placing(bingx_emulator):
    bingx_emulator.faults.gateway_timeout(PLACE, executed=True, delay_s=1.0)

    async def scenario(v: Venue):
        try:
            await v.signed(
                "POST",
                ORDER,
                {"symbol": "BTC-USDT", "side": "BUY", "positionSide": "BOTH", "type": "MARKET", "quantity": "0.001"},
                timeout=0.2,
            )
        except TimeoutError:
            return "timeout"
        return "answered"

    assert run(bingx_emulator, scenario) == "timeout"
    assert len(bingx_emulator.state.orders) == 1


def test_http_500_storm_business_reject_and_rate_limit_storm_then_recovery(bingx_emulator):
    faults = bingx_emulator.faults
    faults.http_error(PLACE, status=503, times=2)
    faults.reject(PLACE, 109500, "The current system is busy")
    faults.rate_limit_storm(ORDER, times=1)  # path only: any method

    async def scenario(v: Venue):
        return [await market_buy(v, f"try-{i}") for i in range(5)]

    replies = run(bingx_emulator, scenario)
    assert [r.status for r in replies] == [503, 503, 200, 429, 200]
    assert replies[2].code == 109500 and replies[3].code == 109429 and replies[4].code == 0
    assert [o.client_order_id for o in bingx_emulator.state.orders.values()] == ["try-4"]


def test_delayed_ack_delivers_the_fill_on_the_stream_before_the_response(bingx_emulator):
    bingx_emulator.faults.delay_ack(PLACE, delay_s=0.5)

    async def scenario(v: Venue):
        key = (await v.signed("POST", "/openApi/user/auth/userDataStream")).json["listenKey"]
        async with v.session.ws_connect(bingx_emulator.ws_user_url(key)) as ws:
            started = time.monotonic()
            placing = asyncio.ensure_future(market_buy(v, "slow-ack"))
            event = await next_event(ws, skip=NOISE)
            event_at = time.monotonic() - started
            reply = await placing
            return event, event_at, reply, placing.done()

    event, event_at, reply, done = run(bingx_emulator, scenario)
    assert event["o"]["c"] == "slow-ack" and event_at < 0.4
    assert reply.code == 0 and done


def test_duplicated_and_reordered_user_events(bingx_emulator):
    async def scenario(v: Venue):
        key = (await v.signed("POST", "/openApi/user/auth/userDataStream")).json["listenKey"]
        async with v.session.ws_connect(bingx_emulator.ws_user_url(key)) as ws:
            bingx_emulator.faults.duplicate_user_events(1)
            await market_buy(v, "dup")
            dup = [await next_event(ws, skip=NOISE) for _ in range(4)]
            bingx_emulator.faults.reorder_user_events(3)
            await market_buy(v, "reorder")
            reordered = [await next_event(ws, skip=NOISE) for _ in range(3)]
            return dup, reordered

    dup, reordered = run(bingx_emulator, scenario)
    assert [e["e"] for e in dup] == ["ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
    assert dup[0] == dup[1] and dup[0]["o"]["X"] == "NEW"
    assert [e["e"] for e in reordered] == ["ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE"]
    assert [e["o"]["X"] for e in reordered[1:]] == ["FILLED", "NEW"]


def test_user_stream_drop_and_reconnect_with_same_key(bingx_emulator):
    async def scenario(v: Venue):
        key = (await v.signed("POST", "/openApi/user/auth/userDataStream")).json["listenKey"]
        async with v.session.ws_connect(bingx_emulator.ws_user_url(key)) as ws:
            await asyncio.sleep(0.05)
            bingx_emulator.faults.drop_user_connections()
            dropped = (await ws.receive(timeout=2)).type
            while dropped.name == "BINARY":  # the config push on connect may still be in flight
                dropped = (await ws.receive(timeout=2)).type
        async with v.session.ws_connect(bingx_emulator.ws_user_url(key)) as ws:
            await market_buy(v, "after-drop")
            event = await next_event(ws, skip=NOISE)
        return dropped, event

    dropped, event = run(bingx_emulator, scenario)
    assert dropped.name in ("CLOSED", "CLOSE", "ERROR")
    assert event["o"]["c"] == "after-drop"


def test_restart_keeps_orders_positions_and_balance(bingx_emulator_factory):
    venue = bingx_emulator_factory(rate_limits=RateLimitConfig(enabled=False))

    async def place(v: Venue):
        await market_buy(v, "before-restart")
        return await v.order(
            symbol="BTC-USDT",
            side="SELL",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.001",
            price="90000",
            clientOrderId="resting",
        )

    run(venue, place)
    port, balance = venue.port, venue.state.balance
    venue.stop()
    venue.restart()

    async def after(v: Venue):
        return (
            await v.signed("GET", "/openApi/swap/v2/trade/openOrders"),
            await v.signed("GET", "/openApi/swap/v2/user/positions"),
        )

    open_orders, positions = run(venue, after)
    assert venue.port == port and venue.state.balance == balance
    assert [o["clientOrderId"] for o in open_orders.data["orders"]] == ["resting"]
    assert positions.data[0]["positionAmt"] == "0.0010"
