"""`BingXExecutionClient`: BingX USDT-M perpetuals for Nautilus, one-way (NETTING) margin account.

Orders go over signed REST (`BingXTradeHttpAPI`); acceptance comes from the REST ack or the user stream,
whichever is first; fills come only from the user stream's ORDER_TRADE_UPDATE (deduped by venue trade id)
or from REST fill history when the stream may have missed them (reconnect, query after an unknown outcome).

Whatever an order event cannot say is published as a typed `contracts.placement` outcome on
`PLACEMENT_OUTCOME_TOPIC`, before the Nautilus event it explains: a definitive reject (with the venue code),
rate limited on every attempt (nothing placed; retry after), unknown (maybe placed; being resolved by client
order id) and its resolution (placed, or not). The OrderRejected reason stays human-readable text that nobody
parses. The placement state machine itself is plain code in `order_flow.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from msgspec.structs import replace as msgspec_replace
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.execution.messages import (
    BatchCancelOrders,
    CancelAllOrders,
    CancelOrder,
    GenerateFillReports,
    GenerateOrderStatusReport,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
    ModifyOrder,
    QueryAccount,
    SubmitOrder,
    SubmitOrderList,
)
from nautilus_trader.execution.reports import (
    ExecutionMassStatus,
    FillReport,
    OrderStatusReport,
    PositionStatusReport,
)
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.enums import AccountType, LiquiditySide, OmsType, OrderSide, OrderType, TimeInForce
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    TradeId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.model.orders import Order

from dolphin_nautilus.adapters.bingx.common.enums import (
    BingXExecutionType,
    BingXOrderSide,
    BingXOrderStatus,
    BingXOrderType,
    BingXPositionMode,
    BingXTimeInForce,
)
from dolphin_nautilus.adapters.bingx.config import BingXExecClientConfig
from dolphin_nautilus.adapters.bingx.constants import BINGX
from dolphin_nautilus.adapters.bingx.errors import BingXError, BingXOrderNotFoundError, Operation, VenueOutcome
from dolphin_nautilus.adapters.bingx.history import fetch_venue_history
from dolphin_nautilus.adapters.bingx.http.account import BingXAccountHttpAPI
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI
from dolphin_nautilus.adapters.bingx.http.user_stream import BingXUserStreamHttpAPI
from dolphin_nautilus.adapters.bingx.order_flow import (
    FillDeduper,
    NotPlaced,
    NotPlacedKind,
    PlacedAtVenue,
    RecoveryPolicy,
    place_with_recovery,
    venue_reason,
)
from dolphin_nautilus.adapters.bingx.parsing import (
    balances_to_account,
    fill_to_report,
    order_to_status_report,
    position_to_report,
)
from dolphin_nautilus.adapters.bingx.providers import BingXInstrumentProvider
from dolphin_nautilus.adapters.bingx.refusals import record_refusal
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXOrder, BingXOrderAck
from dolphin_nautilus.adapters.bingx.schemas.ws import (
    AccountUpdate,
    OrderTradeUpdate,
    UserEvent,
    UserStreamReconnected,
)
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id, to_venue_symbol
from dolphin_nautilus.adapters.bingx.websocket.user import BingXUserStreamClient
from dolphin_nautilus.contracts.placement import (
    PLACEMENT_OUTCOME_TOPIC,
    PlacementOutcome,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
    PlacementUnknown,
)
from dolphin_nautilus.contracts.venue import (
    VENUE_POSITIONS_VERDICT_CACHE_KEY,
    VenuePositionsVerdict,
    encode_venue_verdict,
)
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.journal.backfill import (
    VENUE_HISTORY_CACHE_KEY,
    VENUE_HISTORY_REPLY_TOPIC,
    VENUE_HISTORY_REQUEST_TOPIC,
    VenueHistoryReply,
    VenueHistoryRequest,
    encode_reply,
)
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.exec")  # fault lines go to the node's JSON log with their code

_NS_PER_MS = 1_000_000
_DUAL_PATH = "/openApi/swap/v1/positionSide/dual"
_TIF = {
    TimeInForce.GTC: BingXTimeInForce.GTC,
    TimeInForce.IOC: BingXTimeInForce.IOC,
    TimeInForce.FOK: BingXTimeInForce.FOK,
}


class BingXExecutionClient(LiveExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: BingXHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: BingXInstrumentProvider,
        config: BingXExecClientConfig,
        name: str | None = None,
        on_disconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        client_id = ClientId(name or BINGX)
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=Venue(BINGX),
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=None,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._set_account_id(AccountId(f"{client_id.value}-001"))
        self._config = config
        self._http = client
        self._on_disconnect = on_disconnect  # releases the shared HTTP client (factories)
        self._trade = BingXTradeHttpAPI(client)
        self._account_api = BingXAccountHttpAPI(client)
        self._user_stream = BingXUserStreamClient(
            BingXUserStreamHttpAPI(client),
            config.urls().ws_user,
            self._on_user_event,
        )
        self._policy = RecoveryPolicy(
            rate_limit_attempts=config.rate_limit_attempts,
            max_cooldown_wait_s=config.max_cooldown_wait_s,
            unknown_outcome_timeout_s=config.unknown_outcome_timeout_s,
            query_backoff_initial_s=config.query_backoff_initial_s,
            query_backoff_max_s=config.query_backoff_max_s,
        )
        self._fills = FillDeduper()
        self._coids: dict[str, ClientOrderId] = {}  # venue (lower-case) client id -> ours
        self._coid_by_venue_id: dict[int, ClientOrderId] = {}
        self._accepted: set[ClientOrderId] = set()
        self._closed: set[ClientOrderId] = set()  # canceled / expired / rejected by us
        self._balance_task: asyncio.Task | None = None
        self._balance_pending = False
        self.placements = 0  # REST placement attempts (observable by tests and the benchmark)

    @property
    def user_stream(self) -> BingXUserStreamClient:
        return self._user_stream

    # ---- lifecycle -------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        try:
            await self._connect_steps()
        except Exception as exc:
            # Nautilus logs and swallows a connect failure; one a restart cannot fix goes to the launcher typed.
            record_refusal(self._cache, exc, self._clock.timestamp_ns(), str(self.id))
            raise

    async def _connect_steps(self) -> None:
        await self._instrument_provider.initialize()
        for currency in self._instrument_provider.currencies().values():
            self._cache.add_currency(currency)
        for instrument in self._instrument_provider.list_all():
            if self._cache.instrument(instrument.id) is None:
                self._cache.add_instrument(instrument)  # reconciliation skips reports of uncached instruments
        await self._ensure_one_way()
        await self._refresh_account()
        await self._await_account_registered()
        await self._user_stream.start()
        self._msgbus.subscribe(VENUE_HISTORY_REQUEST_TOPIC, self._on_history_request)

    async def _disconnect(self) -> None:
        self._msgbus.unsubscribe(VENUE_HISTORY_REQUEST_TOPIC, self._on_history_request)
        if self._balance_task is not None:
            self._balance_task.cancel()
        await self._user_stream.close()
        if self._on_disconnect is not None:
            await self._on_disconnect()

    async def _ensure_one_way(self) -> None:
        mode = await self._account_api.position_mode(refresh=True)
        if mode is BingXPositionMode.HEDGE and self._config.switch_to_one_way:
            log_event(
                log,
                logging.WARNING,
                "hedge_mode_switch",
                "BingX account is in hedge mode; switching it to one-way (bingx.switch_to_one_way = true)",
                code=Code.VENUE_HEDGE_MODE,
            )
            await self._http.call("POST", _DUAL_PATH, {"dualSidePosition": "false"}, operation=Operation.WRITE)
        await self._account_api.ensure_one_way(refresh=True)  # raises BingXHedgeModeError: connect fails

    async def _refresh_account(self) -> None:
        balances = balances_to_account(await self._account_api.balances())
        if not balances:
            raise RuntimeError("BingX returned no balance rows for the swap account")
        self.generate_account_state(balances=balances, margins=[], reported=True, ts_event=self._clock.timestamp_ns())

    def _request_balance_refresh(self) -> None:
        """ACCOUNT_UPDATE bursts (one per fill) coalesce into at most one REST balance read per interval."""
        self._balance_pending = True
        if self._balance_task is None or self._balance_task.done():
            self._balance_task = self.create_task(self._balance_loop(), log_msg="bingx_balance_refresh")

    async def _balance_loop(self) -> None:
        while self._balance_pending:
            self._balance_pending = False
            try:
                await self._refresh_account()
            except BingXError as exc:
                log_event(
                    log,
                    logging.WARNING,
                    "venue_read_failed",
                    f"balance refresh failed: {exc}",
                    code=Code.VENUE_READ_FAILED,
                )
            await asyncio.sleep(self._config.balance_refresh_min_interval_s)

    # ---- commands --------------------------------------------------------------------------------------
    async def _submit_order(self, command: SubmitOrder) -> None:
        order = command.order
        coid = order.client_order_id
        self.generate_order_submitted(order.strategy_id, order.instrument_id, coid, self._clock.timestamp_ns())
        try:
            params = self._order_params(order)
        except ValueError as exc:
            self._not_placed(order, NotPlaced(kind=NotPlacedKind.REJECTED, reason=f"ORDER_REJECTED: {exc}"))
            return
        self._coids[params["client_order_id"]] = coid
        result = await place_with_recovery(
            lambda: self._place(params),
            lambda: self._query_by_client_id(order.instrument_id, coid),
            self._policy,
            on_unknown=lambda err: self._publish_outcome(
                PlacementUnknown(client_order_id=coid.value, message=str(err), ts=self._clock.timestamp_ns())
            ),
        )
        if isinstance(result, NotPlaced):
            if coid in self._accepted:  # the user stream saw it at the venue: it exists, whatever REST said
                log_event(
                    log,
                    logging.ERROR,
                    "reject_contradicted",
                    f"{coid} reported rejected ({result.reason}) but the venue streamed it; kept",
                    code=Code.STALE_STATE_RECONCILING,
                )
                return
            self._not_placed(order, result)
            return
        if result.after_unknown:
            self._publish_outcome(
                PlacementResolved(
                    client_order_id=coid.value,
                    placed=True,
                    ts=self._clock.timestamp_ns(),
                    venue_order_id=str(result.venue_order_id),
                )
            )
        self._on_accepted(order, result)

    def _not_placed(self, order: Order, result: NotPlaced) -> None:
        """Publish why nothing is at the venue (typed), then the Nautilus OrderRejected it explains."""
        self._publish_outcome(placement_outcome(order.client_order_id.value, result, self._clock.timestamp_ns()))
        self._reject(order, result.reason)

    def _publish_outcome(self, outcome: PlacementOutcome) -> None:
        self._msgbus.publish(PLACEMENT_OUTCOME_TOPIC, outcome)

    async def _place(self, params: dict) -> BingXOrderAck:
        self.placements += 1
        return await self._trade.place_order(**params)

    def _order_params(self, order: Order) -> dict:
        if order.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise ValueError(f"BingX adapter supports MARKET and LIMIT orders, got {order.order_type.name}")
        params: dict = {
            "symbol": to_venue_symbol(order.instrument_id.value),
            "side": BingXOrderSide.BUY if order.side == OrderSide.BUY else BingXOrderSide.SELL,
            "order_type": BingXOrderType.MARKET if order.order_type == OrderType.MARKET else BingXOrderType.LIMIT,
            "quantity": order.quantity.as_decimal(),
            "reduce_only": order.is_reduce_only,
            "client_order_id": order.client_order_id.value.lower(),
        }
        if order.order_type == OrderType.LIMIT:
            params["price"] = order.price.as_decimal()
            params["time_in_force"] = (
                BingXTimeInForce.POST_ONLY
                if order.is_post_only
                else _TIF.get(order.time_in_force, BingXTimeInForce.GTC)
            )
        if len(params["client_order_id"]) > 40:
            raise ValueError(f"client order id longer than 40 chars: {order.client_order_id}")
        return params

    async def _query_by_client_id(self, instrument_id: InstrumentId, coid: ClientOrderId) -> BingXOrder | None:
        try:
            return await self._trade.query_order(to_venue_symbol(instrument_id.value), client_order_id=coid.value)
        except BingXOrderNotFoundError:
            return None

    def _on_accepted(self, order: Order, result: PlacedAtVenue) -> None:
        self._accept(order, result.venue_order_id, self._clock.timestamp_ns())
        if result.order is not None:  # found by a query: the stream may have missed its fills or cancel
            self.create_task(self._sync_order(order, result.order), log_msg=f"bingx_sync_{order.client_order_id}")

    def _reject(self, order: Order, reason: str) -> None:
        self._closed.add(order.client_order_id)
        self.generate_order_rejected(
            order.strategy_id, order.instrument_id, order.client_order_id, reason, self._clock.timestamp_ns()
        )

    async def _cancel_order(self, command: CancelOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            log_event(
                log,
                logging.ERROR,
                "cancel_unknown_order",
                f"cannot cancel {command.client_order_id}: not in cache",
                code=Code.UNKNOWN_CLIENT_ORDER,
            )
            return
        symbol = to_venue_symbol(order.instrument_id.value)
        try:
            venue = await self._trade.cancel_order(symbol, client_order_id=order.client_order_id.value)
        except BingXError as exc:
            if exc.outcome is VenueOutcome.UNKNOWN_OUTCOME:  # e.g. 109201 cancel twice: look, do not resend
                self.create_task(self._resync(order), log_msg=f"bingx_cancel_sync_{order.client_order_id}")
                return
            self.generate_order_cancel_rejected(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                venue_reason(exc),
                self._clock.timestamp_ns(),
            )
            return
        await self._sync_order(order, venue)

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        symbol = to_venue_symbol(command.instrument_id.value)
        try:
            result = await self._trade.cancel_all_orders(symbol)
        except BingXError as exc:
            log_event(
                log, logging.ERROR, "cancel_all_failed", f"cancel all {symbol} failed: {exc}", code=Code.CANCEL_REJECTED
            )
            for order in self._cache.orders_open(instrument_id=command.instrument_id):
                self.generate_order_cancel_rejected(
                    order.strategy_id,
                    order.instrument_id,
                    order.client_order_id,
                    order.venue_order_id,
                    venue_reason(exc),
                    self._clock.timestamp_ns(),
                )
            return
        for venue in result.success or []:
            order = self._our_order(venue.client_order_id)
            if order is not None:
                await self._sync_order(order, venue)
        for failure in result.failed or []:
            order = self._our_order(failure.client_order_id)
            if order is not None:
                self.generate_order_cancel_rejected(
                    order.strategy_id,
                    order.instrument_id,
                    order.client_order_id,
                    order.venue_order_id,
                    f"{failure.error_code} {failure.error_message}",
                    self._clock.timestamp_ns(),
                )

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        for cancel in command.cancels:
            await self._cancel_order(cancel)

    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        self.generate_order_modify_rejected(
            command.strategy_id,
            command.instrument_id,
            command.client_order_id,
            order.venue_order_id if order else None,
            "ORDER_REJECTED: modify is not supported by this adapter",
            self._clock.timestamp_ns(),
        )

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        for order in command.order_list.orders:
            await self._submit_order(
                SubmitOrder(
                    trader_id=command.trader_id,
                    strategy_id=command.strategy_id,
                    order=order,
                    command_id=command.id,
                    ts_init=command.ts_init,
                    position_id=command.position_id,
                    client_id=command.client_id,
                )
            )

    async def _query_account(self, command: QueryAccount) -> None:
        await self._refresh_account()

    # ---- event emission (each transition at most once) -------------------------------------------------
    def _our_order(self, venue_client_id: str) -> Order | None:
        if not venue_client_id:
            return None
        coid = self._coids.get(venue_client_id.lower()) or ClientOrderId(venue_client_id.lower())
        return self._cache.order(coid)

    def _accept(self, order: Order, venue_order_id: int, ts: int) -> None:
        coid = order.client_order_id
        self._coid_by_venue_id[venue_order_id] = coid
        if coid in self._accepted or coid in self._closed:
            return
        self._accepted.add(coid)
        self.generate_order_accepted(
            order.strategy_id, order.instrument_id, coid, VenueOrderId(str(venue_order_id)), ts
        )

    def _fill(
        self,
        order: Order,
        venue_order_id: int,
        trade_id: str,
        qty: Decimal,
        px: Decimal,
        commission: Decimal,
        liquidity: LiquiditySide,
        ts: int,
    ) -> None:
        instrument = self._cache.instrument(order.instrument_id)
        self._accept(order, venue_order_id, ts)
        self.generate_order_filled(
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=VenueOrderId(str(venue_order_id)),
            venue_position_id=None,
            trade_id=TradeId(trade_id),
            order_side=order.side,
            order_type=order.order_type,
            last_qty=instrument.make_qty(qty),
            last_px=instrument.make_price(px),
            quote_currency=instrument.quote_currency,
            commission=Money(commission, instrument.quote_currency),
            liquidity_side=liquidity,
            ts_event=ts,
        )

    def _close(self, order: Order, venue_order_id: int, status: BingXOrderStatus, ts: int) -> None:
        coid = order.client_order_id
        if coid in self._closed:
            return
        self._accept(order, venue_order_id, ts)
        self._closed.add(coid)
        vid = VenueOrderId(str(venue_order_id))
        if status is BingXOrderStatus.EXPIRED:
            self.generate_order_expired(order.strategy_id, order.instrument_id, coid, vid, ts)
        else:
            self.generate_order_canceled(order.strategy_id, order.instrument_id, coid, vid, ts)

    # ---- user stream -----------------------------------------------------------------------------------
    def _on_user_event(self, event: UserEvent) -> None:
        if isinstance(event, OrderTradeUpdate):
            self._on_order_update(event)
        elif isinstance(event, AccountUpdate):
            self._request_balance_refresh()
        elif isinstance(event, UserStreamReconnected) and event.attempt > 0:
            log_event(
                log,
                logging.WARNING,
                "user_stream_reconnected",
                "BingX user stream reconnected: reconciling open orders and fills over REST",
                code=Code.VENUE_STREAM_FAULT,
            )
            self.create_task(self._reconcile_after_reconnect(), log_msg="bingx_reconnect_reconcile")

    def _on_order_update(self, event: OrderTradeUpdate) -> None:
        update = event.order
        order = self._our_order(update.client_order_id)
        if order is None:
            self._log.debug(f"user stream: order {update.order_id} is not ours; ignored")
            return
        ts = (update.trade_time or event.event_time) * _NS_PER_MS or self._clock.timestamp_ns()
        execution = update.execution
        if execution is BingXExecutionType.TRADE:
            accepted = self._fills.accept(
                update.order_id,
                trade_id=str(update.trade_id) if update.trade_id else "",
                last_qty=update.last_qty,
                cum_qty=Decimal(update.cum_filled_qty),
                order_qty=order.quantity.as_decimal(),
            )
            if accepted is None:
                return
            trade_id, qty = accepted
            px = update.last_price if update.last_price else update.avg_price
            liquidity = LiquiditySide.TAKER if order.order_type == OrderType.MARKET else LiquiditySide.MAKER
            self._fill(order, update.order_id, trade_id, qty, Decimal(px), -Decimal(update.fee), liquidity, ts)
        elif execution is BingXExecutionType.NEW:
            self._accept(order, update.order_id, ts)
        elif execution in (BingXExecutionType.CANCELED, BingXExecutionType.EXPIRED):
            status = BingXOrderStatus.EXPIRED if execution is BingXExecutionType.EXPIRED else BingXOrderStatus.CANCELED
            self._close(order, update.order_id, status, ts)

    async def _reconcile_after_reconnect(self) -> None:
        orders = [*self._cache.orders_open(venue=self.venue), *self._cache.orders_inflight(venue=self.venue)]
        for order in orders:
            await self._resync(order)
        self._request_balance_refresh()

    async def _resync(self, order: Order) -> None:
        try:
            venue = await self._query_by_client_id(order.instrument_id, order.client_order_id)
        except BingXError as exc:
            log_event(
                log,
                logging.WARNING,
                "venue_read_failed",
                f"resync of {order.client_order_id} failed: {exc}",
                code=Code.VENUE_READ_FAILED,
            )
            return
        if venue is not None:
            await self._sync_order(order, venue)

    async def _sync_order(self, order: Order, venue: BingXOrder) -> None:
        """Bring our events up to the venue's view of one order: acceptance, missed fills, cancel."""
        self._accept(order, venue.order_id, self._clock.timestamp_ns())
        if Decimal(venue.executed_qty) > self._fills.filled(venue.order_id):
            fills = await self._trade.fill_history(to_venue_symbol(order.instrument_id.value), order_id=venue.order_id)
            for fill in sorted(fills, key=lambda f: f.trade_id):
                accepted = self._fills.accept(
                    fill.order_id,
                    trade_id=fill.trade_id,
                    last_qty=Decimal(fill.volume),
                    cum_qty=Decimal(venue.executed_qty),
                    order_qty=order.quantity.as_decimal(),
                )
                if accepted is not None:
                    liquidity = LiquiditySide.MAKER if fill.is_maker else LiquiditySide.TAKER
                    self._fill(
                        order,
                        fill.order_id,
                        accepted[0],
                        accepted[1],
                        Decimal(fill.price),
                        -Decimal(fill.commission),
                        liquidity,
                        fill.ts_ms * _NS_PER_MS,
                    )
        if venue.order_status in (BingXOrderStatus.CANCELED, BingXOrderStatus.EXPIRED):
            self._close(order, venue.order_id, venue.order_status, self._clock.timestamp_ns())

    # ---- the venue's own history, for the back-fill (journal.backfill, actors.backfill) ---------------
    async def generate_mass_status(self, lookback_mins: int | None = None) -> ExecutionMassStatus | None:
        """Nautilus's start-up reports, and beside them the venue's history over the same lookback (at most the
        venue's 7 days) in the cache, so the back-fill actor can write what the last life lost before restore
        runs. A failed history read leaves an error reply; it never fails the reconciliation."""
        mass_status = await super().generate_mass_status(lookback_mins)
        end_ms = self._clock.timestamp_ns() // _NS_PER_MS
        lookback_ms = (lookback_mins or 7 * 24 * 60) * 60_000
        reply = await self._history_reply(0, end_ms, lookback_ms)
        self._cache.add(VENUE_HISTORY_CACHE_KEY, encode_reply(reply))
        return mass_status

    def _on_history_request(self, request: VenueHistoryRequest) -> None:
        self.create_task(self._serve_history(request), log_msg=f"bingx_history_{request.request_id}")

    async def _serve_history(self, request: VenueHistoryRequest) -> None:
        canceled, failed = [], []
        for working in request.cancel:
            try:
                await self._trade.cancel_order(
                    to_venue_symbol(working.instrument_id), client_order_id=working.client_order_id
                )
                canceled.append(working.client_order_id)
            except BingXError as exc:  # already filled or gone: the history read below says what it did
                failed.append(working.client_order_id)
                self._log.warning(f"cancel of previous life's {working.client_order_id} failed: {exc}")
        reply = await self._history_reply(request.request_id, request.end_ms, request.lookback_ms)
        self._msgbus.publish(
            VENUE_HISTORY_REPLY_TOPIC,
            msgspec_replace(reply, canceled=canceled, cancel_failed=failed),
        )

    async def _history_reply(self, request_id: int, end_ms: int, lookback_ms: int) -> VenueHistoryReply:
        instrument_ids = [i.id.value for i in self._instruments(None)]
        try:
            history = await fetch_venue_history(self._trade, instrument_ids, end_ms - lookback_ms, end_ms)
        except Exception as exc:  # noqa: BLE001 - any failure is reported to the back-fill, which retries
            log_event(
                log,
                logging.WARNING,
                "venue_read_failed",
                f"venue history read for the back-fill failed: {exc}",
                code=Code.VENUE_READ_FAILED,
            )
            return VenueHistoryReply(request_id=request_id, error=f"{type(exc).__name__}: {exc}")
        return VenueHistoryReply(request_id=request_id, history=history)

    # ---- reports (startup and periodic reconciliation, in-flight checks) -------------------------------
    def _instruments(self, instrument_id: InstrumentId | None) -> list[Instrument]:
        if instrument_id is not None:
            instrument = self._cache.instrument(instrument_id)
            return [instrument] if instrument is not None else []
        return [i for i in self._instrument_provider.list_all() if self._cache.instrument(i.id) is not None]

    def _coid_for(self, venue_client_id: str) -> ClientOrderId | None:
        if not venue_client_id:
            return None
        return self._coids.get(venue_client_id.lower(), ClientOrderId(venue_client_id.lower()))

    async def generate_order_status_report(self, command: GenerateOrderStatusReport) -> OrderStatusReport | None:
        """By client order id alone (the in-flight check has nothing else) or by venue order id."""
        instrument_id = command.instrument_id
        if instrument_id is None and command.client_order_id is not None:
            order = self._cache.order(command.client_order_id)
            instrument_id = order.instrument_id if order else None
        if instrument_id is None:
            log_event(
                log,
                logging.WARNING,
                "query_unknown_order",
                f"cannot query an order without its instrument: {command}",
                code=Code.UNKNOWN_CLIENT_ORDER,
            )
            return None
        instrument = self._cache.instrument(instrument_id)
        symbol = to_venue_symbol(instrument_id.value)
        try:
            if command.venue_order_id is not None:
                venue = await self._trade.query_order(symbol, order_id=int(command.venue_order_id.value))
            elif command.client_order_id is not None:
                venue = await self._trade.query_order(symbol, client_order_id=command.client_order_id.value)
            else:
                return None
        except BingXOrderNotFoundError:
            return None
        except BingXError as exc:
            log_event(
                log,
                logging.WARNING,
                "venue_read_failed",
                f"order status query failed: {exc}",
                code=Code.VENUE_READ_FAILED,
            )
            return None
        return order_to_status_report(
            venue,
            instrument,
            self.account_id,
            self._clock.timestamp_ns(),
            command.client_order_id or self._coid_for(venue.client_order_id),
        )

    async def generate_order_status_reports(self, command: GenerateOrderStatusReports) -> list[OrderStatusReport]:
        instruments = {i.id.value: i for i in self._instruments(command.instrument_id)}
        single = to_venue_symbol(command.instrument_id.value) if command.instrument_id is not None else None
        venue_orders: dict[int, BingXOrder] = {o.order_id: o for o in await self._trade.open_orders(single)}
        if not command.open_only:
            start_ms = self._window_start_ms(command.start)
            for iid in instruments:
                for venue in await self._trade.order_history(to_venue_symbol(iid), start_ms=start_ms, limit=500):
                    venue_orders.setdefault(venue.order_id, venue)
        ts = self._clock.timestamp_ns()
        reports = []
        for venue in venue_orders.values():
            instrument = instruments.get(to_instrument_id(venue.symbol))
            if instrument is None:
                continue
            reports.append(
                order_to_status_report(venue, instrument, self.account_id, ts, self._coid_for(venue.client_order_id))
            )
        return reports

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        start_ms = self._window_start_ms(command.start)
        end_ms = int(command.end.timestamp() * 1000) if command.end is not None else None
        if start_ms is not None and end_ms is None:
            end_ms = self._clock.timestamp_ns() // _NS_PER_MS
        order_id = int(command.venue_order_id.value) if command.venue_order_id is not None else None
        ts = self._clock.timestamp_ns()
        reports = []
        for instrument in self._instruments(command.instrument_id):
            fills = await self._trade.fill_history(
                to_venue_symbol(instrument.id.value), order_id=order_id, start_ms=start_ms, end_ms=end_ms
            )
            for fill in fills:
                reports.append(
                    fill_to_report(fill, instrument, self.account_id, ts, self._coid_by_venue_id.get(fill.order_id))
                )
        return reports

    async def generate_position_status_reports(
        self,
        command: GeneratePositionStatusReports,
    ) -> list[PositionStatusReport]:
        """Every open position, and an explicit flat for each queried instrument without one."""
        instruments = self._instruments(command.instrument_id)
        single = to_venue_symbol(command.instrument_id.value) if command.instrument_id is not None else None
        try:
            positions = await self._account_api.positions(single)
        except Exception as exc:
            # Restore must never read a failed query as "flat": it stays in safe mode until this says ok.
            self._record_venue_verdict(ok=False, reason=f"{type(exc).__name__}: {exc}")
            raise
        if command.instrument_id is None:
            self._record_venue_verdict(ok=True)
        ts = self._clock.timestamp_ns()
        by_id = {i.id.value: i for i in instruments}
        reports = []
        for position in positions:
            instrument = by_id.pop(to_instrument_id(position.symbol), None)
            if instrument is None:
                if command.instrument_id is None:
                    log_event(
                        log,
                        logging.WARNING,
                        "unconfigured_position",
                        f"BingX position in {position.symbol} is not a loaded instrument; not reported",
                        code=Code.RESTORE_VENUE_UNKNOWN_INSTRUMENT,
                    )
                continue
            reports.append(position_to_report(position, instrument, self.account_id, ts))
        for instrument in by_id.values():
            reports.append(
                PositionStatusReport.create_flat(self.account_id, instrument.id, instrument.size_precision, ts)
            )
        return reports

    def _window_start_ms(self, start) -> int | None:
        """allOrders serves at most 7 days back; a longer lookback is clamped."""
        if start is None:
            return None
        floor = self._clock.timestamp_ns() // _NS_PER_MS - 7 * 86_400_000 + 60_000
        return max(int(start.timestamp() * 1000), floor)

    def _record_venue_verdict(self, *, ok: bool, reason: str = "") -> None:
        """Vouch (or not) for the cache's positions as the venue's truth (contracts.venue)."""
        verdict = VenuePositionsVerdict(ok=ok, reason=reason, ts=self._clock.timestamp_ns())
        self._cache.add(VENUE_POSITIONS_VERDICT_CACHE_KEY, encode_venue_verdict(verdict))


def placement_outcome(client_order_id: str, result: NotPlaced, ts: int) -> PlacementOutcome:
    """The typed outcome of a placement that left nothing at the venue."""
    if result.kind is NotPlacedKind.RATE_LIMITED:
        return PlacementRateLimited(
            client_order_id=client_order_id,
            retry_after_ms=result.retry_after_ms,
            message=result.reason,
            ts=ts,
            venue_code=result.venue_code,
        )
    if result.kind is NotPlacedKind.NOT_FOUND_AFTER_UNKNOWN:
        return PlacementResolved(client_order_id=client_order_id, placed=False, ts=ts)
    return PlacementRejected(
        client_order_id=client_order_id, message=result.reason, ts=ts, venue_code=result.venue_code
    )
