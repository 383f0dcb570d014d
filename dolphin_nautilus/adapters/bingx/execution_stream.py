"""The private user stream of the BingX execution client: order and trade updates into Nautilus events,
account updates into coalesced balance reads, and the REST reconcile after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from nautilus_trader.model.enums import LiquiditySide, OrderType

from dolphin_nautilus.adapters.bingx.common.enums import BingXExecutionType, BingXOrderStatus
from dolphin_nautilus.adapters.bingx.errors import BingXError
from dolphin_nautilus.adapters.bingx.execution_events import NS_PER_MS, BingXOrderEvents
from dolphin_nautilus.adapters.bingx.parsing import balances_to_account
from dolphin_nautilus.adapters.bingx.schemas.ws import AccountUpdate, OrderTradeUpdate, UserEvent, UserStreamReconnected
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.exec")  # fault lines go to the node's JSON log with their code


class BingXUserStreamEvents(BingXOrderEvents):
    """The user stream and account side of `BingXExecutionClient`."""

    _balance_task: asyncio.Task | None
    _balance_pending: bool

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
        ts = (update.trade_time or event.event_time) * NS_PER_MS or self._clock.timestamp_ns()
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
