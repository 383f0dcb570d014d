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
from dolphin_nautilus.contracts.restore import RESTORED_TRADE_FIELDS, RestoredFill, RestoredSlot

from .slots import FillLedger, LedgerEntry, LedgerKind

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


FILL_KINDS = {"ENTRY": LedgerKind.ENTRY, "EXIT": LedgerKind.EXIT}
# The journal keeps Decimal(38,18): an average price or a leg's PnL worked out from one comes back rounded there.
FOLD_TOLERANCE = Decimal("1e-12")


def ledger_from_fills(fills: list[RestoredFill]) -> FillLedger:
    """The fill ledger the trade had, rebuilt from its persisted fills (raises ValueError on a bad fill)."""
    ledger = FillLedger()
    for fill in fills:
        kind = FILL_KINDS.get(fill.kind)
        if kind is None:
            raise ValueError(f"fill {fill.key}: kind {fill.kind!r} is not ENTRY or EXIT")
        for name in ("quantity", "price"):
            value = getattr(fill, name)
            if not (isinstance(value, Decimal) and value.is_finite() and value > ZERO):
                raise ValueError(f"fill {fill.key}: {name} {value} is not a finite positive number")
        if not (_finite(fill.fee) and _finite(fill.realized_pnl)):
            raise ValueError(f"fill {fill.key}: fee {fill.fee} or pnl {fill.realized_pnl} is not finite")
        ledger.append(
            LedgerEntry(
                key=fill.key,
                kind=kind,
                quantity=fill.quantity,
                price=fill.price,
                fee=fill.fee,
                realized_pnl=fill.realized_pnl if kind is LedgerKind.EXIT else ZERO,
                ts=fill.ts,
                client_order_id=fill.client_order_id,
                reason=fill.reason,
            )
        )
    if ledger.exit_quantity > ledger.entry_quantity:
        raise ValueError(f"exits {ledger.exit_quantity} exceed entries {ledger.entry_quantity}")
    return ledger


def fold_disagreements(snapshot: RestoredSlot, fills: list[RestoredFill]) -> dict[str, str]:
    """Where the fold of `fills` differs from the snapshot: {field: "snapshot X, fills Y"}; empty when they agree.
    Never raises: fills that cannot be folded disagree under the key `fills`."""
    if not fills:
        return {"fills": "no persisted fills"}
    try:
        ledger = ledger_from_fills(fills)
    except (ValueError, ArithmeticError, TypeError) as exc:
        return {"fills": str(exc)}
    folded = {
        "quantity": ledger.remaining,
        "entry_price": ledger.avg_entry_price,
        "fees": ledger.fees,
        "realized_pnl": ledger.realized_pnl,
    }
    found = {
        name: f"snapshot {getattr(snapshot, name)}, fills {value}"
        for name, value in folded.items()
        if not _close(getattr(snapshot, name), value)
    }
    if ledger.leg_count != snapshot.legs:
        found["legs"] = f"snapshot {snapshot.legs}, fills {ledger.leg_count}"
    if snapshot.entry_quantity is not None and not _close(snapshot.entry_quantity, ledger.entry_quantity):
        found["entry_quantity"] = f"snapshot {snapshot.entry_quantity}, fills {ledger.entry_quantity}"
    return found


def _close(a: object, b: Decimal) -> bool:
    if not (_finite(a) and b.is_finite()):
        return False
    assert isinstance(a, Decimal)
    return (a - b).copy_abs() <= FOLD_TOLERANCE * max(Decimal(1), b.copy_abs())


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


__all__ = [
    "RESTORED_TRADE_FIELDS",
    "RestorableRecord",
    "RestoredFill",
    "RestoredSlot",
    "fold_disagreements",
    "ledger_from_fills",
    "restored_slot_problems",
]
