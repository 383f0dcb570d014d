"""Order events of the BingX execution client, each transition emitted at most once, and the sync of one order
to the venue's view (acceptance, missed fills, cancel). The base of the client's concern classes: it holds
what they share. The state below is set up by `BingXExecutionClient.__init__` (execution.py).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, TradeId, VenueOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.model.orders import Order

from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderStatus
from dolphin_nautilus.adapters.bingx.config import BingXExecClientConfig
from dolphin_nautilus.adapters.bingx.errors import BingXError, BingXOrderNotFoundError
from dolphin_nautilus.adapters.bingx.http.account import BingXAccountHttpAPI
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI
from dolphin_nautilus.adapters.bingx.order_flow import FillDeduper, RecoveryPolicy
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXOrder
from dolphin_nautilus.adapters.bingx.symbols import to_venue_symbol
from dolphin_nautilus.adapters.bingx.websocket.user import BingXUserStreamClient
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.exec")  # fault lines go to the node's JSON log with their code

NS_PER_MS = 1_000_000


class BingXOrderEvents(LiveExecutionClient):
    """Shared state and event emission of `BingXExecutionClient`."""

    _config: BingXExecClientConfig
    _http: BingXHttpClient
    _trade: BingXTradeHttpAPI
    _account_api: BingXAccountHttpAPI
    _user_stream: BingXUserStreamClient
    _policy: RecoveryPolicy
    _fills: FillDeduper
    _coids: dict[str, ClientOrderId]  # venue (lower-case) client id -> ours
    _coid_by_venue_id: dict[int, ClientOrderId]
    _accepted: set[ClientOrderId]
    _closed: set[ClientOrderId]  # canceled / expired / rejected by us

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

    def _reject(self, order: Order, reason: str) -> None:
        self._closed.add(order.client_order_id)
        self.generate_order_rejected(
            order.strategy_id, order.instrument_id, order.client_order_id, reason, self._clock.timestamp_ns()
        )

    async def _query_by_client_id(self, instrument_id: InstrumentId, coid: ClientOrderId) -> BingXOrder | None:
        try:
            return await self._trade.query_order(to_venue_symbol(instrument_id.value), client_order_id=coid.value)
        except BingXOrderNotFoundError:
            return None

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
                        fill.ts_ms * NS_PER_MS,
                    )
        if venue.order_status in (BingXOrderStatus.CANCELED, BingXOrderStatus.EXPIRED):
            self._close(order, venue.order_id, venue.order_status, self._clock.timestamp_ns())

    def _instruments(self, instrument_id: InstrumentId | None) -> list[Instrument]:
        if instrument_id is not None:
            instrument = self._cache.instrument(instrument_id)
            return [instrument] if instrument is not None else []
        return [i for i in self._instrument_provider.list_all() if self._cache.instrument(i.id) is not None]
