"""The live-state store contract (DESIGN.md §4 "Hazelcast: live state").

One namespace's live slot state: a map of key -> JSON object, stored as canonical JSON (sorted keys) so
compare-and-set compares bytes, guarded by a single-writer lease. Two implementations share this contract:
`HazelcastStateStore` (live) and `LocalStateStore` (file-backed, for backtests and single machines).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from dolphin_nautilus.domain.facts import canonical_json


class StateStoreError(Exception):
    """Base of the live-state store errors."""


class NotLeaseHolder(StateStoreError):
    """A write was attempted by a store that does not hold the namespace's writer lease."""


class LeaseLost(NotLeaseHolder):
    """The lease this store held expired or was taken over; it must re-acquire before writing."""


class LeaseHeld(StateStoreError):
    """Another node holds the namespace's writer lease: this one must not open the namespace's stores."""


class StateUnavailable(StateStoreError):
    """The backing store could not be reached within the operation timeout."""


def state_map_name(namespace: str) -> str:
    return f"DOLPHIN_STATE_{_checked_namespace(namespace).upper()}"


def lease_map_name(namespace: str) -> str:
    return f"DOLPHIN_LEASE_{_checked_namespace(namespace).upper()}"


def _checked_namespace(namespace: str) -> str:
    if not namespace or not namespace.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"namespace must be a non-empty alphanumeric name, got {namespace!r}")
    return namespace


def encode_value(value: Mapping) -> str:
    """Canonical JSON of a state value; equal values give equal bytes."""
    if not isinstance(value, Mapping):
        raise TypeError(f"state values are JSON objects (dict), got {type(value).__name__}")
    return canonical_json(dict(value))


def decode_value(text: str) -> dict:
    return json.loads(text)


@runtime_checkable
class LiveStateStore(Protocol):
    namespace: str

    def get(self, key: str) -> dict | None: ...

    def entries(self) -> dict[str, dict]: ...

    def put(self, key: str, value: dict) -> None: ...

    def remove(self, key: str) -> None: ...

    def write_many(self, changes: Mapping[str, dict | None]) -> None:
        """Apply puts (dict) and removes (None) as one batch."""
        ...

    def compare_and_set(self, key: str, expected: dict | None, new: dict | None) -> bool: ...

    def acquire_lease(self, holder_id: str, ttl_s: float) -> bool: ...

    def renew_lease(self, holder_id: str, ttl_s: float) -> bool: ...

    def release_lease(self, holder_id: str) -> None: ...

    def lease_holder(self) -> str | None: ...

    def close(self) -> None: ...
