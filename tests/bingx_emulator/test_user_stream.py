"""listenKey lifecycle and the user data stream: ORDER_TRADE_UPDATE / ACCOUNT_UPDATE, expiry."""

from __future__ import annotations

import asyncio
import json

from dolphin_nautilus.bingx_emulator import FillModel

from .venue import Venue, next_event, run

STREAM = "/openApi/user/auth/userDataStream"
NOISE = ("Ping", "ACCOUNT_CONFIG_UPDATE")


async def listen_key(venue: Venue) -> str:
    reply = await venue.signed("POST", STREAM)
    assert reply.status == 200 and set(reply.json) == {"listenKey"}  # not enveloped
    return reply.json["listenKey"]


def test_listen_key_with_api_key_header_only_and_extend_delete(bingx_emulator):
    async def scenario(venue: Venue):
        url = bingx_emulator.rest_url + STREAM
        headers = {"X-BX-APIKEY": bingx_emulator.api_key}
        async with venue.session.post(url, headers=headers) as resp:
            key = (await resp.json())["listenKey"]
        async with venue.session.put(url, params={"listenKey": key}, headers=headers) as resp:
            extended = resp.status
        async with venue.session.delete(url, params={"listenKey": key}, headers=headers) as resp:
            deleted = resp.status
        async with venue.session.put(url, params={"listenKey": key}, headers=headers) as resp:
            after_delete = resp.status
        async with venue.session.post(url) as resp:
            no_key = await resp.json()
        return key, extended, deleted, after_delete, no_key

    key, extended, deleted, after_delete, no_key = run(bingx_emulator, scenario)
    assert len(key) == 64 and extended == 200 and deleted == 200 and after_delete == 404
    assert no_key["code"] == 100413


def test_order_events_in_documented_shape_with_partial_fills(bingx_emulator_factory):
    venue = bingx_emulator_factory(fill_model=FillModel(limit_fill_fraction=0.5))
    venue.set_price("ETH-USDT", "3000")

    async def scenario(v: Venue):
        key = await listen_key(v)
        async with v.session.ws_connect(venue.ws_user_url(key)) as ws:
            config = await next_event(ws, skip=("Ping",))
            placed = await v.order(
                symbol="ETH-USDT",
                side="BUY",
                positionSide="BOTH",
                type="LIMIT",
                quantity="1",
                price="2999",
                clientOrderId="Part-Fill",
            )
            new = await next_event(ws, skip=NOISE)
            venue.set_price("ETH-USDT", "2998")
            first = await next_event(ws, skip=NOISE)
            account = await next_event(ws, skip=NOISE)
            venue.set_price("ETH-USDT", "2997")
            second = await next_event(ws, skip=NOISE)
            return config, placed.data["order"]["orderId"], new, first, account, second

    config, order_id, new, first, account, second = run(venue, scenario)
    assert config["e"] == "ACCOUNT_CONFIG_UPDATE" and config["ac"]["mt"] == "cross"
    assert new["e"] == "ORDER_TRADE_UPDATE" and new["o"]["x"] == "NEW" and new["o"]["X"] == "NEW"
    assert new["o"]["i"] == order_id and new["o"]["c"] == "part-fill" and new["o"]["ps"] == "BOTH"
    o1 = first["o"]
    assert (o1["x"], o1["X"], o1["l"], o1["z"], o1["L"]) == (
        "TRADE",
        "PARTIALLY_FILLED",
        "0.50000000",
        "0.50000000",
        "2999.00000000",
    )
    assert o1["n"] == "-0.29990000"  # maker fee of this fill, negative = paid
    assert account["e"] == "ACCOUNT_UPDATE" and account["a"]["m"] == "ORDER"
    (pos,) = account["a"]["P"]
    assert pos["ps"] == "BOTH" and pos["pa"] == "0.50000000" and pos["ep"] == "2999.00000000"
    assert account["a"]["B"][0]["a"] == "USDT"
    o2 = second["o"]
    assert (o2["X"], o2["z"], o2["l"]) == ("FILLED", "1.00000000", "0.50000000") and o2["td"] != o1["td"]


