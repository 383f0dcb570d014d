"""Intents: enter, exit / retract (docs/design.md §3 rules 2-5), cancel, and the bar clock
(max hold, docs/design.md §3.8).

Every intent is either acted on (a `Decision` carrying an order or a cancel) or refused with a diagnostic
code; none is dropped silently. Max hold works in every state that holds a position: a bar counts while
the slot holds one, and once `max_hold_bars` is reached every bar sends the full exit if none is working
(until the slot closes); a slot whose order outcome stays unknown goes to reconcile instead of freezing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import book_facts as facts
from . import slot_transitions as slots
from .book_state import BookState
from .coercion import InvalidBookInput, to_decimal
from .decisions import OK_DECISION, CancelToSend, Decision
from .diagnostics import Code, Severity, book_outcome
from .order_records import OrderRecord, OrderStatus, Purpose, entry_order_side, exit_order_side
from .order_transitions import NS_PER_MS, check_unknown_overdue
from .policy import is_effectively_zero, plan_exit
from .slots import Side, SlotState, TradeSlot

ZERO = Decimal(0)
_UNKNOWN = OrderStatus.UNKNOWN
_CANCELABLE = frozenset({OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


def enter(book: BookState, instrument_id: str, side: Any, quantity: Any, price: Any, ts: int, reason: str) -> Decision:
    spec = book.specs.get(instrument_id)
    if spec is None:
        return facts.refuse(book, Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
    try:
        side = Side(side)
    except ValueError:
        return facts.refuse(book, Code.INVALID_INPUT, ts, f"side must be LONG or SHORT, got {side!r}", instrument_id)
    try:
        qty = to_decimal("quantity", quantity)
        px = to_decimal("price", price)
    except InvalidBookInput as exc:
        return facts.refuse(book, Code.INVALID_INPUT, ts, str(exc), instrument_id)
    if book.entries_blocked:
        return facts.refuse(book, Code.INTENT_BLOCKED, ts, f"entries blocked: {book.entries_blocked}", instrument_id)
    if instrument_id in book.reconciling:
        return _reconciling(book, instrument_id, ts)
    live = book.live.get(instrument_id)
    if live is not None:
        busy = f"trade {live.trade_id} is {live.state}"
        return facts.refuse(book, Code.SLOT_BUSY, ts, busy, instrument_id, slot=live)
    waiting = _retry_wait(book, instrument_id, ts)
    if waiting is not None:
        return waiting
    rounded = spec.round_qty_down(qty)
    if is_effectively_zero(spec, rounded, px):
        return facts.refuse(
            book,
            Code.BELOW_VENUE_MINIMUM,
            ts,
            f"entry {qty} @ {px} is below the venue minimum (min qty {spec.min_quantity}, "
            f"min notional {spec.min_notional})",
            instrument_id,
            requested=qty,
            rounded=rounded,
        )
    slot = slots.new_slot(book, spec, side, ts)
    slot.state = SlotState.ENTRY_WORKING
    book.live[instrument_id] = slot
    request = slots.new_order(book, slot, Purpose.ENTRY, entry_order_side(side), rounded, px, reason, ts)
    return Decision(outcome=book_outcome(Code.OK, "entry sent"), order=request)


def exit_intent(
    book: BookState,
    instrument_id: str,
    quantity: Any,
    fraction: Any,
    price: Any,
    ts: int,
    reason: str,
    ok_code: Code = Code.OK,
) -> Decision:
    spec = book.specs.get(instrument_id)
    if spec is None:
        return facts.refuse(book, Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
    try:
        px = to_decimal("price", price)
        requested = None if quantity is None else to_decimal("quantity", quantity)
        frac = None if fraction is None else to_decimal("fraction", fraction)
    except InvalidBookInput as exc:
        return facts.refuse(book, Code.INVALID_INPUT, ts, str(exc), instrument_id)
    if frac is not None and frac > 1:
        bad = f"fraction must be in (0, 1], got {fraction!r}"
        return facts.refuse(book, Code.INVALID_INPUT, ts, bad, instrument_id)
    slot = book.live.get(instrument_id)
    if slot is None:
        return _nothing_to_exit(book, instrument_id, ts, reason)
    refused = _exit_blocked(book, slot, ts)
    if refused is not None:
        return refused
    remaining = slot.ledger.remaining
    if frac is not None:
        requested = remaining * frac
    plan = plan_exit(spec, remaining, requested, px)
    if plan.refused:
        return facts.refuse(
            book,
            Code.BELOW_VENUE_MINIMUM,
            ts,
            f"exit of {requested} @ {px} is below the venue minimum (min qty {spec.min_quantity}, "
            f"min notional {spec.min_notional}) and would leave {remaining - (requested or ZERO)}",
            slot=slot,
            requested=requested,
            remaining=remaining,
        )
    request = slots.new_order(book, slot, Purpose.EXIT, exit_order_side(slot.side), plan.quantity, px, reason, ts)
    slot.state = SlotState.EXIT_WORKING
    facts.position_state(book, slot, ts)  # persists the order sequence before the order can be lost
    result = book_outcome(
        ok_code,
        "exit sent",
        requested=requested,
        quantity=plan.quantity,
        full_close=plan.full_close,
        clamped=plan.clamped,
        dust_widened=plan.dust_widened,
    )
    return Decision(outcome=result, order=request)


def _nothing_to_exit(book: BookState, instrument_id: str, ts: int, reason: str) -> Decision:
    last = book.last.get(instrument_id)
    if last is not None and last.state is SlotState.CLOSED:
        return facts.refuse(
            book, Code.EXIT_ON_CLOSED_SLOT, ts, f"trade {last.trade_id} is already closed", slot=last, reason=reason
        )
    return facts.refuse(book, Code.NO_OPEN_SLOT, ts, "no trade to exit", instrument_id, reason=reason)


def _exit_blocked(book: BookState, slot: TradeSlot, ts: int) -> Decision | None:
    """Why no exit may be sent for the live slot now, or None."""
    if slot.instrument_id in book.reconciling:
        return _reconciling(book, slot.instrument_id, ts, slot)
    if slot.state is SlotState.ENTRY_WORKING:
        return facts.refuse(book, Code.ENTRY_IN_FLIGHT, ts, "entry order still working", slot=slot)
    working = slot.exit_order
    if working is not None:
        if working.status is OrderStatus.UNKNOWN:
            return facts.refuse(
                book,
                Code.UNKNOWN_ORDER_OUTCOME,
                ts,
                f"exit {working.client_order_id} outcome unknown: resolve it before sending another",
                slot=slot,
                client_order_id=working.client_order_id,
            )
        return facts.refuse(
            book,
            Code.EXIT_ALREADY_WORKING,
            ts,
            f"exit {working.client_order_id} is working",
            slot=slot,
            client_order_id=working.client_order_id,
        )
    return _retry_wait(book, slot.instrument_id, ts, slot)


def _reconciling(book: BookState, instrument_id: str, ts: int, slot: TradeSlot | None = None) -> Decision:
    return facts.refuse(
        book, Code.INTENT_BLOCKED, ts, f"reconciling: {book.reconciling[instrument_id]}", instrument_id, slot=slot
    )


def _retry_wait(book: BookState, instrument_id: str, ts: int, slot: TradeSlot | None = None) -> Decision | None:
    """The venue rate limited this instrument's last order: nothing is sent before the time it gave."""
    retry_at = book.retry_not_before.get(instrument_id)
    if retry_at is None:
        return None
    if ts >= retry_at:
        del book.retry_not_before[instrument_id]
        return None
    return facts.refuse(
        book,
        Code.RATE_LIMITED,
        ts,
        f"rate limited: nothing sent before {retry_at}",
        instrument_id,
        slot=slot,
        severity=Severity.INFO,  # the rate limit itself was recorded once, as a WARNING
        retry_at=retry_at,
        retry_after_ms=(retry_at - ts + NS_PER_MS - 1) // NS_PER_MS,
    )


