"""Our REST client against the loopback BingX emulator (real HTTP, real signing, real gzip)."""

from decimal import Decimal

import pytest

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.enums import (
    BingXOrderSide,
    BingXOrderStatus,
    BingXOrderType,
    BingXPositionMode,
    BingXPositionSide,
)
from dolphin_nautilus.adapters.bingx.errors import (
    BingXAuthError,
    BingXHedgeModeError,
    BingXOrderNotFoundError,
    BingXRateLimitError,
    BingXRejectError,
    BingXRetryableError,
    BingXUnknownOutcomeError,
    VenueOutcome,
)
from dolphin_nautilus.adapters.bingx.http import BingXHttpClient, BingXTradeHttpAPI
from dolphin_nautilus.bingx_emulator.faults import DelayedAck
from dolphin_nautilus.domain.diagnostics import Code
from tests.adapters.bingx.conftest import run

BTC = "BTC-USDT"
PLACE = "POST /openApi/swap/v2/trade/order"


def test_market_data_endpoints(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis() as apis:
            contracts = await apis.market.contracts()
            btc = next(c for c in contracts if c.symbol == BTC)
            assert btc.price_precision == 1 and btc.size_increment == Decimal("0.0001") and btc.is_tradable
            rules = await apis.market.trading_rules(BTC)
            assert rules and rules[0].symbol == BTC
            klines = await apis.market.klines(BTC, "1m", limit=30)
            assert len(klines) >= 2 and [k.time for k in klines] == sorted(k.time for k in klines)
            assert all(isinstance(k.close, Decimal) for k in klines)
            depth = await apis.market.depth(BTC, limit=1)  # rounded up to 5: the venue rejects 1
            bids, asks = depth.best_first()
            assert bids[0][0] < asks[0][0] and asks == sorted(asks)
            book = await apis.market.book_ticker(BTC)
            assert book.bid_price < book.ask_price
            ticker = await apis.market.ticker(BTC)
            assert ticker.symbol == BTC and ticker.last_price > 0
            assert await apis.market.server_time_ms() > 1_600_000_000_000

    run(body())


def test_account_endpoints_and_one_way_mode(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis() as apis:
            balances = await apis.account.balances()
            usdt = next(b for b in balances if b.asset == "USDT")
            assert usdt.balance == Decimal("10000")
            assert await apis.account.position_mode() is BingXPositionMode.ONE_WAY
            assert await apis.account.positions() == []
            rate = await apis.account.commission_rate()
            assert rate.taker_commission_rate == Decimal("0.0005")

    run(body())


def test_hedge_mode_account_is_refused_with_a_clear_error(bingx_emulator_factory, venue_apis):
    hedge = bingx_emulator_factory(dual_side_position=True)

    async def body():
        client = BingXHttpClient(hedge.rest_url, BingXCredentials(hedge.api_key, hedge.api_secret))
        from dolphin_nautilus.adapters.bingx.http import BingXAccountHttpAPI

        try:
            with pytest.raises(BingXHedgeModeError, match="HEDGE"):
                await BingXAccountHttpAPI(client).positions()
        finally:
            await client.close()

    run(body())


def test_place_query_by_client_id_and_cancel(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis() as apis:
            ack = await apis.trade.place_order(
                symbol=BTC,
                side=BingXOrderSide.BUY,
                order_type=BingXOrderType.LIMIT,
                quantity=Decimal("0.0010"),
                price=Decimal("50000.0"),
                client_order_id="Dolphin-Entry-1",
            )
            assert ack.order_id > 2**53  # snowflake id kept exact
            assert ack.client_order_id == "dolphin-entry-1"
            # Nautilus in-flight check: look it up by client order id alone (any case).
            found = await apis.trade.query_order(BTC, client_order_id="DOLPHIN-ENTRY-1")
            assert found.order_id == ack.order_id and found.order_status is BingXOrderStatus.NEW
            assert found.orig_qty == Decimal("0.001") and found.price == Decimal("50000")
            assert [o.order_id for o in await apis.trade.open_orders(BTC)] == [ack.order_id]
            canceled = await apis.trade.cancel_order(BTC, client_order_id="dolphin-entry-1")
            assert canceled.order_status is BingXOrderStatus.CANCELED
            by_id = await apis.trade.query_order(BTC, order_id=ack.order_id)
            assert by_id.order_status is BingXOrderStatus.CANCELED
            assert await apis.trade.open_orders(BTC) == []
            with pytest.raises(BingXOrderNotFoundError) as exc:
                await apis.trade.query_order(BTC, client_order_id="never-sent")
            assert exc.value.outcome is VenueOutcome.DEFINITIVE_REJECT

    run(body())


def test_market_fill_position_history_and_fills(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis() as apis:
            ack = await apis.trade.place_order(
                symbol=BTC,
                side=BingXOrderSide.SELL,
                order_type=BingXOrderType.MARKET,
                quantity=Decimal("0.002"),
                client_order_id="short-1",
            )
            order = await apis.trade.query_order(BTC, order_id=ack.order_id)
            assert order.order_status is BingXOrderStatus.FILLED and order.executed_qty == Decimal("0.002")
            [pos] = await apis.account.positions(BTC)
            assert pos.signed_amount == Decimal("-0.002")
            now = await apis.market.server_time_ms()
            fills = await apis.trade.fill_history(BTC, start_ms=now - 3_600_000, end_ms=now + 1000)
            assert [f.order_id for f in fills] == [ack.order_id] and fills[0].trade_id
            assert fills[0].volume == Decimal("0.002") and fills[0].ts_ms > 0
            history = await apis.trade.order_history(BTC, start_ms=now - 3_600_000, end_ms=now + 1000)
            assert ack.order_id in [o.order_id for o in history]
            exit_ack = await apis.trade.place_order(
                symbol=BTC,
                side=BingXOrderSide.BUY,
                order_type=BingXOrderType.MARKET,
                quantity=Decimal("0.002"),
                reduce_only=True,
                client_order_id="exit-1",
            )
            assert exit_ack.order_id != ack.order_id
            assert await apis.account.positions(BTC) == []

    run(body())


def test_cancel_all(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis() as apis:
            for i in range(2):
                await apis.trade.place_order(
                    symbol=BTC,
                    side=BingXOrderSide.BUY,
                    order_type=BingXOrderType.LIMIT,
                    quantity=Decimal("0.001"),
                    price=Decimal("40000"),
                    client_order_id=f"rest-{i}",
                )
            result = await apis.trade.cancel_all_orders(BTC)
            assert len(result.success or []) == 2
            assert await apis.trade.open_orders(BTC) == []

    run(body())


def test_exit_rejection_maps_to_exit_fault(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis() as apis:
            with pytest.raises(BingXRejectError) as exc:  # nothing to reduce: venue rejects
                await apis.trade.place_order(
                    symbol=BTC,
                    side=BingXOrderSide.SELL,
                    order_type=BingXOrderType.MARKET,
                    quantity=Decimal("0.001"),
                    reduce_only=True,
                )
            assert exc.value.fault is Code.EXIT_ORDER_REJECTED and exc.value.code is not None

    run(body())


def test_bad_order_input_is_refused_before_sending(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis() as apis:
            kw = dict(symbol=BTC, side=BingXOrderSide.BUY, quantity=Decimal("0.001"))
            with pytest.raises(ValueError, match="price"):
                await apis.trade.place_order(order_type=BingXOrderType.LIMIT, **kw)
            with pytest.raises(ValueError, match="MARKET"):
                await apis.trade.place_order(order_type=BingXOrderType.MARKET, price=Decimal(1), **kw)
            with pytest.raises(ValueError, match="hedge"):
                await apis.trade.place_order(
                    order_type=BingXOrderType.MARKET, reduce_only=True, position_side=BingXPositionSide.LONG, **kw
                )
            with pytest.raises(ValueError, match="1-40"):
                await apis.trade.place_order(order_type=BingXOrderType.MARKET, client_order_id="x" * 41, **kw)
            with pytest.raises(ValueError, match="order_id or client_order_id"):
                await apis.trade.query_order(BTC)
        assert bingx_emulator.state.orders == {} or not bingx_emulator.state.orders

    run(body())


def test_504_after_execution_is_unknown_outcome_and_the_order_is_found_by_client_id(bingx_emulator, venue_apis):
    bingx_emulator.faults.gateway_timeout(PLACE, executed=True)

    async def body():
        async with venue_apis() as apis:
            with pytest.raises(BingXUnknownOutcomeError) as exc:
                await apis.trade.place_order(
                    symbol=BTC,
                    side=BingXOrderSide.BUY,
                    order_type=BingXOrderType.LIMIT,
                    quantity=Decimal("0.001"),
                    price=Decimal("45000"),
                    client_order_id="maybe-1",
                )
            err = exc.value
            assert err.http_status == 504 and err.outcome is VenueOutcome.UNKNOWN_OUTCOME
            assert err.fault is Code.STALE_STATE_RECONCILING
            found = await apis.trade.query_order(BTC, client_order_id="maybe-1")  # it does exist
            assert found.order_status is BingXOrderStatus.NEW

    run(body())


def test_504_on_a_read_is_retryable(bingx_emulator, venue_apis):
    bingx_emulator.faults.gateway_timeout("GET /openApi/swap/v2/trade/openOrders", executed=False)

    async def body():
        async with venue_apis() as apis:
            with pytest.raises(BingXRetryableError):
                await apis.trade.open_orders(BTC)
            assert await apis.trade.open_orders(BTC) == []

    run(body())


def test_timeout_after_sending_is_unknown_outcome(bingx_emulator):
    bingx_emulator.faults.inject(PLACE, DelayedAck(2.0))

    async def body():
        client = BingXHttpClient(
            bingx_emulator.rest_url, BingXCredentials(bingx_emulator.api_key, bingx_emulator.api_secret), timeout_s=0.5
        )
        try:
            with pytest.raises(BingXUnknownOutcomeError) as exc:
                await BingXTradeHttpAPI(client).place_order(
                    symbol=BTC,
                    side=BingXOrderSide.BUY,
                    order_type=BingXOrderType.MARKET,
                    quantity=Decimal("0.001"),
                    client_order_id="slow-1",
                )
            assert exc.value.sent and "after sending" in str(exc.value)
        finally:
            await client.close()

    run(body())


def test_venue_rate_limit_sets_cooldown_and_next_call_is_held_locally(bingx_emulator, venue_apis):
    bingx_emulator.faults.rate_limit_storm(PLACE, times=1)

    async def body():
        async with venue_apis() as apis:
            kw = dict(
                symbol=BTC,
                side=BingXOrderSide.BUY,
                order_type=BingXOrderType.LIMIT,
                quantity=Decimal("0.001"),
                price=Decimal("45000"),
            )
            with pytest.raises(BingXRateLimitError) as first:
                await apis.trade.place_order(client_order_id="rl-1", **kw)
            assert first.value.sent and first.value.fault is Code.RATE_LIMITED
            assert first.value.retry_after_ms == 300_000  # from X-RateLimit-Requests-Expire
            served = bingx_emulator.server.requests_served
            with pytest.raises(BingXRateLimitError) as second:
                await apis.trade.place_order(client_order_id="rl-2", **kw)
            assert not second.value.sent  # refused client-side during the cooldown
            assert bingx_emulator.server.requests_served == served
            assert await apis.trade.open_orders(BTC) == []  # other endpoints still work

    run(body())


def test_client_side_limit_keeps_us_under_the_venue_limit(bingx_emulator, venue_apis):
    async def body():
        async with venue_apis(max_wait_s=0.0) as apis:
            outcomes = []
            for _ in range(4):  # position mode endpoint: 2/s per UID
                try:
                    await apis.account.position_mode(refresh=True)
                    outcomes.append("ok")
                except BingXRateLimitError as err:
                    outcomes.append("sent" if err.sent else "held")
            assert outcomes[:2] == ["ok", "ok"] and set(outcomes[2:]) == {"held"}

    run(body())


def test_wrong_secret_is_an_auth_error_without_the_secret_in_it(bingx_emulator):
    async def body():
        client = BingXHttpClient(bingx_emulator.rest_url, BingXCredentials(bingx_emulator.api_key, "wrong-secret-xyz"))
        try:
            with pytest.raises(BingXAuthError) as exc:
                await client.call("GET", "/openApi/swap/v3/user/balance")
            assert "wrong-secret-xyz" not in str(exc.value) + repr(exc.value)
        finally:
            await client.close()

    run(body())


def test_listen_key_lifecycle(bingx_emulator, venue_apis):
    from dolphin_nautilus.adapters.bingx.http import ListenKeyNotFoundError

    async def body():
        async with venue_apis() as apis:
            key = await apis.user_stream.create_listen_key()
            assert len(key) >= 16
            await apis.user_stream.extend_listen_key(key)
            await apis.user_stream.delete_listen_key(key)
            with pytest.raises(ListenKeyNotFoundError):
                await apis.user_stream.extend_listen_key(key)

    run(body())


def test_old_generation_codes_classify_the_same(bingx_emulator_factory):
    old = bingx_emulator_factory(error_generation="old")

    async def body():
        client = BingXHttpClient(old.rest_url, BingXCredentials(old.api_key, old.api_secret))
        try:
            with pytest.raises(BingXOrderNotFoundError) as exc:
                await BingXTradeHttpAPI(client).query_order(BTC, client_order_id="nope")
            assert exc.value.code == 80016
        finally:
            await client.close()

    run(body())
