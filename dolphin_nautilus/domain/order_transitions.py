"""Order transitions: what each venue / Nautilus order event and each placement outcome does to an order
record and its slot. Every event for an order the book knows queues one `orders` row.

Placement outcomes (dolphin_nautilus.contracts.placement) say what the Nautilus events cannot:
- rate limited: nothing was placed. The slot returns exactly to where it was before the intent and the
  instrument records "retry not before" (outcome ts + retry_after_ms); intents before it are refused with
  RATE_LIMITED, after it the strategy's next decision (or max-hold on the next bar) sends again.
- unknown: maybe placed. The order stays UNKNOWN (no second order is sent for the slot) until resolved; if
  unresolved after `unknown_outcome_timeout_ns` (checked on the slot's bars), the slot goes to
  STALE_STATE_RECONCILING and the venue position decides.
- resolved: placed (ACCEPTED) or not placed (as if rate limited, without a wait).
- rejected: definitive. Entry: IDLE. Exit: the slot keeps its position and the exit is sent again on the
  next exit decision.
"""

from __future__ import annotations

from typing import Any

from dolphin_nautilus.contracts.placement import (
    PlacementAccepted,
    PlacementOutcome,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
    PlacementUnknown,
)

from . import book_facts as facts
from . import slot_transitions as slots
from .book_state import BookState
from .decisions import OK_DECISION, Decision
from .diagnostics import Code, Severity
from .order_records import OrderRecord, OrderStatus, Purpose
from .slots import SlotState

NS_PER_MS = 1_000_000


def on_placement_outcome(book: BookState, outcome: PlacementOutcome) -> Decision:
    if isinstance(outcome, PlacementAccepted):
        return on_accepted(book, outcome.client_order_id, outcome.venue_order_id, outcome.ts)
    if isinstance(outcome, PlacementRejected):
        return on_rejected(book, outcome.client_order_id, outcome.message, outcome.ts, venue_code=outcome.venue_code)
    if isinstance(outcome, PlacementRateLimited):
        return on_rate_limited(book, outcome)
    if isinstance(outcome, PlacementUnknown):
        return on_unknown(book, outcome.client_order_id, outcome.message, outcome.ts)
    if isinstance(outcome, PlacementResolved):
        return on_resolved(book, outcome)
    raise TypeError(f"not a placement outcome: {outcome!r}")  # a contract the book does not know is a bug


def on_accepted(book: BookState, client_order_id: str, venue_order_id: str, ts: int) -> Decision:
    record = book.orders.get(client_order_id)
    if record is None:
        return facts.unknown_order(book, client_order_id, ts, "ACCEPTED")
    if venue_order_id:
        record.venue_order_id = venue_order_id
    status = record.status
    if status is OrderStatus.ACCEPTED:
        return facts.refuse(book, Code.DUPLICATE_EVENT, ts, "accepted twice", record.instrument_id)
    facts.order_event(book, record, "ACCEPTED", ts)
    if status is OrderStatus.SUBMITTED or status is OrderStatus.UNKNOWN:
        record.status = OrderStatus.ACCEPTED
        settle_unknown(book, record)
        return OK_DECISION
    if status is OrderStatus.PARTIALLY_FILLED or status is OrderStatus.FILLED:
        return OK_DECISION  # the fill overtook the acknowledgement
    return facts.refuse(book, Code.LATE_EVENT, ts, f"accepted after {status}", record.instrument_id)


