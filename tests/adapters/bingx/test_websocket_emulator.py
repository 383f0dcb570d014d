"""WS clients against the emulator: gzip frames, Ping/Pong, acks, resubscribe after a drop, user stream."""

import asyncio
from decimal import Decimal

import pytest

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderSide, BingXOrderStatus, BingXOrderType
from dolphin_nautilus.adapters.bingx.http import BingXHttpClient, BingXTradeHttpAPI, BingXUserStreamHttpAPI
from dolphin_nautilus.adapters.bingx.schemas.ws import (
    AccountUpdate,
    ListenKeyExpired,
    MarketUpdate,
    OrderTradeUpdate,
    UserStreamReconnected,
    WsDepth,
    WsOrderUpdate,
    WsTrade,
)
from dolphin_nautilus.adapters.bingx.websocket import (
    BingXMarketStreamClient,
    BingXSubscriptionError,
    BingXUserStreamClient,
)
from dolphin_nautilus.bingx_emulator.config import FillModel
from tests.adapters.bingx.conftest import run, wait_for

BTC = "BTC-USDT"
FAST = dict(backoff_initial_s=0.05, backoff_max_s=0.2)


async def in_thread(fn, *args):
    return await asyncio.to_thread(fn, *args)


@pytest.fixture
def fast_emulator(bingx_emulator_factory):
    return bingx_emulator_factory(ping_interval_s=0.1)


@pytest.mark.parametrize("ping_gzip", [True, False], ids=["gzip-ping", "text-ping"])
def test_market_stream_gzip_ping_pong_and_typed_updates(bingx_emulator_factory, ping_gzip):
    # The emulator closes a connection that has not answered Pong within 0.35 s.
    fast_emulator = bingx_emulator_factory(ping_interval_s=0.1, pong_timeout_s=0.35, ping_gzip=ping_gzip)
    updates: list[MarketUpdate] = []

    async def body():
        stream = BingXMarketStreamClient(fast_emulator.ws_market_url, updates.append, **FAST)
        await stream.start()
        try:
            await stream.subscribe(f"{BTC}@trade")
            await stream.subscribe(f"{BTC}@depth5@500ms")
            await in_thread(fast_emulator.set_price, BTC, "60100.0")
            await wait_for(
                lambda: any(
                    isinstance(u.payload, list) and u.payload and isinstance(u.payload[0], WsTrade) for u in updates
                )
            )
            await wait_for(lambda: any(isinstance(u.payload, WsDepth) for u in updates))
            await wait_for(lambda: stream.stats.pings >= 8)  # > pong timeout: answered with Pong or dropped
            assert stream.stats.reconnects == 0 and stream.stats.bad_payloads == 0
            trade = next(u for u in updates if u.data_type == f"{BTC}@trade").payload[0]
            assert trade.price == Decimal("60100.0") and updates[0].symbol == BTC
            with pytest.raises(BingXSubscriptionError):
                await stream.subscribe("btc-usdt@nonsense")
            assert "btc-usdt@nonsense" not in stream.subscriptions
        finally:
            await stream.close()

    run(body())


def test_market_stream_resubscribes_after_a_dropped_connection(fast_emulator):
    updates: list[MarketUpdate] = []

    async def body():
        stream = BingXMarketStreamClient(fast_emulator.ws_market_url, updates.append, **FAST)
        await stream.start()
        try:
            await stream.subscribe(f"{BTC}@trade")
            await stream.subscribe("ETH-USDT@trade")
            await in_thread(fast_emulator.faults.drop_market_connections)
            await wait_for(lambda: stream.stats.reconnects >= 1 and stream.is_connected)
            updates.clear()
            await asyncio.sleep(0.2)  # let the resubscription acks land
            await in_thread(fast_emulator.set_price, BTC, "60200.0")
            await in_thread(fast_emulator.set_price, "ETH-USDT", "3010.00")
            await wait_for(lambda: {u.symbol for u in updates} >= {BTC, "ETH-USDT"})
        finally:
            await stream.close()

    run(body())


def test_bad_payloads_and_handler_errors_are_counted_not_raised(fast_emulator):
    seen: list[MarketUpdate] = []

    def handler(update: MarketUpdate) -> None:
        seen.append(update)
        if len(seen) == 1:
            raise RuntimeError("consumer bug")

    async def body():
        stream = BingXMarketStreamClient(fast_emulator.ws_market_url, handler, **FAST)
        await stream.start()
        try:
            # The emulator only sends well-formed frames: these go straight to the stream's text hook.
            for text in ("{not json", '{"code":0,"dataType":"BTC-USDT@trade","data":[{"p":"x"}]}'):
                assert stream._on_text(text) is None  # noqa: SLF001 - see above
            assert stream.stats.bad_payloads == 2
            await stream.subscribe(f"{BTC}@trade")
            await in_thread(fast_emulator.set_price, BTC, "60300.0")
            await in_thread(fast_emulator.set_price, BTC, "60400.0")
            await wait_for(lambda: len(seen) >= 2)
            assert stream.stats.handler_errors == 1 and stream.is_connected
        finally:
            await stream.close()

    run(body())


