"""Turns trade-book facts into live-state entries (docs/design.md §4), one store batch per call.

Entries: one per OPEN slot keyed by trade_id (the PositionState snapshot, Decimals as strings) and `account`
(the latest CapitalUpdate). A CLOSED/TOMBSTONED snapshot, or an OPEN one with zero size (a fully retracted
trade), removes the slot's entry: a zero-size OPEN entry is never written. The lease and the `heartbeat`
entry are the `LeaseKeeper`'s alone (state/lease.py). Meant to run on the journal's writer thread; it is not
thread-safe itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from dolphin_nautilus.domain.facts import CapitalUpdate, Fact, PositionState
from dolphin_nautilus.state.lease import HEARTBEAT_KEY
from dolphin_nautilus.state.store import LiveStateStore

ACCOUNT_KEY = "account"
RESERVED_KEYS = frozenset({ACCOUNT_KEY, HEARTBEAT_KEY})
OPEN = "OPEN"
FINAL_STATUSES = frozenset({"CLOSED", "TOMBSTONED"})


class SlotStateWriter:
    def __init__(self, store: LiveStateStore) -> None:
        self.store = store
        self._latest_seq: dict[str, int] = {}

    def write_batch(self, facts: Iterable[Fact]) -> dict[str, dict | None]:
        """Apply a batch; returns the changes written (key -> entry, None for a removal).

        The whole batch is validated first, so bad input raises ValueError and writes nothing.
        Facts other than PositionState/CapitalUpdate are ignored; a snapshot older (lower seq) than one
        already written for its trade is skipped.
        """
        facts = list(facts)
        for fact in facts:
            _validate(fact)
        changes: dict[str, dict | None] = {}
        for fact in facts:
            if isinstance(fact, PositionState):
                if fact.seq <= self._latest_seq.get(fact.trade_id, -1):
                    continue
                self._latest_seq[fact.trade_id] = fact.seq
                changes[fact.trade_id] = slot_entry(fact)
            elif isinstance(fact, CapitalUpdate):
                changes[ACCOUNT_KEY] = account_entry(fact)
        if changes:
            self.store.write_many(changes)
        return changes


def slot_entry(fact: PositionState) -> dict | None:
    """The entry for a snapshot, or None when the slot must not exist (closed or zero size)."""
    if fact.status in FINAL_STATUSES or fact.quantity <= 0 or fact.notional <= 0:
        return None
    return msgspec.to_builtins(fact)  # Decimals become strings


def account_entry(fact: CapitalUpdate) -> dict:
    return msgspec.to_builtins(fact)


def _validate(fact: Fact) -> None:
    if isinstance(fact, PositionState):
        if fact.trade_id in RESERVED_KEYS or not fact.trade_id:
            raise ValueError(f"trade_id {fact.trade_id!r} is empty or a reserved live-state key")
        if fact.status != OPEN and fact.status not in FINAL_STATUSES:
            raise ValueError(f"trade {fact.trade_id}: unknown position status {fact.status!r}")
        _require_finite(fact, ("quantity", "notional", "entry_price", "realized_pnl", "fees"))
    elif isinstance(fact, CapitalUpdate):
        _require_finite(fact, ("total", "free", "locked", "delta"))


def _require_finite(fact: Fact, fields: tuple[str, ...]) -> None:
    for name in fields:
        value = getattr(fact, name)
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"{type(fact).__name__}.{name} must be a finite Decimal, got {value!r}")