def on_rejected(
    book: BookState,
    client_order_id: str,
    reason: str,
    ts: int,
    *,
    venue_code: int | None = None,
    status: OrderStatus = OrderStatus.REJECTED,
) -> Decision:
    """A definitive refusal (venue reject, or a Nautilus denial with `status` DENIED): nothing placed."""
    event = status.value
    record = book.orders.get(client_order_id)
    if record is None:
        return facts.unknown_order(book, client_order_id, ts, event, reason)
    if record.status is status:
        return facts.refuse(book, Code.DUPLICATE_EVENT, ts, f"{event.lower()} twice", record.instrument_id)
    facts.order_event(book, record, event, ts, reason)
    if not record.is_active:
        return facts.refuse(book, Code.LATE_EVENT, ts, f"{event.lower()} after {record.status}", record.instrument_id)
    record.status = status
    settle_unknown(book, record)
    slot = record.slot
    details: dict[str, Any] = {"client_order_id": client_order_id, "reason": reason, "venue_code": venue_code}
    if record.purpose is Purpose.ENTRY:
        if slot.entry_order is record:
            slots.entry_finished(book, slot, ts)
        return facts.refuse(book, Code.ORDER_REJECTED, ts, f"entry {event.lower()}: {reason}", slot=slot, **details)
    slots.exit_not_sent(slot, record)
    return facts.refuse(book, Code.EXIT_ORDER_REJECTED, ts, f"exit {event.lower()}: {reason}", slot=slot, **details)


def on_ended(book: BookState, client_order_id: str, ts: int, status: OrderStatus, reason: str = "") -> Decision:
    """The order stopped working at the venue without (more) fills: CANCELED or EXPIRED."""
    event = status.value
    record = book.orders.get(client_order_id)
    if record is None:
        return facts.unknown_order(book, client_order_id, ts, event, reason)
    if record.status is status:
        return facts.refuse(book, Code.DUPLICATE_EVENT, ts, f"{event.lower()} twice", record.instrument_id)
    facts.order_event(book, record, event, ts, reason)
    if not record.is_active:
        return facts.refuse(book, Code.LATE_EVENT, ts, f"{event.lower()} after {record.status}", record.instrument_id)
    record.status = status
    settle_unknown(book, record)
    slots.order_gone(book, record, ts)
    return OK_DECISION


def on_change_rejected(book: BookState, client_order_id: str, reason: str, ts: int, event: str) -> Decision:
    """The venue refused a cancel or a modify: the order is unchanged (a fill in between converges)."""
    record = book.orders.get(client_order_id)
    if record is None:
        return facts.unknown_order(book, client_order_id, ts, event, reason)
    facts.order_event(book, record, event, ts, reason)
    if event == "CANCEL_REJECTED":
        record.cancel_requested = False  # if it still works, max hold may ask again
    return facts.refuse(
        book,
        Code.CANCEL_REJECTED,
        ts,
        f"{event.lower().replace('_', ' ')}: {reason}",
        slot=record.slot,
        severity=None if event == "CANCEL_REJECTED" else Severity.INFO,
        client_order_id=client_order_id,
        reason=reason,
        event=event,
    )


def on_rate_limited(book: BookState, outcome: PlacementRateLimited) -> Decision:
    coid, ts = outcome.client_order_id, outcome.ts
    record = book.orders.get(coid)
    if record is None:
        return facts.unknown_order(book, coid, ts, "RATE_LIMITED", outcome.message)
    wait_ms = max(outcome.retry_after_ms, 0)
    inst = record.instrument_id
    book.retry_not_before[inst] = max(book.retry_not_before.get(inst, 0), ts + wait_ms * NS_PER_MS)
    facts.order_event(book, record, "RATE_LIMITED", ts, f"nothing placed; retry_after_ms={wait_ms}")
    if record.status is OrderStatus.SUBMITTED or record.status is OrderStatus.UNKNOWN:
        _not_placed(book, record, ts)
    return facts.refuse(
        book,
        Code.RATE_LIMITED,
        ts,
        f"{coid} rate limited, nothing placed; retry after {wait_ms} ms",
        slot=record.slot,
        client_order_id=coid,
        retry_after_ms=wait_ms,
        retry_at=book.retry_not_before[inst],
        venue_code=outcome.venue_code,
    )


