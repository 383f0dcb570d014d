"""Market WebSocket: gzip frames, Ping/Pong heartbeat, subscriptions and topic payloads."""

from __future__ import annotations

import asyncio
import gzip
import json

import aiohttp

from .venue import Venue, next_event, run


def test_subscribe_ack_trade_and_kline_are_gzip_arrays(bingx_emulator):
    async def scenario(venue: Venue):
        async with venue.session.ws_connect(bingx_emulator.ws_market_url) as ws:
            await ws.send_str(json.dumps({"id": "a1", "reqType": "sub", "dataType": "BTC-USDT@trade"}))
            await ws.send_str(json.dumps({"id": "a2", "reqType": "sub", "dataType": "BTC-USDT@kline_1m"}))
            raw = await ws.receive(timeout=3)
            ack1 = json.loads(gzip.decompress(raw.data))
            ack2 = await next_event(ws, skip=("Ping",))
            bingx_emulator.set_price("BTC-USDT", "61234.5", qty="0.25")
            trade = await next_event(ws, skip=("Ping",))
            kline = await next_event(ws, skip=("Ping",))
            return raw.type, ack1, ack2, trade, kline

    frame_type, ack1, ack2, trade, kline = run(bingx_emulator, scenario)
    assert frame_type == aiohttp.WSMsgType.BINARY
    assert ack1 == {"id": "a1", "code": 0, "msg": "", "dataType": "", "data": None} and ack2["id"] == "a2"
    assert trade["dataType"] == "BTC-USDT@trade"
    assert trade["data"] == [{"q": "0.25", "p": "61234.5", "T": trade["data"][0]["T"], "m": False, "s": "BTC-USDT"}]
    assert kline["dataType"] == "BTC-USDT@kline_1m" and kline["s"] == "BTC-USDT"
    (bar,) = kline["data"]
    assert bar["c"] == "61234.5" and bar["T"] % 60_000 == 0


def test_depth_snapshots_are_periodic_with_asks_high_to_low(bingx_emulator):
    async def scenario(venue: Venue):
        async with venue.session.ws_connect(bingx_emulator.ws_market_url) as ws:
            await ws.send_str(json.dumps({"id": "d", "reqType": "sub", "dataType": "ETH-USDT@depth5@200ms"}))
            await next_event(ws, skip=("Ping",))
            return [await next_event(ws, skip=("Ping",)) for _ in range(3)]

    snapshots = run(bingx_emulator, scenario)
    assert [s["dataType"] for s in snapshots] == ["ETH-USDT@depth5@200ms"] * 3
    asks = [float(p) for p, _ in snapshots[0]["data"]["asks"]]
    bids = [float(p) for p, _ in snapshots[0]["data"]["bids"]]
    assert asks == sorted(asks, reverse=True) and bids == sorted(bids, reverse=True)
    assert len(asks) == 5 and asks[-1] > bids[0]
    assert snapshots[1]["ts"] - snapshots[0]["ts"] >= 150


def test_invalid_topic_gets_an_error_frame(bingx_emulator):
    async def scenario(venue: Venue):
        async with venue.session.ws_connect(bingx_emulator.ws_market_url) as ws:
            await ws.send_str(json.dumps({"id": "x", "reqType": "sub", "dataType": "btc-usdt@trade"}))
            return await next_event(ws, skip=("Ping",))

    error = run(bingx_emulator, scenario)
    assert error["id"] == "x" and error["code"] == 109400


def test_server_pings_gzip_and_drops_a_client_that_never_pongs(bingx_emulator_factory):
    venue = bingx_emulator_factory(ping_interval_s=0.1, pong_timeout_s=0.35)

    async def scenario(v: Venue):
        async with v.session.ws_connect(venue.ws_market_url, autoping=True) as silent:
            first = await silent.receive(timeout=2)
            ping_text = gzip.decompress(first.data).decode()
            closed = None
            for _ in range(20):
                msg = await silent.receive(timeout=2)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    closed = msg.type
                    break
        async with v.session.ws_connect(venue.ws_market_url) as polite:
            pings = 0
            while pings < 6:  # 0.6 s > pong timeout: answering keeps the connection
                assert await next_event(polite, timeout=2) == "Ping"
                pings += 1
            return first.type, ping_text, closed, polite.closed

    frame_type, ping_text, closed, polite_closed = run(venue, scenario)
    assert frame_type == aiohttp.WSMsgType.BINARY and ping_text == "Ping"
    assert closed is not None and polite_closed is False


def test_text_ping_framing_is_configurable(bingx_emulator_factory):
    venue = bingx_emulator_factory(ping_interval_s=0.05, ping_gzip=False)

    async def scenario(v: Venue):
        async with v.session.ws_connect(venue.ws_market_url) as ws:
            return await ws.receive(timeout=2)

    msg = run(venue, scenario)
    assert msg.type == aiohttp.WSMsgType.TEXT and msg.data == "Ping"


def test_drop_fault_cuts_market_connections(bingx_emulator):
    async def scenario(venue: Venue):
        async with venue.session.ws_connect(bingx_emulator.ws_market_url) as ws:
            await asyncio.sleep(0.05)
            bingx_emulator.faults.drop_market_connections()
            msg = await ws.receive(timeout=2)
            return msg.type

    assert run(bingx_emulator, scenario) in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)


def test_rest_market_data_for_an_instrument_provider(bingx_emulator):
    async def scenario(venue: Venue):
        return (
            await venue.public("/openApi/swap/v3/quote/klines", symbol="BTC-USDT", interval="5m", limit=10),
            await venue.public("/openApi/swap/v2/quote/ticker", symbol="BTC-USDT"),
            await venue.public("/openApi/swap/v2/quote/bookTicker", symbol="BTC-USDT"),
            await venue.public("/openApi/swap/v1/tradingRules", symbol="BTC-USDT"),
            await venue.public("/openApi/swap/v2/quote/depth", symbol="BTC-USDT", limit=5),
        )

    klines, ticker, book, rules, depth = run(bingx_emulator, scenario)
    times = [k["time"] for k in klines.data]
    assert len(times) == 10 and times == sorted(times, reverse=True) and all(t % 300_000 == 0 for t in times)
    assert ticker.data["lastPrice"] == "60000.0"
    assert book.data["book_ticker"]["bid_price"] == 59999.9
    assert rules.data[0]["minSizeCoin"] == "0.0001"
    assert len(depth.data["asks"]) == 5


def test_book_ticker_last_and_mark_price_push_on_each_feed_update(bingx_emulator):
    async def scenario(venue: Venue):
        async with venue.session.ws_connect(bingx_emulator.ws_market_url) as ws:
            for i, topic in enumerate(("ETH-USDT@bookTicker", "ETH-USDT@lastPrice", "ETH-USDT@markPrice")):
                await ws.send_str(json.dumps({"id": str(i), "reqType": "sub", "dataType": topic}))
                await next_event(ws, skip=("Ping",))
            bingx_emulator.set_price("ETH-USDT", "3010.25")
            return [await next_event(ws, skip=("Ping",)) for _ in range(3)]

    book, last, mark = run(bingx_emulator, scenario)
    assert book["data"]["e"] == "bookTicker" and (book["data"]["b"], book["data"]["a"]) == ("3010.24", "3010.26")
    assert last["data"]["c"] == "3010.25" and mark["data"]["p"] == "3010.25"
