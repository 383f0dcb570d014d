"""The live signal map a node reads when `strategy.signal_source = "hazelcast"` (read-only for the node).

Hazelcast backend: map `DOLPHIN_SIGNALS_<NS>`, entries keyed by instrument id, values JSON objects
`{"target": -1..1, "strength": 0..1, "ts": ns}` written by the external model.
Local backend: the same entries in `<state_dir>/<hazelcast.path>/<ns>.signals.json` (one JSON object).
Both give `read(known_instruments) -> SignalRead`, what `LiveStateSignalActor` polls: every entry is parsed
on its own (docs/signals.md), so one bad entry never hides another; the file's size is checked before it is
read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import hazelcast

from dolphin_nautilus.config import Config
from dolphin_nautilus.domain.signal_entries import (
    SignalRead,
    parse_signal_document,
    parse_signal_entries,
    source_too_large,
)


def signals_map_name(namespace: str) -> str:
    return f"DOLPHIN_SIGNALS_{namespace.upper()}"


class FileSignalMap:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, known_instruments: Iterable[str]) -> SignalRead:
        """A missing file is no targets yet; an oversized one is not read at all."""
        try:
            too_large = source_too_large(self.path.stat().st_size)
            if too_large is not None:
                return SignalRead(targets={}, rejections=(too_large,))
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return SignalRead(targets={})
        return parse_signal_document(raw, known_instruments)

    def close(self) -> None:
        pass


class HazelcastSignalMap:
    def __init__(self, members: list[str], cluster_name: str, namespace: str, *, timeout_s: float = 5.0) -> None:
        self._client = hazelcast.HazelcastClient(
            cluster_members=list(members),
            cluster_name=cluster_name,
            cluster_connect_timeout=timeout_s,
            invocation_timeout=timeout_s,
        )
        self._map: Any = self._client.get_map(signals_map_name(namespace)).blocking()

    def read(self, known_instruments: Iterable[str]) -> SignalRead:
        """Each value (JSON text) is decoded and checked on its own."""
        return parse_signal_entries(list(self._map.entry_set()), known_instruments)

    def entries(self) -> dict[str, Any]:
        """The raw entries, each JSON value decoded on its own (an undecodable one is kept as its text)."""
        return {key: _decoded(value) for key, value in self._map.entry_set()}

    def close(self) -> None:
        self._client.shutdown()


def _decoded(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def open_signal_map(config: Config, state_dir: Path) -> FileSignalMap | HazelcastSignalMap:
    hz = config.hazelcast
    if hz.backend == "local":
        return FileSignalMap(state_dir / hz.path / f"{config.node.namespace}.signals.json")
    return HazelcastSignalMap(list(hz.members), hz.cluster_name, config.node.namespace)