def on_unknown(book: BookState, client_order_id: str, reason: str, ts: int) -> Decision:
    """The submit's outcome is unknown (timeout, dropped connection): resolve it, never resend."""
    record = book.orders.get(client_order_id)
    if record is None:
        return facts.unknown_order(book, client_order_id, ts, "UNKNOWN", reason)
    facts.order_event(book, record, "UNKNOWN", ts, reason)
    if record.status is OrderStatus.SUBMITTED:
        record.status = OrderStatus.UNKNOWN
        record.unknown_since = ts
    return facts.refuse(
        book,
        Code.UNKNOWN_ORDER_OUTCOME,
        ts,
        f"outcome of {client_order_id} unknown: {reason}",
        slot=record.slot,
        client_order_id=client_order_id,
        reason=reason,
    )


def on_resolved(book: BookState, outcome: PlacementResolved) -> Decision:
    """The venue was queried by client order id: placed (fills follow as usual), or never placed."""
    coid, ts = outcome.client_order_id, outcome.ts
    record = book.orders.get(coid)
    if record is None:
        return facts.unknown_order(book, coid, ts, "RESOLVED")
    if record.status is not OrderStatus.UNKNOWN and record.status is not OrderStatus.SUBMITTED:
        return facts.refuse(book, Code.DUPLICATE_EVENT, ts, f"already {record.status}", record.instrument_id)
    if outcome.placed:
        record.status = OrderStatus.ACCEPTED
        if outcome.venue_order_id:
            record.venue_order_id = outcome.venue_order_id
        facts.order_event(book, record, "ACCEPTED", ts, "resolved: found at the venue")
        settle_unknown(book, record)
        return OK_DECISION
    facts.order_event(book, record, "NOT_PLACED", ts, "resolved: never reached the venue")
    _not_placed(book, record, ts)
    return OK_DECISION


def check_unknown_overdue(book: BookState, instrument_id: str, ts: int) -> Decision | None:
    """An order of the live slot unknown for longer than the timeout: the slot goes STALE and the venue's
    position decides (the strategy reconciles). None when nothing is overdue."""
    slot = book.live.get(instrument_id)
    if slot is None or instrument_id in book.reconciling:
        return None
    for record in (slot.entry_order, slot.exit_order):
        if (
            record is not None
            and record.status is OrderStatus.UNKNOWN
            and (ts - record.unknown_since >= book.unknown_outcome_timeout_ns)
        ):
            why = _unknown_reason(record)
            book.reconciling[instrument_id] = why
            slots.make_stale(slot)
            return facts.refuse(
                book,
                Code.STALE_STATE_RECONCILING,
                ts,
                f"reconciling: {why}",
                instrument_id,
                slot=slot,
                reason=why,
                client_order_id=record.client_order_id,
            )
    return None


def _unknown_reason(record: OrderRecord) -> str:
    return f"outcome of {record.client_order_id} unresolved"


def settle_unknown(book: BookState, record: OrderRecord) -> None:
    """The venue answered for an order (an event, a resolution, a fill) whose unresolved outcome put its
    slot into reconcile: lift that reconcile."""
    inst = record.instrument_id
    if book.reconciling.get(inst) != _unknown_reason(record):
        return
    del book.reconciling[inst]
    slot = record.slot
    if slot.state is SlotState.STALE_STATE_RECONCILING:
        slot.state = slot.resume_state


def _not_placed(book: BookState, record: OrderRecord, ts: int) -> None:
    """Nothing reached the venue: the slot returns to where it was before the intent."""
    record.status = OrderStatus.NOT_PLACED
    settle_unknown(book, record)
    slot = record.slot
    withdrawn = record.purpose is Purpose.ENTRY and slot.entry_order is record and slot.ledger.entry_quantity == 0
    if withdrawn and slot.state is SlotState.ENTRY_WORKING:
        slots.withdraw_entry(book, record)
        return
    slots.order_gone(book, record, ts)