def cancel(book: BookState, instrument_id: str, ts: int, reason: str) -> Decision:
    """Cancel the slot's working order (the exit, or the entry while ENTRY_WORKING)."""
    slot = book.live.get(instrument_id)
    record = None
    if slot is not None:
        if slot.exit_order is not None and slot.exit_order.is_active:
            record = slot.exit_order
        elif slot.entry_order is not None and slot.entry_order.is_active:
            record = slot.entry_order
    if record is None:
        return facts.refuse(book, Code.NO_ACTIVE_EXIT_ORDER, ts, "no working order to cancel", instrument_id, slot=slot)
    return Decision(outcome=book_outcome(Code.OK, "cancel sent"), cancel=_cancel_request(book, record, ts, reason))


def _cancel_request(book: BookState, record: OrderRecord, ts: int, reason: str) -> CancelToSend:
    record.cancel_requested = True
    facts.order_event(book, record, "CANCEL_REQUESTED", ts, reason)
    return CancelToSend(
        client_order_id=record.client_order_id,
        venue_order_id=record.venue_order_id,
        instrument_id=record.instrument_id,
        trade_id=record.trade_id,
        reason=reason,
    )


def on_bar(book: BookState, instrument_id: str, close: Decimal, ts: int) -> Decision:
    """Count a bar for a held position; from max_hold_bars on, exit it fully (reason MAX_HOLD)."""
    slot = book.live.get(instrument_id)
    if slot is None:
        return OK_DECISION
    # Called on every bar of every held instrument: the common path is kept to a few attribute reads.
    exit_order, entry_order = slot.exit_order, slot.entry_order
    unknown = (exit_order is not None and exit_order.status is _UNKNOWN) or (
        entry_order is not None and entry_order.status is _UNKNOWN
    )
    overdue = check_unknown_overdue(book, instrument_id, ts) if unknown else None
    ledger = slot.ledger
    if ledger.entry_quantity > ledger.exit_quantity:  # holds a position
        slot.bars_held += 1
        slot.last_price = close
        every = book.snapshot_every_bars
        if every and slot.bars_held % every == 0:
            facts.position_state(book, slot, ts)
    if overdue is not None:
        return overdue
    if slot.bars_held < book.max_hold_bars or instrument_id in book.reconciling:
        return OK_DECISION
    if slot.can_exit:
        return exit_intent(book, instrument_id, None, None, close, ts, "MAX_HOLD", ok_code=Code.MAX_HOLD_EXIT)
    return _clear_the_way_for_max_hold(book, slot, ts)


def _clear_the_way_for_max_hold(book: BookState, slot: TradeSlot, ts: int) -> Decision:
    """Max hold is due but an order of the slot still works: a partly filled entry, or an exit that would
    not close the position. Cancel it once; its end reopens the slot and the next bar sends the full exit."""
    if slot.state is SlotState.ENTRY_WORKING:
        record = slot.entry_order
    else:
        record = slot.exit_order
        if record is not None and record.quantity - record.filled_quantity >= slot.ledger.remaining:
            return OK_DECISION  # the working exit closes the position by itself
    if record is None or record.cancel_requested or record.status not in _CANCELABLE:
        return OK_DECISION
    cancel_request = _cancel_request(book, record, ts, "MAX_HOLD")
    result = book_outcome(Code.MAX_HOLD_EXIT, f"max hold: cancel {record.client_order_id} to exit fully")
    return Decision(outcome=result, cancel=cancel_request)
