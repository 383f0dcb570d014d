"""Live slot state: one store contract, a Hazelcast and a file-backed implementation, and the fact writer."""

from dolphin_nautilus.state.hazelcast_store import HazelcastStateStore, HazelcastStoreConfig
from dolphin_nautilus.state.local import LocalStateStore
from dolphin_nautilus.state.store import (
    LeaseLost,
    LiveEntries,
    LiveStateStore,
    MalformedEntry,
    NotLeaseHolder,
    StateStoreError,
    StateUnavailable,
    lease_map_name,
    state_map_name,
)
from dolphin_nautilus.state.writer import ACCOUNT_KEY, HEARTBEAT_KEY, SlotStateWriter

__all__ = [
    "ACCOUNT_KEY",
    "HEARTBEAT_KEY",
    "HazelcastStateStore",
    "HazelcastStoreConfig",
    "LeaseLost",
    "LiveEntries",
    "LiveStateStore",
    "MalformedEntry",
    "LocalStateStore",
    "NotLeaseHolder",
    "SlotStateWriter",
    "StateStoreError",
    "StateUnavailable",
    "lease_map_name",
    "state_map_name",
]
