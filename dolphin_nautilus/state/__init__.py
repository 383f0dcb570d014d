"""Live slot state: one store contract, a Hazelcast and a file-backed implementation, the fact writer and the
lease keeper (the single renewer of the namespace's writer lease).

`HazelcastStateStore` is imported from `state.hazelcast_store` itself: the package does not load the Hazelcast
client, which a trading process whose stores run in the store service never needs."""

from dolphin_nautilus.state.hazelcast_config import HazelcastStoreConfig
from dolphin_nautilus.state.lease import HEARTBEAT_KEY, LeaseKeeper, LeaseStatus
from dolphin_nautilus.state.local import LocalStateStore
from dolphin_nautilus.state.store import (
    LeaseHeld,
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
from dolphin_nautilus.state.writer import ACCOUNT_KEY, SlotStateWriter

__all__ = [
    "ACCOUNT_KEY",
    "HEARTBEAT_KEY",
    "HazelcastStoreConfig",
    "LeaseHeld",
    "LeaseKeeper",
    "LeaseLost",
    "LeaseStatus",
    "LiveEntries",
    "LiveStateStore",
    "LocalStateStore",
    "MalformedEntry",
    "NotLeaseHolder",
    "SlotStateWriter",
    "StateStoreError",
    "StateUnavailable",
    "lease_map_name",
    "state_map_name",
]
