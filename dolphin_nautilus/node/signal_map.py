"""The live signal map a node reads when `strategy.signal_source = "hazelcast"` (read-only for the node).

Hazelcast backend: map `DOLPHIN_SIGNALS_<NS>`, entries keyed by instrument id, values JSON objects
`{"target": -1..1, "strength": 0..1, "ts": ns}` written by the external model.
Local backend: the same entries in `<state_dir>/<hazelcast.path>/<ns>.signals.json` (one JSON object).
Both give `entries() -> dict[str, dict]`, what `LiveStateSignalActor` polls.
"""

from __future__ import annotations

import json
from pathlib import Path

import hazelcast

from dolphin_nautilus.config import Config


def signals_map_name(namespace: str) -> str:
    return f"DOLPHIN_SIGNALS_{namespace.upper()}"


class FileSignalMap:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

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
        self._map = self._client.get_map(signals_map_name(namespace)).blocking()

    def entries(self) -> dict[str, dict]:
        return {key: json.loads(value) if isinstance(value, str) else value for key, value in self._map.entry_set()}

    def close(self) -> None:
        self._client.shutdown()


def open_signal_map(config: Config, state_dir: Path) -> FileSignalMap | HazelcastSignalMap:
    hz = config.hazelcast
    if hz.backend == "local":
        return FileSignalMap(state_dir / hz.path / f"{config.node.namespace}.signals.json")
    return HazelcastSignalMap(list(hz.members), hz.cluster_name, config.node.namespace)
