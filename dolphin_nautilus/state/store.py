"""The live-state store contract (docs/design.md §4 "Hazelcast: live state").

One namespace's live slot state: a map of key -> JSON object, stored as canonical JSON (sorted keys) so
compare-and-set compares bytes, guarded by a single-writer lease. Two implementations share this contract:
`HazelcastStateStore` (live) and `LocalStateStore` (file-backed, for backtests and single machines).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import msgspec

from dolphin_nautilus.domain.facts import canonical_json

EXCERPT_CHARS = 300


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


class MalformedValue(StateStoreError):
    """A stored value is not a JSON object (hand-edited, truncated, or written by another tool)."""


class MalformedEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One live-state entry that could not be decoded: its key, why, and the start of its raw value."""

    key: str
    reason: str
    excerpt: str


class LiveEntries(msgspec.Struct, frozen=True, kw_only=True):
    """Every entry of a map, decoded one by one: a malformed value is listed, never fatal to the others."""

    entries: dict[str, dict]
    malformed: tuple[MalformedEntry, ...] = ()


def decode_value(text: Any) -> dict:
    """A stored value as a JSON object; `MalformedValue` when it is not one."""
    if isinstance(text, Mapping):  # a hand-edited local file may hold the object itself
        return dict(text)
    if not isinstance(text, str | bytes | bytearray):
        raise MalformedValue(f"value is a {type(text).__name__}, not JSON text")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedValue(f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedValue(f"value is a JSON {type(value).__name__}, not an object")
    return value


def decode_entries(pairs: Iterable[tuple[Any, Any]]) -> LiveEntries:
    """Decode each (key, value) on its own, so one bad value never hides the rest of the map."""
    entries: dict[str, dict] = {}
    malformed: list[MalformedEntry] = []
    for key, value in pairs:
        key_text = key if isinstance(key, str) else repr(key)
        try:
            entries[key_text] = decode_value(value)
        except MalformedValue as exc:
            malformed.append(MalformedEntry(key=key_text, reason=str(exc), excerpt=_excerpt(value)))
    return LiveEntries(entries=entries, malformed=tuple(malformed))


def _excerpt(value: Any) -> str:
    text = (
        value.decode("utf-8", "replace")
        if isinstance(value, bytes | bytearray)
        else (value if isinstance(value, str) else repr(value))
    )
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


@runtime_checkable
class LiveStateStore(Protocol):
    namespace: str

    def get(self, key: str) -> dict | None: ...

    def entries(self) -> dict[str, dict]:
        """The well-formed entries (a malformed value is left out: `read_entries` lists it)."""
        ...

    def read_entries(self) -> LiveEntries:
        """Every entry decoded on its own, with the malformed ones listed by key."""
        ...

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
