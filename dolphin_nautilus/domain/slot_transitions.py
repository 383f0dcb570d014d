"""Slot transitions (docs/design.md §3): IDLE -> ENTRY_WORKING -> OPEN -> EXIT_WORKING -> CLOSED, plus
STALE_STATE_RECONCILING, which remembers where a reconcile returns to (`resume_state`).

Also where new slots and new orders are born, so every client order id is minted in one place.
"""

from __future__ import annotations

from decimal import Decimal

from . import book_facts as facts
from .book_state import BookState
from .decisions import OrderToSend
from .identifiers import client_order_id_for, coid_token, trade_id_for
from .instruments import InstrumentSpec
from .order_records import OrderRecord, OrderSide, Purpose
from .slots import LedgerEntry, LedgerKind, Side, SlotState, TradeSlot

ZERO = Decimal(0)
MAX_LINGERING_ORDERS = 32  # orders of earlier trades that may still act, kept per instrument
OPEN, EXIT_WORKING, STALE = SlotState.OPEN, SlotState.EXIT_WORKING, SlotState.STALE_STATE_RECONCILING


def new_slot(book: BookState, spec: InstrumentSpec, side: Side, ts: int) -> TradeSlot:
    book.trade_counter += 1
    trade_id = trade_id_for(book.namespace, spec.instrument_id, ts, book.trade_counter)
    last = book.last.get(spec.instrument_id)
    while last is not None and last.trade_id == trade_id:  # never reuse the previous trade's ids
        book.trade_counter += 1
        trade_id = trade_id_for(book.namespace, spec.instrument_id, ts, book.trade_counter)
    return TradeSlot(trade_id=trade_id, coid_token=coid_token(trade_id), spec=spec, side=side, opened_ts=ts)


def new_order(
    book: BookState,
    slot: TradeSlot,
    purpose: Purpose,
    side: OrderSide,
    qty: Decimal,
    px: Decimal,
    reason: str,
    ts: int,
) -> OrderToSend:
    """Mint the next client order id of the slot: never reused, not even for an order never placed, and never
    one of a previous life (the id carries this life's start epoch, whatever sequence a restore brought back)."""
    slot.order_seq += 1
    letter = "e" if purpose is Purpose.ENTRY else "x"
    coid = client_order_id_for(book.client_order_prefix, slot.coid_token, letter, book.id_epoch, slot.order_seq)
    record = OrderRecord(
        client_order_id=coid, slot=slot, side=side, quantity=qty, price=px, purpose=purpose, reason=reason
    )
    book.orders[coid] = record
    slot.order_ids.append(coid)
    if purpose is Purpose.ENTRY:
        slot.entry_order = record
    else:
        slot.exit_order = record
    facts.order_event(book, record, "SUBMITTED", ts, reason)
    return OrderToSend(
        client_order_id=coid,
        instrument_id=slot.instrument_id,
        trade_id=slot.trade_id,
        side=side,
        quantity=qty,
        price=px,
        reduce_only=record.reduce_only,
        purpose=purpose,
        reason=reason,
    )


def set_state(slot: TradeSlot, state: SlotState) -> None:
    """Move the slot, or, while it is reconciling, where the reconcile will return it to."""
    if slot.state is STALE:
        slot.resume_state = state
    else:
        slot.state = state


def make_stale(slot: TradeSlot) -> None:
    if slot.state is not STALE and slot.is_live:
        slot.resume_state = slot.state
        slot.state = STALE


def order_gone(book: BookState, record: OrderRecord, ts: int) -> None:
    """An order stopped working without (more) fills: canceled, expired, denied, or never placed."""
    slot = record.slot
    if record.purpose is Purpose.ENTRY:
        if slot.entry_order is record and slot.is_live:
            entry_finished(book, slot, ts)
    elif slot.exit_order is record:
        slot.exit_order = None
        if slot.state is EXIT_WORKING or (slot.state is STALE and slot.resume_state is EXIT_WORKING):
            set_state(slot, OPEN)


def exit_not_sent(slot: TradeSlot, record: OrderRecord) -> None:
    """A definitive exit reject: the position stays, the slot stays EXIT_WORKING without a working exit,
    so the next exit decision (or max-hold on the next bar) sends a new one."""
    if slot.exit_order is record:
        slot.exit_order = None


