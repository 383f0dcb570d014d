"""The one restored-slot type and the one validator for it (docs/design.md §5).

Restore's decision produces `RestoredSlot`s (with where each came from), the restore actor hands them to
the strategy through the cache as JSON, and `TradeBook.restore_slot` re-establishes each as an OPEN slot.
`restored_slot_problems` is the single rule set saying whether a record may come back: restore applies it
to every candidate record of a source, the book to what it is handed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

# The type itself is a contract (the restore hand-over carries it); the domain re-exports it beside its validator.
from dolphin_nautilus.contracts.restore import RESTORED_TRADE_FIELDS, RestoredSlot

ZERO = Decimal(0)
VALID_SIDES = frozenset({"LONG", "SHORT"})


class RestorableRecord(Protocol):
    """What the validator reads: a `RestoredSlot`, or a restore candidate record before it becomes one."""

    @property
    def trade_id(self) -> str: ...
    @property
    def instrument_id(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def entry_price(self) -> Decimal: ...


def restored_slot_problems(
    record: RestorableRecord, known_instruments: frozenset[str] | set[str], max_bars_held: int | None = None
) -> list[str]:
    """Why `record` cannot be restored as an open slot; empty when it can. Never raises."""
    found: list[str] = []
    if not record.trade_id:
        found.append("empty trade_id")
    notional = getattr(record, "notional", None)  # a RestoredSlot may not know it
    for name, value in (("quantity", record.quantity), ("notional", notional), ("entry_price", record.entry_price)):
        if name == "notional" and value is None:
            continue
        if not (isinstance(value, Decimal) and value.is_finite() and value > ZERO):
            found.append(f"{name} {value} is not a finite positive number")
    for name in ("realized_pnl", "fees"):
        if not _finite(getattr(record, name)):
            found.append(f"{name} {getattr(record, name)} is not finite")
    if record.side not in VALID_SIDES:
        found.append(f"side {record.side!r} is not LONG or SHORT")
    if record.instrument_id not in known_instruments:
        found.append(f"instrument {record.instrument_id!r} is not a known instrument")
    found += _counter_problems(record, max_bars_held)
    entry_quantity = getattr(record, "entry_quantity", None)
    if (
        entry_quantity is not None
        and _finite(record.quantity)
        and not (
            isinstance(entry_quantity, Decimal) and entry_quantity.is_finite() and entry_quantity >= record.quantity
        )
    ):
        found.append(f"entry_quantity {entry_quantity} is below the remaining {record.quantity}")
    return found


def _counter_problems(record: RestorableRecord, max_bars_held: int | None) -> list[str]:
    found = []
    bars_held = getattr(record, "bars_held", None)
    if not isinstance(bars_held, int) or bars_held < 0 or (max_bars_held is not None and bars_held > max_bars_held):
        found.append(f"bars_held {bars_held} outside 0..{'' if max_bars_held is None else max_bars_held}")
    for name in ("legs", "order_seq", "seq"):
        value = getattr(record, name, None)
        if value is not None and (not isinstance(value, int) or value < 0):
            found.append(f"{name} {value} is negative")
    return found


def _finite(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


__all__ = ["RESTORED_TRADE_FIELDS", "RestorableRecord", "RestoredSlot", "restored_slot_problems"]
