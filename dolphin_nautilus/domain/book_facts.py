"""Fact builders: the journal rows the book queues (docs/design.md §4), and refusals that become anomalies.

A zero-size OPEN `PositionState` can never be built here: an OPEN snapshot needs size > 0 and notional > 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .book_state import BookState
from .decisions import Decision
from .diagnostics import Code, Severity, book_outcome
from .facts import (
    Anomaly,
    FillFact,
    OrderEvent,
    PositionState,
    TradeClosed,
    TradeEntry,
    TradeExitLeg,
    canonical_json,
)
from .order_records import OrderRecord
from .slots import LedgerEntry, TradeSlot

ZERO = Decimal(0)


def position_state(book: BookState, slot: TradeSlot, ts: int, *, closed: bool = False) -> None:
    """Snapshot the slot; nothing for an OPEN slot without size or notional (the close path writes CLOSED)."""
    if closed:
        quantity = notional = ZERO
    else:
        quantity = slot.ledger.remaining
        notional = slot.ledger.notional
        if quantity <= ZERO or notional <= ZERO:
            return
    slot.seq += 1
    ledger = slot.ledger
    book.facts.append(
        PositionState(
            ts=ts,
            origin=book.origin,
            trade_id=slot.trade_id,
            instrument_id=slot.instrument_id,
            side=slot.side,
            status="CLOSED" if closed else "OPEN",
            quantity=quantity,
            notional=notional,
            entry_price=ledger.avg_entry_price,
            bars_held=slot.bars_held,
            realized_pnl=ledger.realized_pnl,
            fees=ledger.fees,
            legs=slot.leg_count,
            seq=slot.seq,
            opened_ts=slot.opened_ts,
            order_seq=slot.order_seq,
        )
    )


def order_event(book: BookState, record: OrderRecord, event: str, ts: int, reason: str = "") -> None:
    """One row of the journal's `orders` table for a lifecycle event of an order the book created."""
    book.facts.append(
        OrderEvent(
            ts=ts,
            origin=book.origin,
            client_order_id=record.client_order_id,
            venue_order_id=record.venue_order_id,
            trade_id=record.trade_id,
            instrument_id=record.instrument_id,
            side=record.side,
            type="MARKET",
            quantity=record.quantity,
            price=record.price,
            reduce_only=record.reduce_only,
            event=event,
            reason=reason,
        )
    )


def fill_fact(
    book: BookState,
    record: OrderRecord | None,
    client_order_id: str,
    venue_trade_id: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    ts: int,
    liquidity: str,
    instrument_id: str,
) -> None:
    book.facts.append(
        FillFact(
            ts=ts,
            origin=book.origin,
            venue_trade_id=venue_trade_id,
            client_order_id=client_order_id,
            venue_order_id=record.venue_order_id if record else "",
            trade_id=record.trade_id if record else "",
            instrument_id=record.instrument_id if record else instrument_id,
            side=record.side if record else "",
            quantity=qty,
            price=px,
            fee=fee,
            liquidity=liquidity,
        )
    )


def trade_entry(book: BookState, slot: TradeSlot, ts: int) -> None:
    ledger = slot.ledger
    entry = slot.entry_order
    book.facts.append(
        TradeEntry(
            ts=ts,
            origin=book.origin,
            trade_id=slot.trade_id,
            instrument_id=slot.instrument_id,
            side=slot.side,
            quantity=ledger.entry_quantity,
            price=ledger.avg_entry_price,
            notional=ledger.entry_value,
            fee=ledger.entry_fees,
            client_order_id=entry.client_order_id if entry else "",
        )
    )


def exit_leg(book: BookState, slot: TradeSlot, entry: LedgerEntry) -> None:
    """The leg `entry` (just appended to the slot's ledger) as a `trade_exit_legs` row."""
    remaining = slot.ledger.remaining
    book.facts.append(
        TradeExitLeg(
            ts=entry.ts,
            origin=book.origin,
            trade_id=slot.trade_id,
            instrument_id=slot.instrument_id,
            leg_no=slot.leg_count,
            reason=entry.reason,
            quantity=entry.quantity,
            price=entry.price,
            notional=entry.quantity * entry.price,
            realized_pnl=entry.realized_pnl,
            fee=entry.fee,
            remaining_quantity=remaining,
            is_final=remaining == ZERO,
            client_order_id=entry.client_order_id,
            venue_trade_id=entry.key,
        )
    )


def trade_closed(book: BookState, slot: TradeSlot, ts: int, reason: str) -> None:
    ledger = slot.ledger
    exit_avg = ledger.exit_value / ledger.exit_quantity if ledger.exit_quantity else ZERO
    book.facts.append(
        TradeClosed(
            ts=ts,
            origin=book.origin,
            trade_id=slot.trade_id,
            instrument_id=slot.instrument_id,
            side=slot.side,
            entry_avg_px=ledger.avg_entry_price,
            exit_avg_px=exit_avg,
            quantity=ledger.entry_quantity,
            realized_pnl=ledger.realized_pnl,
            fees=ledger.fees,
            net_pnl=ledger.realized_pnl - ledger.fees,
            bars_held=slot.bars_held,
            legs=slot.leg_count,
            exit_reason=reason,
            opened_ts=slot.opened_ts,
        )
    )


def refuse(
    book: BookState,
    code: Code,
    ts: int,
    message: str,
    instrument_id: str = "",
    *,
    slot: TradeSlot | None = None,
    severity: Severity | None = None,
    **details: Any,
) -> Decision:
    """A decision with no order; outcomes at WARNING or above also become Anomaly facts."""
    result = book_outcome(code, message, severity, **details)
    if result.severity >= Severity.WARNING:
        book.facts.append(
            Anomaly(
                ts=ts,
                origin=book.origin,
                code=code.value,
                severity=str(result.severity),
                trade_id=slot.trade_id if slot else "",
                instrument_id=slot.instrument_id if slot else instrument_id,
                message=message,
                details=canonical_json(details),
            )
        )
    return Decision(outcome=result)


def unknown_order(
    book: BookState, client_order_id: str, ts: int, event: str, reason: str = "", instrument_id: str = ""
) -> Decision:
    return refuse(
        book,
        Code.UNKNOWN_CLIENT_ORDER,
        ts,
        f"{event} for unknown client order id {client_order_id}",
        instrument_id,
        client_order_id=client_order_id,
        event=event,
        reason=reason,
    )
