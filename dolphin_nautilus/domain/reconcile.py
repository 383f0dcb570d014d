"""Restore and reconcile application: the venue is the truth for size (docs/design.md §5).

`begin` blocks intents on an instrument until `resolve` applies the venue's signed position: the slot is
adjusted by a ledger entry, closed, or reopened. An order of the slot whose outcome is still unknown when
the venue's position is applied is settled as RECONCILED: the position already says what it did, so the
slot can exit again (a late fill of it is still applied: the venue is the truth). `restore_slot`
re-establishes a validated open trade; legs and client order ids continue.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import book_facts as facts
from . import slot_transitions as slots
from .book_state import BookState
from .coercion import InvalidBookInput, to_decimal
from .decisions import OK_DECISION, Decision
from .diagnostics import Code, Severity, book_outcome
from .identifiers import coid_token
from .order_records import OrderStatus
from .restored import RestoredSlot, restored_slot_problems
from .slots import LedgerEntry, LedgerKind, Side, SlotState, TradeSlot

ZERO = Decimal(0)
OPEN, STALE = SlotState.OPEN, SlotState.STALE_STATE_RECONCILING


def begin(book: BookState, instrument_id: str, reason: str, ts: int) -> Decision:
    if instrument_id not in book.specs:
        return facts.refuse(book, Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
    again = instrument_id in book.reconciling
    book.reconciling[instrument_id] = reason
    slot = book.live.get(instrument_id)
    if slot is not None:
        slots.make_stale(slot)
    return facts.refuse(
        book,
        Code.STALE_STATE_RECONCILING,
        ts,
        f"reconciling: {reason}",
        instrument_id,
        slot=slot,
        severity=Severity.INFO if again else None,
        reason=reason,
    )


def resolve(book: BookState, instrument_id: str, venue_signed_qty: Any, avg_px: Any, ts: int) -> Decision:
    """Apply the venue's position (signed: + long, - short, 0 flat)."""
    if instrument_id not in book.specs:
        return facts.refuse(book, Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
    try:
        venue_qty = to_decimal("venue_signed_qty", venue_signed_qty, positive=False)
        venue_px = to_decimal("avg_px", avg_px, positive=False)
    except InvalidBookInput as exc:
        return facts.refuse(book, Code.INVALID_INPUT, ts, str(exc), instrument_id)
    book.reconciling.pop(instrument_id, None)
    slot = book.live.get(instrument_id)
    if slot is None:
        if venue_qty == ZERO:
            return OK_DECISION
        book.reconciling[instrument_id] = f"unowned venue position {venue_qty}"
        return facts.refuse(
            book,
            Code.VENUE_POSITION_MISMATCH,
            ts,
            f"venue holds {venue_qty} that no trade owns",
            instrument_id,
            venue_signed_qty=venue_qty,
            avg_px=venue_px,
        )
    if slot.state is STALE:
        slot.state = slot.resume_state
    _settle_unknown_orders(book, slot, ts)
    own = venue_qty if slot.side is Side.LONG else -venue_qty
    diff = _adjust_to(book, slot, own if own > ZERO else ZERO, venue_px, ts)
    if own < ZERO:
        book.reconciling[instrument_id] = f"venue holds {venue_qty} opposite to trade {slot.trade_id}"
        return facts.refuse(
            book,
            Code.VENUE_POSITION_MISMATCH,
            ts,
            f"venue holds {venue_qty}, opposite to our {slot.side}",
            instrument_id,
            slot=slot,
            venue_signed_qty=venue_qty,
            avg_px=venue_px,
        )
    if diff != ZERO:
        return facts.refuse(
            book,
            Code.RECONCILE_ADJUSTED,
            ts,
            f"adjusted by {diff} to the venue's {venue_qty}",
            instrument_id,
            slot=slot,
            adjustment=diff,
            venue_signed_qty=venue_qty,
        )
    return OK_DECISION


def _settle_unknown_orders(book: BookState, slot: TradeSlot, ts: int) -> None:
    for record in (slot.entry_order, slot.exit_order):
        if record is not None and record.status is OrderStatus.UNKNOWN:
            record.status = OrderStatus.RECONCILED
            facts.order_event(book, record, "RECONCILED", ts, "outcome unresolved; the venue position decides")
            if slot.exit_order is record:
                slots.order_gone(book, record, ts)


def _adjust_to(book: BookState, slot: TradeSlot, target: Decimal, venue_px: Decimal, ts: int) -> Decimal:
    """Make the slot hold `target` (>= 0) by one ledger entry; close, finish or reopen it accordingly."""
    diff = target - slot.ledger.remaining
    key = f"reconcile:{ts}:{slot.seq}:{len(slot.ledger.entries)}"
    if diff > ZERO:
        fill_px = venue_px if venue_px > ZERO else (slot.entry_price or slot.last_price)
        slot.ledger.append(
            LedgerEntry(key=key, kind=LedgerKind.ADJUST_IN, quantity=diff, price=fill_px, fee=ZERO, ts=ts)
        )
    elif diff < ZERO:
        slots.append_leg(book, slot, LedgerKind.ADJUST_OUT, key, -diff, slot.entry_price, ZERO, ts, "RECONCILE", "")
    if target == ZERO:
        if slot.ledger.entry_quantity == ZERO:
            slots.finish_idle(book, slot)
        else:
            slots.close(book, slot, ts, "RECONCILE")
        return diff
    if slot.state is SlotState.ENTRY_WORKING:
        slot.state = OPEN
    slots.report_entry(book, slot, ts)
    if slot.state is OPEN and slot.exit_order is not None and slot.exit_order.is_active:
        slot.state = SlotState.EXIT_WORKING
    facts.position_state(book, slot, ts)
    return diff


def restore_slot(book: BookState, snapshot: RestoredSlot, ts: int | None) -> Decision:
    when = snapshot.opened_ts if ts is None else ts
    inst = snapshot.instrument_id
    spec = book.specs.get(inst)
    problems = restored_slot_problems(snapshot, book.specs.keys() & {inst})
    if problems:
        return facts.refuse(book, Code.INVALID_RESTORE, when, "; ".join(problems), inst, trade_id=snapshot.trade_id)
    live = book.live.get(inst)
    if live is not None:
        return facts.refuse(book, Code.SLOT_BUSY, when, f"trade {live.trade_id} already live", inst, slot=live)
    assert spec is not None  # restored_slot_problems rejects an unknown instrument
    slot = TradeSlot(
        trade_id=snapshot.trade_id,
        coid_token=coid_token(snapshot.trade_id),
        spec=spec,
        side=Side(snapshot.side),
        opened_ts=snapshot.opened_ts,
    )
    _restored_ledger(slot, snapshot)
    slot.prior_legs = snapshot.legs
    slot.bars_held = snapshot.bars_held
    slot.order_seq = snapshot.order_seq
    slot.seq = snapshot.seq or 0
    slot.entry_reported = True
    slot.state = OPEN
    slot.last_price = snapshot.entry_price
    slots.retire_last(book, inst)
    book.live[inst] = slot
    book.reconciling.pop(inst, None)
    facts.position_state(book, slot, when)
    return Decision(outcome=book_outcome(Code.OK, f"restored {snapshot.trade_id}"))


def _restored_ledger(slot: TradeSlot, snapshot: RestoredSlot) -> None:
    entry_qty = snapshot.entry_quantity if snapshot.entry_quantity is not None else snapshot.quantity
    exited = entry_qty - snapshot.quantity
    key = f"restore:{snapshot.trade_id}"
    slot.ledger.append(
        LedgerEntry(
            key=key + ":entry",
            kind=LedgerKind.RESTORE_ENTRY,
            quantity=entry_qty,
            price=snapshot.entry_price,
            fee=snapshot.fees,
            ts=snapshot.opened_ts,
        )
    )
    if exited > ZERO or snapshot.realized_pnl != ZERO:
        sign = 1 if slot.side is Side.LONG else -1
        implied_px = snapshot.entry_price + sign * snapshot.realized_pnl / exited if exited else snapshot.entry_price
        slot.ledger.append(
            LedgerEntry(
                key=key + ":exits",
                kind=LedgerKind.RESTORE_EXIT,
                quantity=exited,
                price=implied_px,
                fee=ZERO,
                realized_pnl=snapshot.realized_pnl,
                ts=snapshot.opened_ts,
            )
        )
