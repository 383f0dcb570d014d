"""Open a node's stores: ClickHouse (chDB or server), the Journal, the live-state store and the namespace's lease.

The entry point for the node assembly (and backtests, tools, tests) is

    stores = open_stores(spec, secrets, node_id=..., mode="process")

with a `StoresSpec` and `StoreSecrets` (`stores.spec`: plain structs; the TOML config is mapped to them
above this layer, in `node.stores`). Opening takes the namespace's single-writer lease, so a second node
of the same namespace fails here with `LeaseHeld` naming the holder.

Every store write has one owner, a `stores.owner.StoreOwner`: the lease, its single renewer and the
heartbeat, the Journal and its live-state sink, and the live-state writes others ask for.
`mode="process"` (the default) runs it in a store-service child process (`stores.service`), so chDB never
loads into the trading process and the writer never competes with the engine for the GIL; `.journal`,
`.clickhouse` and `.live_state` are then proxies (`stores.remote`), and `lease_status()` asks the service.
`mode="inline"` runs the owner in this process (one-process tools and tests).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dolphin_nautilus.journal.settings import JournalStatus
from dolphin_nautilus.state.lease import LeaseStatus
from dolphin_nautilus.stores.remote import (
    RemoteJournal,
    RemoteJournalStatus,
    RemoteLiveState,
    RemoteStoreReader,
)
from dolphin_nautilus.stores.service_client import ServiceClient
from dolphin_nautilus.stores.spec import StoreSecrets, StoresSpec
from dolphin_nautilus.stores.wire import ServiceSpec

if TYPE_CHECKING:
    from dolphin_nautilus.stores.owner import StoreOwner

StoresMode = Literal["process", "inline"]
SPILL_DIR = "trading-process-spill"  # inside the journal's spool dir: the trading process's own spill WAL


def default_node_id(trader_id: str) -> str:
    """A lease holder id for this process: trader, host and pid."""
    return f"{trader_id}@{socket.gethostname()}:{os.getpid()}"


class Stores:
    """Everything a node persists to. `close()` flushes the journal, then gives the lease back."""

    def __init__(
        self,
        spec: StoresSpec,
        *,
        node_id: str,
        journal: Any,
        clickhouse: Any,
        live_state: Any,
        owner: StoreOwner | None = None,
    ) -> None:
        self.spec = spec
        self.node_id = node_id
        self.state_dir = Path(spec.state_dir)
        self.journal = journal
        self.clickhouse = clickhouse
        self.live_state = live_state
        self._owner = owner

    @property
    def mode(self) -> StoresMode:
        return "inline" if self._owner is not None else "process"

    def lease_status(self) -> LeaseStatus:
        """Whether this node holds the namespace's lease (asked of the store service in process mode)."""
        if self._owner is not None:
            return self._owner.lease_status()
        return self.live_state.lease_status()

    def close(self) -> JournalStatus | RemoteJournalStatus:
        if self._owner is not None:
            return self._owner.close()
        return self.journal.close()  # closes the service, which closes the stores and gives the lease back


def open_stores(
    spec: StoresSpec,
    secrets: StoreSecrets | None = None,
    *,
    node_id: str,
    mode: StoresMode = "process",
    start_timeout_s: float = 120.0,
) -> Stores:
    """Open the stores of `spec` under the lease holder id `node_id`. Raises LeaseHeld (naming the holder),
    StoreBusy (the chDB path is another process's), StoreUnavailable, StateUnavailable, ..."""
    if mode not in ("process", "inline"):
        raise ValueError(f"Stores mode must be 'process' or 'inline', got {mode!r}")
    secrets = secrets or StoreSecrets()
    if mode == "inline":
        # Heavy (the ClickHouse and Hazelcast clients): only a process that owns its stores loads it.
        from dolphin_nautilus.stores.owner import StoreOwner

        owner = StoreOwner(spec, secrets, node_id)
        return Stores(
            spec,
            node_id=node_id,
            journal=owner.journal,
            clickhouse=owner.clickhouse,
            live_state=owner.live_state,
            owner=owner,
        )
    service = ServiceClient(ServiceSpec(stores=spec, secrets=secrets, node_id=node_id), start_timeout=start_timeout_s)
    try:
        journal = RemoteJournal(
            service, spill_dir=os.path.join(spec.journal.spool_dir, SPILL_DIR), batch_size=spec.journal.batch_size
        )
    except BaseException:
        service.close()
        raise
    return Stores(
        spec,
        node_id=node_id,
        journal=journal,
        clickhouse=RemoteStoreReader(service, spec.namespace),
        live_state=RemoteLiveState(service, spec.namespace),
    )


__all__ = ["SPILL_DIR", "Stores", "StoresMode", "default_node_id", "open_stores"]
