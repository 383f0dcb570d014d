"""Fill application: one venue execution into the slot's fill ledger. Idempotent by venue trade id (the
ledger remembers every id it has seen); never oversells, never flips (an exit fill is applied up to what
remains and the excess is recorded, not applied)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import book_facts as facts
from . import slot_transitions as slots
from .book_state import BookState
from .coercion import InvalidBookInput, to_decimal
from .decisions import OK_DECISION, Decision
from .diagnostics import Code
from .order_records import UNCONFIRMED_END_STATUSES, OrderRecord, OrderStatus, Purpose
from .order_transitions import settle_unknown
from .slots import LedgerEntry, LedgerKind, SlotState, TradeSlot

ZERO = Decimal(0)


def on_fill(
    book: BookState,
    client_order_id: str,
    venue_trade_id: str,
    quantity: Any,
    price: Any,
    fee: Any,
    ts: int,
    liquidity: str,
    instrument_id: str,
) -> Decision:
    try:
        qty = to_decimal("quantity", quantity)
        px = to_decimal("price", price)
        fee_d = to_decimal("fee", fee, positive=False)
    except InvalidBookInput as exc:
        return facts.refuse(book, Code.INVALID_INPUT, ts, str(exc), instrument_id, venue_trade_id=venue_trade_id)
    record = book.orders.get(client_order_id)
    if record is None:
        return _foreign_fill(book, client_order_id, venue_trade_id, qty, px, fee_d, ts, liquidity, instrument_id)
    slot = record.slot
    if slot.ledger.has(venue_trade_id):
        return facts.refuse(
            book,
            Code.DUPLICATE_EVENT,
            ts,
            f"fill {venue_trade_id} already applied",
            slot=slot,
            venue_trade_id=venue_trade_id,
        )
    facts.fill_fact(book, record, client_order_id, venue_trade_id, qty, px, fee_d, ts, liquidity, instrument_id)
    filled = record.filled_quantity + qty
    was_active = record.is_active
    was_unknown = record.status is OrderStatus.UNKNOWN
    if was_active or record.status in UNCONFIRMED_END_STATUSES:
        record.status = OrderStatus.FILLED if filled >= record.quantity else OrderStatus.PARTIALLY_FILLED
    facts.order_event(book, record, "FILLED" if filled >= record.quantity else "PARTIALLY_FILLED", ts)
    if was_unknown:
        settle_unknown(book, record)  # a fill proves the order was placed
    if not slot.is_live:
        return _fill_after_end(book, slot, record, venue_trade_id, qty, px, fee_d, ts)
    order_overfill = filled - record.quantity
    if record.purpose is Purpose.ENTRY:
        return _apply_entry_fill(book, slot, record, venue_trade_id, qty, px, fee_d, ts, order_overfill)
    return _apply_exit_fill(book, slot, record, venue_trade_id, qty, px, fee_d, ts, order_overfill, was_active)


def _fill_after_end(
    book: BookState,
    slot: TradeSlot,
    record: OrderRecord,
    venue_trade_id: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    ts: int,
) -> Decision:
    """The trade is CLOSED (or never opened): a slot closes exactly once, so the fill is recorded as seen
    but not applied, and the instrument goes to reconcile."""
    slot.ledger.append(
        LedgerEntry(
            key=venue_trade_id,
            kind=LedgerKind.UNAPPLIED,
            quantity=ZERO,
            price=px,
            fee=fee,
            ts=ts,
            client_order_id=record.client_order_id,
            excess=qty,
        )
    )
    book.reconciling[slot.instrument_id] = f"fill {venue_trade_id} after trade {slot.trade_id} finished"
    return facts.refuse(
        book,
        Code.FILL_AFTER_CLOSE,
        ts,
        f"fill {venue_trade_id} for finished trade {slot.trade_id}",
        slot=slot,
        venue_trade_id=venue_trade_id,
        quantity=qty,
        client_order_id=record.client_order_id,
    )


def _apply_entry_fill(
    book: BookState,
    slot: TradeSlot,
    record: OrderRecord,
    venue_trade_id: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    ts: int,
    order_overfill: Decimal,
) -> Decision:
    first = slot.ledger.entry_quantity == ZERO
    slot.ledger.append(
        LedgerEntry(
            key=venue_trade_id,
            kind=LedgerKind.ENTRY,
            quantity=qty,
            price=px,
            fee=fee,
            ts=ts,
            client_order_id=record.client_order_id,
        )
    )
    if first and not slot.entry_reported:
        slot.opened_ts = ts  # the position exists from its first fill
    if order_overfill > ZERO:
        slots.make_stale(slot)
        book.reconciling[slot.instrument_id] = f"entry {record.client_order_id} overfilled by {order_overfill}"
        facts.position_state(book, slot, ts)
        return facts.refuse(
            book,
            Code.OVERFILL_DETECTED,
            ts,
            f"entry overfilled by {order_overfill}",
            slot=slot,
            client_order_id=record.client_order_id,
            excess=order_overfill,
        )
    if record.status is OrderStatus.FILLED and slot.entry_order is record:
        slots.entry_finished(book, slot, ts)  # reports the entry and writes the OPEN snapshot
    else:
        facts.position_state(book, slot, ts)
    return OK_DECISION


def _apply_exit_fill(
    book: BookState,
    slot: TradeSlot,
    record: OrderRecord,
    venue_trade_id: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    ts: int,
    order_overfill: Decimal,
    was_active: bool,
) -> Decision:
    applied = min(qty, slot.ledger.remaining)
    excess = qty - applied
    is_working_exit = was_active and slot.exit_order is record
    slots.append_leg(
        book,
        slot,
        LedgerKind.EXIT,
        venue_trade_id,
        applied,
        px,
        fee,
        ts,
        record.reason,
        record.client_order_id,
        excess=excess,
    )
    if slot.ledger.remaining == ZERO:
        slots.close(book, slot, ts, record.reason)
    else:
        if slot.exit_order is record and record.status is OrderStatus.FILLED:
            slot.exit_order = None
            slots.set_state(slot, SlotState.OPEN)
        facts.position_state(book, slot, ts)
    if excess > ZERO or order_overfill > ZERO:
        worst = max(excess, order_overfill)
        why = f"exit {record.client_order_id} overfilled: applied {applied} of {qty}, excess {worst}"
        book.reconciling[slot.instrument_id] = why
        if not slot.closed:
            slots.make_stale(slot)
        return facts.refuse(
            book,
            Code.OVERFILL_DETECTED,
            ts,
            why,
            slot=slot,
            client_order_id=record.client_order_id,
            applied=applied,
            excess=excess,
            order_overfill=max(order_overfill, ZERO),
        )
    if not is_working_exit:
        return facts.refuse(
            book,
            Code.NO_ACTIVE_EXIT_ORDER,
            ts,
            f"fill on {record.client_order_id}, not the working exit; applied",
            slot=slot,
            client_order_id=record.client_order_id,
            venue_trade_id=venue_trade_id,
        )
    return OK_DECISION


def _foreign_fill(
    book: BookState,
    client_order_id: str,
    venue_trade_id: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    ts: int,
    liquidity: str,
    instrument_id: str,
) -> Decision:
    """A fill for an order the book did not create: record it, block the instrument for reconcile."""
    facts.fill_fact(book, None, client_order_id, venue_trade_id, qty, px, fee, ts, liquidity, instrument_id)
    if instrument_id in book.specs:
        book.reconciling[instrument_id] = f"foreign fill {venue_trade_id} ({client_order_id})"
        slot = book.live.get(instrument_id)
        if slot is not None:
            slots.make_stale(slot)
    return facts.unknown_order(book, client_order_id, ts, "FILLED", f"fill {venue_trade_id}", instrument_id)
