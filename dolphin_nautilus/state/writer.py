"""Turns trade-book facts into live-state entries (DESIGN.md §4), one store batch per call.

Entries: one per OPEN slot keyed by trade_id (the PositionState snapshot, Decimals as strings), `account`
(the latest CapitalUpdate) and `heartbeat` (ts, node id). A CLOSED/TOMBSTONED snapshot, or an OPEN one
with zero size (a fully retracted trade), removes the slot's entry: a zero-size OPEN entry is never written.
Meant to run on the journal's writer thread; it is not thread-safe itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec

from dolphin_nautilus.domain.facts import CapitalUpdate, Fact, PositionState
from dolphin_nautilus.state.store import LiveStateStore

ACCOUNT_KEY = "account"
HEARTBEAT_KEY = "heartbeat"
RESERVED_KEYS = frozenset({ACCOUNT_KEY, HEARTBEAT_KEY})
OPEN = "OPEN"
FINAL_STATUSES = frozenset({"CLOSED", "TOMBSTONED"})


class SlotStateWriter:
    def __init__(
        self,
        store: LiveStateStore,
        node_id: str,
        *,
        lease_ttl_s: float | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        """With `lease_ttl_s`, each batch renews the store's lease once a third of the TTL has passed."""
        self.store = store
        self.node_id = node_id
        self.lease_ttl_s = lease_ttl_s
        self._clock_ns = clock_ns
        self._last_renew = time.monotonic()
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
        changes[HEARTBEAT_KEY] = self._heartbeat_entry()
        self._renew_lease_if_due()
        self.store.write_many(changes)
        return changes

    def heartbeat(self) -> None:
        self._renew_lease_if_due()
        self.store.put(HEARTBEAT_KEY, self._heartbeat_entry())

    def _heartbeat_entry(self) -> dict:
        return {"node_id": self.node_id, "ts": self._clock_ns()}

    def _renew_lease_if_due(self) -> None:
        if self.lease_ttl_s is None or time.monotonic() - self._last_renew < self.lease_ttl_s / 3:
            return
        if self.store.renew_lease(self.node_id, self.lease_ttl_s):
            self._last_renew = time.monotonic()
        # A failed renewal surfaces as LeaseLost on the write that follows.


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
