"""The one owner of a namespace's store writes: ClickHouse, the Journal, the live state and its lease.

`StoreOwner` runs in the store service child (`stores.service`) or, in inline mode, in the node's own
process; either way it is the only thing that writes the namespace's stores. Opening it takes the
namespace's writer lease first (a second node of the namespace fails with `LeaseHeld` naming the holder),
then ClickHouse; a failure after the lease gives the lease back. Its `LeaseKeeper` is the lease's single
renewer and the heartbeat's single writer; the Journal's live-state sink writes slots and the account. Its
`OpenSetCheckpointer` keeps restore's open-set checkpoint current (journal.open_set).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from dolphin_nautilus.domain.facts import Fact
from dolphin_nautilus.journal.open_set import OpenSetCheckpointer
from dolphin_nautilus.journal.settings import JournalStatus
from dolphin_nautilus.journal.store import ClickHouseStore
from dolphin_nautilus.journal.writer import Journal
from dolphin_nautilus.state import LeaseKeeper, LeaseStatus, LiveStateStore, LocalStateStore, SlotStateWriter
from dolphin_nautilus.state.hazelcast_store import HazelcastStateStore
from dolphin_nautilus.stores.spec import HazelcastStateSpec, StoreSecrets, StoresSpec

log = logging.getLogger(__name__)
CHECKPOINT_INTERVAL_S = 5.0  # restore reads at most this much journal history past the checkpoint


def open_live_state(spec: StoresSpec, secrets: StoreSecrets) -> LiveStateStore:
    """The namespace's live-state store (no lease taken): also what read-only tools open."""
    live = spec.live_state
    if isinstance(live, HazelcastStateSpec):
        return HazelcastStateStore(
            live.config, spec.namespace, username=live.username, password=secrets.hazelcast_password
        )
    return LocalStateStore(Path(live.path), spec.namespace)


class StoreOwner:
    def __init__(self, spec: StoresSpec, secrets: StoreSecrets, node_id: str) -> None:
        self.spec = spec
        self.node_id = node_id
        self.live_state = open_live_state(spec, secrets)
        try:
            self.lease = LeaseKeeper(self.live_state, node_id, spec.lease_ttl_s)
            self.lease.acquire()
            try:
                self.clickhouse = ClickHouseStore(spec.clickhouse, password=secrets.clickhouse_password)
            except BaseException:
                self.lease.stop(release=True)
                raise
        except BaseException:
            self.live_state.close()
            raise
        slot_writer = SlotStateWriter(self.live_state)

        def write_slots(facts: Sequence[Fact]) -> None:  # the Journal's sink: what was written is not needed
            slot_writer.write_batch(facts)

        self.journal = Journal(self.clickhouse, spec.journal, sinks=[write_slots])
        self.checkpointer = OpenSetCheckpointer(self.clickhouse, CHECKPOINT_INTERVAL_S)
        self.lease.start()
        self._closed: JournalStatus | None = None

    def lease_status(self) -> LeaseStatus:
        return self.lease.status()

    def close(self) -> JournalStatus:
        """Write everything to the WAL (and ClickHouse when it is up), then stop renewing and give the lease
        back: the writes it guarded are over. Idempotent."""
        if self._closed is not None:
            return self._closed
        try:
            self._closed = self.journal.close()
            self.checkpointer.close()  # after the journal's last insert: the next restore reads only it
        finally:
            try:
                self.clickhouse.close()
            finally:
                self.lease.stop(release=True)
                self.live_state.close()
        return self._closed
