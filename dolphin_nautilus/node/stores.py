"""Open a node's stores from its config: ClickHouse (chDB or server), the journal, the live-state store.

The same wiring serves backtests and live nodes; only the config differs. Opening takes the namespace's
single-writer lease, so a second node of the same namespace fails here with a message naming the holder.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from dolphin_nautilus.config import Config, Secrets
from dolphin_nautilus.journal.store import ClickHouseStore, StoreConfig
from dolphin_nautilus.journal.writer import Journal, JournalConfig
from dolphin_nautilus.state import (
    HazelcastStateStore,
    HazelcastStoreConfig,
    LiveStateStore,
    LocalStateStore,
    SlotStateWriter,
)


class LeaseHeld(RuntimeError):
    pass


def node_id_for(config: Config) -> str:
    return f"{config.node.trader_id}@{socket.gethostname()}:{os.getpid()}"


def clickhouse_config(config: Config, state_dir: Path) -> StoreConfig:
    ch = config.clickhouse
    if ch.backend == "chdb":
        return StoreConfig(namespace=config.node.namespace, backend="chdb", chdb_path=str(state_dir / ch.path))
    return StoreConfig(namespace=config.node.namespace, backend="http", host=ch.host, port=ch.port,
                       username=ch.username, secure=ch.secure)


def open_live_state(config: Config, state_dir: Path) -> LiveStateStore:
    hz = config.hazelcast
    if hz.backend == "local":
        return LocalStateStore(state_dir / hz.path, config.node.namespace)
    return HazelcastStateStore(HazelcastStoreConfig(cluster_members=list(hz.members), cluster_name=hz.cluster_name),
                               config.node.namespace)


class Stores:
    """Everything a node persists to. `close()` flushes the journal and releases the lease."""

    def __init__(self, config: Config, state_dir: Path, *, node_id: str | None = None) -> None:
        self.config = config
        self.state_dir = state_dir
        self.node_id = node_id or node_id_for(config)
        self.live_state = open_live_state(config, state_dir)
        ttl = config.hazelcast.lease_ttl_s
        if not self.live_state.acquire_lease(self.node_id, ttl):
            holder = self.live_state.lease_holder()
            self.live_state.close()
            raise LeaseHeld(f"namespace '{config.node.namespace}' is held by another node ({holder}); "
                            f"it expires {ttl:.0f}s after that node stops renewing it")
        try:
            self.clickhouse = ClickHouseStore(clickhouse_config(config, state_dir))
        except Exception:
            self.live_state.release_lease(self.node_id)
            self.live_state.close()
            raise
        self.slot_writer = SlotStateWriter(self.live_state, self.node_id, lease_ttl_s=ttl)
        journal_cfg = config.journal
        self.journal = Journal(
            self.clickhouse,
            JournalConfig(spool_dir=str(state_dir / journal_cfg.spool_dir), batch_size=journal_cfg.batch_size,
                          flush_interval=journal_cfg.flush_interval_s),
            sinks=[self.slot_writer.write_batch],
        )

    def close(self) -> None:
        try:
            self.journal.close()
        finally:
            self.clickhouse.close()
            self.live_state.release_lease(self.node_id)
            self.live_state.close()


def secrets() -> Secrets:
    return Secrets.from_env()
