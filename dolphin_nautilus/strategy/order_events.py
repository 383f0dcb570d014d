"""Order events into the book: every Nautilus event that can end or advance an order, and the typed placement
outcomes the execution client publishes on `PLACEMENT_OUTCOME_TOPIC` before the event they explain.

`hand_to_book` is the one place an outcome meets the book. An OrderRejected with no published outcome (the
backtest's simulated venue, the risk engine) is a definitive reject. No reject reason is parsed. After a
refusal the decision is taken again at the next chance (`_after_refusal`).

A part of `DolphinStrategy` (strategy.py), built on `OrderSubmission`.
"""

from __future__ import annotations

from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
)

from dolphin_nautilus.contracts.placement import (
    PlacementAccepted,
    PlacementOutcome,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
)
from dolphin_nautilus.domain.book import TradeBook
from dolphin_nautilus.domain.decisions import Decision
from dolphin_nautilus.domain.order_records import Purpose
from dolphin_nautilus.domain.signal_policy import TargetBoard
from dolphin_nautilus.strategy.order_submission import OrderSubmission


def hand_to_book(book: TradeBook, outcome: PlacementOutcome) -> Decision | None:
    """The one place a placement outcome meets the book. None for the kinds a Nautilus event carries anyway:
    an accepted order, and an unknown resolved as placed (the exec client's OrderAccepted follows)."""
    if isinstance(outcome, PlacementAccepted) or (isinstance(outcome, PlacementResolved) and outcome.placed):
        return None
    return book.on_placement_outcome(outcome)


def _ends_with_reject(outcome: PlacementOutcome) -> bool:
    """The execution client follows these with an OrderRejected, which the outcome has already explained."""
    if isinstance(outcome, PlacementResolved):
        return not outcome.placed
    return isinstance(outcome, (PlacementRejected, PlacementRateLimited))


class OrderEvents(OrderSubmission):
    """The Nautilus order-event handlers and the placement-outcome subscriber of `DolphinStrategy`."""

    # Set up by DolphinStrategy.__init__ (`_on_wake`, the retry after a wait, is DolphinStrategy's).
    _board: TargetBoard
    _outcome_handed: set[str]  # client order ids whose OrderRejected the outcome explained
    _exit_wanted: dict[str, str]  # instrument -> reason of a rejected exit no target re-asks

    def on_order_accepted(self, event: OrderAccepted) -> None:
        self._act(self.book.on_order_accepted(event.client_order_id.value, event.venue_order_id.value, event.ts_event))

    def _on_placement_outcome(self, outcome: PlacementOutcome) -> None:
        coid = outcome.client_order_id
        if coid in self._seed_orders:
            self.log.error(f"seed order {coid}: {outcome}")
            return
        if _ends_with_reject(outcome):
            self._outcome_handed.add(coid)
        decision = hand_to_book(self.book, outcome)
        if decision is not None:
            self._act(decision)
            if _ends_with_reject(outcome):
                self._after_refusal(coid)

    def on_order_rejected(self, event: OrderRejected) -> None:
        coid = event.client_order_id.value
        if coid in self._outcome_handed:
            self._outcome_handed.discard(coid)  # the typed outcome before it told the book everything
            return
        self._on_refused(coid, event.reason, event.ts_event)

    def on_order_denied(self, event: OrderDenied) -> None:
        coid = event.client_order_id.value
        if coid in self._seed_orders:
            self.log.error(f"seed order {coid} denied: {event.reason}")
            return
        self._act(self.book.on_order_denied(coid, f"denied by risk engine: {event.reason}", event.ts_event))
        self._after_refusal(coid)

    def on_order_expired(self, event: OrderExpired) -> None:
        self._act(self.book.on_order_expired(event.client_order_id.value, event.ts_event))

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        self._act(self.book.on_modify_rejected(event.client_order_id.value, event.reason, event.ts_event))

    def _on_refused(self, coid: str, reason: str, ts: int) -> None:
        """A refusal no placement outcome explained (simulated venue): a definitive reject."""
        if coid in self._seed_orders:
            self.log.error(f"seed order {coid} refused: {reason}")
            return
        self._act(self.book.on_order_rejected(coid, reason, ts))
        self._after_refusal(coid)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._act(self.book.on_order_canceled(event.client_order_id.value, event.ts_event))

    def on_order_cancel_rejected(self, event: OrderCancelRejected) -> None:
        self._act(self.book.on_cancel_rejected(event.client_order_id.value, event.reason, event.ts_event))

    def on_order_filled(self, event: OrderFilled) -> None:
        coid = event.client_order_id.value
        if coid in self._seed_orders:
            return  # a seed re-creates a restored position in the simulated venue; the book already has it
        self._act(
            self.book.on_fill(
                coid,
                event.trade_id.value,
                event.last_qty.as_decimal(),
                event.last_px.as_decimal(),
                event.commission.as_decimal(),
                event.ts_event,
                event.liquidity_side.name,
                instrument_id=event.instrument_id.value,
            )
        )

    def _after_refusal(self, coid: str) -> None:
        """The venue (or the risk engine) refused an order, or rate limited it: the decision is taken again at
        the next chance (the board's target for signal orders, `_exit_wanted` for others)."""
        record = self.book.order(coid)
        if record is None:
            return
        iid = record.instrument_id
        if record.reason.startswith("SIGNAL"):
            self._board.reopen(iid)
        elif record.purpose is Purpose.EXIT and record.reason != "MAX_HOLD":
            self._exit_wanted[iid] = record.reason
        retry_at = self.book.retry_not_before(iid)
        if retry_at > self.clock.timestamp_ns():
            self._wake_at(iid, retry_at)

    def _wake_at(self, iid: str, ts: int) -> None:
        """Act on the instrument again when a rate-limit wait ends, not only at the next bar."""
        name = f"dolphin-retry-{iid}"
        if name in self.clock.timer_names:
            self.clock.cancel_timer(name)
        self.clock.set_time_alert_ns(name, ts, self._on_wake)
