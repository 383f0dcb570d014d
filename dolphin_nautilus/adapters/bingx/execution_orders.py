"""Order commands of the BingX execution client: submit (the placement state machine of `order_flow.py` and
its typed outcomes), cancel, cancel all, batch cancel, modify (refused), order lists.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from typing import Any

from nautilus_trader.common.enums import LogColor
from nautilus_trader.execution.messages import (
    BatchCancelOrders,
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    SubmitOrder,
    SubmitOrderList,
)
from nautilus_trader.model.enums import OrderSide, OrderType, TimeInForce
from nautilus_trader.model.orders import Order

from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderSide, BingXOrderType, BingXTimeInForce
from dolphin_nautilus.adapters.bingx.errors import BingXError, VenueOutcome
from dolphin_nautilus.adapters.bingx.execution_events import BingXOrderEvents
from dolphin_nautilus.adapters.bingx.order_flow import (
    NotPlaced,
    NotPlacedKind,
    PlacedAtVenue,
    place_with_recovery,
    venue_reason,
)
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXOrderAck
from dolphin_nautilus.adapters.bingx.symbols import to_venue_symbol
from dolphin_nautilus.contracts.placement import (
    PLACEMENT_OUTCOME_TOPIC,
    PlacementOutcome,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
    PlacementUnknown,
)
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.exec")  # fault lines go to the node's JSON log with their code

_TIF = {
    TimeInForce.GTC: BingXTimeInForce.GTC,
    TimeInForce.IOC: BingXTimeInForce.IOC,
    TimeInForce.FOK: BingXTimeInForce.FOK,
}


class BingXOrderCommands(BingXOrderEvents):
    """The order commands of `BingXExecutionClient`."""

    placements: int  # REST placement attempts (observable by tests and the benchmark)

    def submit_order(self, command: SubmitOrder) -> None:
        """Start the placement now: the task runs eagerly up to the POST's first wait, so the request is on the
        wire before the exec engine's command handler returns. Nautilus's own `submit_order` renders the order
        and the command for two log lines and starts the task a loop turn later (about 0.1 ms per order here)."""
        self._log.info(f"Submit {command.order.client_order_id.value}", LogColor.BLUE)
        self._start_now(self._submit_order(command), "submit_order")

    def _start_now(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task:
        """`LiveExecutionClient.create_task` (errors logged, task cancelled on disconnect), started eagerly."""
        task = asyncio.Task(coro, loop=self._loop, name=name, eager_start=True)
        task.add_done_callback(functools.partial(self._on_task_completed, None, None, LogColor.NORMAL))
        self._tasks.add(task)
        return task

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

    def _on_accepted(self, order: Order, result: PlacedAtVenue) -> None:
        self._accept(order, result.venue_order_id, self._clock.timestamp_ns())
        if result.order is not None:  # found by a query: the stream may have missed its fills or cancel
            self.create_task(self._sync_order(order, result.order), log_msg=f"bingx_sync_{order.client_order_id}")

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
            self._cancel_rejected(order, venue_reason(exc))
            return
        await self._sync_order(order, venue)

    def _cancel_rejected(self, order: Order, reason: str) -> None:
        self.generate_order_cancel_rejected(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            order.venue_order_id,
            reason,
            self._clock.timestamp_ns(),
        )

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        symbol = to_venue_symbol(command.instrument_id.value)
        try:
            result = await self._trade.cancel_all_orders(symbol)
        except BingXError as exc:
            log_event(
                log, logging.ERROR, "cancel_all_failed", f"cancel all {symbol} failed: {exc}", code=Code.CANCEL_REJECTED
            )
            for order in self._cache.orders_open(instrument_id=command.instrument_id):
                self._cancel_rejected(order, venue_reason(exc))
            return
        for venue in result.success or []:
            order = self._our_order(venue.client_order_id)
            if order is not None:
                await self._sync_order(order, venue)
        for failure in result.failed or []:
            order = self._our_order(failure.client_order_id)
            if order is not None:
                self._cancel_rejected(order, f"{failure.error_code} {failure.error_message}")

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
