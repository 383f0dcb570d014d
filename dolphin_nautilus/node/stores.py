"""Open a node's stores from its config: ClickHouse (chDB or server), the journal, the live-state store.

The same wiring serves backtests and live nodes; only the config differs. Opening takes the namespace's
single-writer lease, so a second node of the same namespace fails here with a message naming the holder.

`mode="process"` (the default) runs ClickHouse, the Journal's writer and the live-state sink in a store
service child process (`journal.service`), so chDB never loads into the trading process and the writer
never competes with the engine for the GIL; `.journal` / `.clickhouse` are then its proxies
(`journal.remote`). `mode="inline"` runs them all in this process.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Literal

from dolphin_nautilus.config import Config
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


def journal_config(config: Config, state_dir: Path) -> JournalConfig:
    journal = config.journal
    return JournalConfig(spool_dir=str(state_dir / journal.spool_dir), batch_size=journal.batch_size,
                         flush_interval=journal.flush_interval_s)


def open_live_state(config: Config, state_dir: Path) -> LiveStateStore:
    hz = config.hazelcast
    if hz.backend == "local":
        return LocalStateStore(state_dir / hz.path, config.node.namespace)
    return HazelcastStateStore(HazelcastStoreConfig(cluster_members=list(hz.members), cluster_name=hz.cluster_name),
                               config.node.namespace)


class Stores:
    """Everything a node persists to. `close()` flushes the journal and releases the lease."""

    def __init__(self, config: Config, state_dir: Path, *, node_id: str | None = None,
                 mode: Literal["process", "inline"] = "process") -> None:
        if mode not in ("process", "inline"):
            raise ValueError(f"Stores mode must be 'process' or 'inline', got {mode!r}")
        self.config = config
        self.state_dir = state_dir
        self.mode = mode
        self.node_id = node_id or node_id_for(config)
        self.live_state = open_live_state(config, state_dir)
        ttl = config.hazelcast.lease_ttl_s
        if not self.live_state.acquire_lease(self.node_id, ttl):
            holder = self.live_state.lease_holder()
            self.live_state.close()
            raise LeaseHeld(f"namespace '{config.node.namespace}' is held by another node ({holder}); "
                            f"it expires {ttl:.0f}s after that node stops renewing it")
        try:
            if mode == "process":
                self._open_service(config, state_dir)
            else:
                self._open_inline(config, state_dir)
        except BaseException:
            self.live_state.release_lease(self.node_id)
            self.live_state.close()
            raise
        # This process holds the lease and renews it even while no facts flow (the writer renews on batches).
        self._stop_renewing = threading.Event()
        self._renewer = threading.Thread(target=self._renew_lease, args=(ttl,), name="lease-renewer", daemon=True)
        self._renewer.start()

    def _open_inline(self, config: Config, state_dir: Path) -> None:
        self.clickhouse = ClickHouseStore(clickhouse_config(config, state_dir))
        self.slot_writer = SlotStateWriter(self.live_state, self.node_id, lease_ttl_s=config.hazelcast.lease_ttl_s)
        self.journal = Journal(self.clickhouse, journal_config(config, state_dir), sinks=[self.slot_writer.write_batch])

    def _open_service(self, config: Config, state_dir: Path) -> None:
        from dolphin_nautilus.journal.remote import open_store_service
        from dolphin_nautilus.journal.service import ServiceSpec

        spec = ServiceSpec(config=config, state_dir=str(Path(state_dir).resolve()), node_id=self.node_id)
        self.journal, self.clickhouse = open_store_service(spec, batch_size=config.journal.batch_size)

    def _renew_lease(self, ttl: float) -> None:
        while not self._stop_renewing.wait(ttl / 3):
            try:
                self.live_state.renew_lease(self.node_id, ttl)
            except Exception:  # noqa: BLE001 - the next round retries; a lost lease surfaces on writes
                pass

    def close(self) -> None:
        self._stop_renewing.set()
        self._renewer.join()
        try:
            self.journal.close()
        finally:
            self.clickhouse.close()
            self.live_state.release_lease(self.node_id)
            self.live_state.close()