def withdraw_entry(book: BookState, record: OrderRecord) -> None:
    """An entry that was never placed and never filled: the instrument returns exactly to where it was
    before the intent (no live slot, the previous finished trade still the latest). Ids are not reused."""
    slot = record.slot
    inst = slot.instrument_id
    if book.live.get(inst) is slot:
        del book.live[inst]
    slot.state = SlotState.IDLE
    previous = book.withdrawn_entry.get(inst)
    if previous is not None and previous != record.client_order_id:
        book.orders.pop(previous, None)
    book.withdrawn_entry[inst] = record.client_order_id


def entry_finished(book: BookState, slot: TradeSlot, ts: int) -> None:
    """The entry order stopped working: OPEN with what filled, or IDLE if nothing did."""
    if slot.ledger.entry_quantity == ZERO:
        if slot.state is not STALE:
            finish_idle(book, slot)
        return
    if slot.state is SlotState.ENTRY_WORKING:
        slot.state = OPEN
    elif slot.state is STALE and slot.resume_state is SlotState.ENTRY_WORKING:
        slot.resume_state = OPEN
    report_entry(book, slot, ts)
    facts.position_state(book, slot, ts)


def report_entry(book: BookState, slot: TradeSlot, ts: int) -> None:
    if not slot.entry_reported:
        slot.entry_reported = True
        facts.trade_entry(book, slot, ts)


def append_leg(
    book: BookState,
    slot: TradeSlot,
    kind: LedgerKind,
    key: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    ts: int,
    reason: str,
    client_order_id: str,
    excess: Decimal = ZERO,
) -> None:
    """Append one exit leg (an exit fill or a reconcile reduction) and queue its row."""
    avg = slot.ledger.avg_entry_price
    gross = (px - avg) * qty if slot.side is Side.LONG else (avg - px) * qty
    # A reduction we did not see fill has an unknown PnL, booked 0 (capital stays exact from the venue account).
    pnl = ZERO if kind is LedgerKind.ADJUST_OUT else gross
    entry = LedgerEntry(
        key=key,
        kind=kind,
        quantity=qty,
        price=px,
        fee=fee,
        realized_pnl=pnl,
        ts=ts,
        client_order_id=client_order_id,
        reason=reason,
        excess=excess,
    )
    slot.ledger.append(entry)
    facts.exit_leg(book, slot, entry)


def close(book: BookState, slot: TradeSlot, ts: int, reason: str) -> None:
    """The position is gone: CLOSED, exactly once."""
    if slot.state is SlotState.CLOSED:
        return
    slot.state = SlotState.CLOSED
    slot.exit_reason = reason
    slot.exit_order = None
    facts.position_state(book, slot, ts, closed=True)
    facts.trade_closed(book, slot, ts, reason)
    retire(book, slot)


def finish_idle(book: BookState, slot: TradeSlot) -> None:
    slot.state = SlotState.IDLE
    retire(book, slot)


def retire(book: BookState, slot: TradeSlot) -> None:
    inst = slot.instrument_id
    if book.live.get(inst) is slot:
        del book.live[inst]
    retire_last(book, inst)
    book.last[inst] = slot


def retire_last(book: BookState, instrument_id: str) -> None:
    """Forget the previous finished trade's orders that can no longer act (bounded memory; their late events
    become unknown). An order that may still act at the venue (in flight, working, or settled by a reconcile
    without a venue answer) is kept until it ends, so the book recognises every order it sent while it can
    still fill or be answered (at most MAX_LINGERING_ORDERS per instrument, the newest)."""
    candidates = book.lingering.pop(instrument_id, [])
    old = book.last.pop(instrument_id, None)
    if old is not None:
        candidates.extend(old.order_ids)
    withdrawn = book.withdrawn_entry.pop(instrument_id, None)
    if withdrawn is not None:
        candidates.append(withdrawn)
    keep = [coid for coid in candidates if (r := book.orders.get(coid)) is not None and r.may_still_act]
    keep = keep[-MAX_LINGERING_ORDERS:]
    kept = set(keep)
    for coid in candidates:
        if coid not in kept:
            book.orders.pop(coid, None)
    if keep:
        book.lingering[instrument_id] = keep