def test_one_way_short_reports_signed_position_amount(bingx_emulator):
    async def scenario(v: Venue):
        key = await listen_key(v)
        async with v.session.ws_connect(bingx_emulator.ws_user_url(key)) as ws:
            await v.order(symbol="BTC-USDT", side="SELL", positionSide="BOTH", type="MARKET", quantity="0.002")
            events = [await next_event(ws, skip=NOISE) for _ in range(3)]
            return events

    new, trade, account = run(bingx_emulator, scenario)
    assert (new["o"]["X"], trade["o"]["X"], trade["o"]["o"]) == ("NEW", "FILLED", "MARKET")
    assert trade["o"]["p"] == trade["o"]["ap"] == "59999.90000000"  # sold into the best bid
    assert account["a"]["P"][0]["pa"] == "-0.00200000"


def test_listen_key_expiry_pushes_event_and_extend_then_404(bingx_emulator_factory):
    venue = bingx_emulator_factory(listen_key_ttl_s=0.4)

    async def scenario(v: Venue):
        key = await listen_key(v)
        async with v.session.ws_connect(venue.ws_user_url(key)) as ws:
            expired = await next_event(ws, timeout=3, skip=NOISE)
            await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001")
            try:
                after = await next_event(ws, timeout=0.5, skip=NOISE)
            except TimeoutError:
                after = None
        extend = await v.signed("PUT", STREAM, {"listenKey": key})
        return key, expired, after, extend.status

    key, expired, after, extend_status = run(venue, scenario)
    assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
    assert after is None  # no more account events on an expired key
    assert extend_status == 404


def test_extending_keeps_the_key_alive(bingx_emulator_factory):
    venue = bingx_emulator_factory(listen_key_ttl_s=0.5)

    async def scenario(v: Venue):
        key = await listen_key(v)
        for _ in range(4):
            await asyncio.sleep(0.25)
            assert (await v.signed("PUT", STREAM, {"listenKey": key})).status == 200
        return key

    run(venue, scenario)


def test_sending_on_the_user_stream_is_an_error_frame(bingx_emulator):
    async def scenario(v: Venue):
        key = await listen_key(v)
        async with v.session.ws_connect(bingx_emulator.ws_user_url(key)) as ws:
            await ws.send_str(json.dumps({}))
            return await next_event(ws, skip=NOISE)

    assert run(bingx_emulator, scenario)["code"] == 109400


def test_leverage_change_pushes_account_config_update(bingx_emulator):
    async def scenario(v: Venue):
        key = await listen_key(v)
        async with v.session.ws_connect(bingx_emulator.ws_user_url(key)) as ws:
            for _ in bingx_emulator.config.symbols:
                await next_event(ws, skip=("Ping",))  # the full push on connect
            await v.signed(
                "POST", "/openApi/swap/v2/trade/leverage", {"symbol": "ETH-USDT", "side": "BOTH", "leverage": 12}
            )
            return await next_event(ws, skip=("Ping",))

    event = run(bingx_emulator, scenario)
    assert event["e"] == "ACCOUNT_CONFIG_UPDATE" and event["ac"] == {"s": "ETH-USDT", "l": 12, "S": 12, "mt": "cross"}


def test_connecting_with_an_unknown_listen_key_gets_expired_and_closed(bingx_emulator):
    async def scenario(v: Venue):
        async with v.session.ws_connect(bingx_emulator.ws_user_url("f" * 64)) as ws:
            event = await next_event(ws, skip=("Ping",))
            closing = await ws.receive(timeout=2)
            return event, closing.type

    event, closing = run(bingx_emulator, scenario)
    assert event["e"] == "listenKeyExpired" and closing.name in ("CLOSE", "CLOSED")