def _user_stream_parts(emulator):
    client = BingXHttpClient(emulator.rest_url, BingXCredentials(emulator.api_key, emulator.api_secret))
    return client, BingXTradeHttpAPI(client), BingXUserStreamHttpAPI(client)


def test_user_stream_partial_fills_and_account_updates(bingx_emulator_factory):
    emulator = bingx_emulator_factory(ping_interval_s=0.1, fill_model=FillModel(market_slices=3))
    events: list = []

    async def body():
        client, trade, api = _user_stream_parts(emulator)
        stream = BingXUserStreamClient(api, emulator.ws_user_url_base, events.append, **FAST)
        await stream.start()
        try:
            await wait_for(lambda: any(isinstance(e, UserStreamReconnected) for e in events))
            ack = await trade.place_order(
                symbol=BTC,
                side=BingXOrderSide.BUY,
                order_type=BingXOrderType.MARKET,
                quantity=Decimal("0.003"),
                client_order_id="Partial-1",
            )

            def fills() -> list[WsOrderUpdate]:
                return [e.order for e in events if isinstance(e, OrderTradeUpdate) and e.order.is_fill]

            await wait_for(lambda: len(fills()) >= 3)
            await wait_for(lambda: any(isinstance(e, AccountUpdate) for e in events))
            legs = fills()
            assert {f.order_id for f in legs} == {ack.order_id} and {f.client_order_id for f in legs} == {"partial-1"}
            assert [f.cum_filled_qty for f in legs] == sorted(f.cum_filled_qty for f in legs)
            assert legs[-1].cum_filled_qty == Decimal("0.003") and legs[-1].order_status is BingXOrderStatus.FILLED
            assert len({f.trade_id for f in legs}) == 3  # distinct executions, each with a trade id
        finally:
            await stream.close()
            await client.close()

    run(body())


def test_user_stream_recreates_listen_key_on_expiry_and_keeps_streaming(fast_emulator):
    events: list = []

    async def body():
        client, trade, api = _user_stream_parts(fast_emulator)
        stream = BingXUserStreamClient(api, fast_emulator.ws_user_url_base, events.append, **FAST)
        await stream.start()
        try:
            first_key = stream.listen_key
            await in_thread(fast_emulator.expire_listen_keys)
            await wait_for(lambda: any(isinstance(e, ListenKeyExpired) for e in events))
            await wait_for(lambda: stream.listen_keys_created == 2 and stream.is_connected)
            assert stream.listen_key != first_key
            reconnects = [e for e in events if isinstance(e, UserStreamReconnected)]
            assert reconnects[-1].listen_key_renewed
            await trade.place_order(
                symbol=BTC,
                side=BingXOrderSide.BUY,
                order_type=BingXOrderType.MARKET,
                quantity=Decimal("0.001"),
                client_order_id="after-renew",
            )
            await wait_for(
                lambda: any(
                    isinstance(e, OrderTradeUpdate) and e.order.client_order_id == "after-renew" for e in events
                )
            )
        finally:
            await stream.close()
            await client.close()

    run(body())


def test_user_stream_keepalive_extends_and_renews_a_dead_key(fast_emulator):
    events: list = []

    async def body():
        client, _, api = _user_stream_parts(fast_emulator)
        stream = BingXUserStreamClient(
            api, fast_emulator.ws_user_url_base, events.append, keepalive_interval_s=0.1, **FAST
        )
        await stream.start()
        try:
            first_key = stream.listen_key
            await asyncio.sleep(0.35)  # a few keepalive rounds on a live key: no renewal
            assert stream.listen_key == first_key and stream.listen_keys_created == 1
            await api.delete_listen_key(first_key)  # the venue forgets it; the next PUT gets 404
            await wait_for(lambda: stream.listen_keys_created == 2 and stream.is_connected)
            assert stream.listen_key != first_key
        finally:
            await stream.close()
            await client.close()

    run(body())


def test_user_stream_reconnects_after_a_drop_and_signals_resync(fast_emulator):
    events: list = []

    async def body():
        client, _, api = _user_stream_parts(fast_emulator)
        stream = BingXUserStreamClient(api, fast_emulator.ws_user_url_base, events.append, **FAST)
        await stream.start()
        try:
            key = stream.listen_key
            await in_thread(fast_emulator.faults.drop_user_connections)
            await wait_for(lambda: len([e for e in events if isinstance(e, UserStreamReconnected)]) >= 2)
            last = [e for e in events if isinstance(e, UserStreamReconnected)][-1]
            assert not last.listen_key_renewed and stream.listen_key == key  # same key, extended
        finally:
            await stream.close()
            await client.close()

    run(body())
