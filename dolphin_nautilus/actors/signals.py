"""`DolphinSignal`, the custom data type that drives the strategy, and the actors that publish it.

Every source publishes the same type on the same topic, and the strategy has one handler for it, so a
reference model, a signal file (backtests) and a live-state map (live) all reach the book through one path:

- reference: the strategy runs `ReferenceSignalModel` on its own bars (no extra actor, cheapest per bar);
- file: `SignalFileActor` replays a CSV (`ts, instrument_id, target[, strength]`) as bars pass its times;
- hazelcast: `LiveStateSignalActor` polls a live-state map (`DOLPHIN_SIGNALS_<NS>` entries
  `{"target": .., "strength": .., "ts": ..}` keyed by instrument id) every `poll_interval_s`.
"""

# No `from __future__ import annotations` here: @customdataclass reads the field annotations as real types.
import csv
import math
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.identifiers import InstrumentId

from dolphin_nautilus.resources import resources_for

_DEFAULT_ID = InstrumentId.from_str("BTC-USDT-PERP.BINGX")


class SignalEntries(Protocol):
    """The live signal map as this actor reads it (the node's signal map, or any store with `entries()`)."""

    def entries(self) -> Mapping[str, Any]: ...


@customdataclass
class DolphinSignal(Data):
    instrument_id: InstrumentId = _DEFAULT_ID
    target: float = 0.0  # signed exposure in [-1, 1]: fraction of the trade notional, sign = direction
    strength: float = 1.0  # the source's confidence in [0, 1], recorded with the intent
    source: str = "reference"


# The strategy subscribes to contracts.topics.SIGNAL_TOPIC; a test proves it is this type's Nautilus topic.


class SignalFormatError(ValueError):
    pass


def read_signal_file(path: str | Path) -> list[tuple[int, str, float, float]]:
    """Rows (ts_ns, instrument_id, target, strength), sorted by time. A bad row is an error naming the line."""
    rows: list[tuple[int, str, float, float]] = []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"ts", "instrument_id", "target"} - set(reader.fieldnames or [])
        if missing:
            raise SignalFormatError(f"{path}: missing column(s) {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                ts = int(row["ts"])
                target = float(row["target"])
                strength = float(row.get("strength") or 1.0)
                InstrumentId.from_str(row["instrument_id"])
            except (TypeError, ValueError) as exc:
                raise SignalFormatError(f"{path}: line {line}: {exc}") from None
            if not (math.isfinite(target) and -1.0 <= target <= 1.0):
                raise SignalFormatError(f"{path}: line {line}: target {target} is not within [-1, 1]")
            rows.append((ts, row["instrument_id"], target, strength))
    rows.sort(key=lambda r: r[0])
    return rows


class SignalFileActorConfig(ActorConfig, frozen=True):
    path: str
    bar_types: list[str]


class SignalFileActor(Actor):
    """Publishes file signals when the data clock passes their timestamps (same in backtest and live)."""

    def __init__(self, config: SignalFileActorConfig) -> None:
        super().__init__(config)
        self._rows = read_signal_file(config.path)
        self._next = 0

    def on_start(self) -> None:
        for bar_type in self.config.bar_types:
            self.subscribe_bars(BarType.from_str(bar_type))

    def on_bar(self, bar: Bar) -> None:
        rows, now = self._rows, bar.ts_event
        while self._next < len(rows) and rows[self._next][0] <= now:
            ts, instrument_id, target, strength = rows[self._next]
            self._next += 1
            self.publish_data(
                DataType(DolphinSignal),
                DolphinSignal(
                    instrument_id=InstrumentId.from_str(instrument_id),
                    target=target,
                    strength=strength,
                    source="file",
                    ts_event=ts,
                    ts_init=now,
                ),
            )


class LiveStateSignalActorConfig(ActorConfig, frozen=True):
    namespace: str  # whose registered resources hold the signal map (dolphin_nautilus.resources)
    poll_interval_s: float = 1.0


class LiveStateSignalActor(Actor):
    """Polls a signal map for targets written by an external model and publishes changes."""

    def __init__(self, config: LiveStateSignalActorConfig) -> None:
        super().__init__(config)
        self._store: SignalEntries | None = None  # the node's signal map, from the registered resources
        self._seen: dict[str, tuple] = {}
        self.bad_entries = 0

    def on_start(self) -> None:
        self._store = resources_for(self.config.namespace).signal_map
        self.clock.set_timer(
            "dolphin-signal-poll", timedelta(seconds=self.config.poll_interval_s), callback=lambda _event: self.poll()
        )

    def on_stop(self) -> None:
        self.clock.cancel_timers()

    def poll(self) -> None:
        if self._store is None:  # the namespace registered no signal map: nothing to read, said each round
            self.log.warning("signal map unavailable: none is registered for this namespace")
            return
        try:
            entries = self._store.entries()
        except Exception as exc:  # noqa: BLE001 - a store outage must not stop the node; it is retried
            self.log.warning(f"signal map unavailable: {exc}")
            return
        for instrument_id, value in entries.items():
            try:
                key = (float(value["target"]), float(value.get("strength", 1.0)), int(value.get("ts", 0)))
                iid = InstrumentId.from_str(instrument_id)
                if not (math.isfinite(key[0]) and -1.0 <= key[0] <= 1.0):
                    raise ValueError(f"target {key[0]} not within [-1, 1]")
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self.bad_entries += 1
                self.log.warning(f"ignored malformed signal entry {instrument_id!r}: {exc}")
                continue
            if self._seen.get(instrument_id) == key:
                continue
            self._seen[instrument_id] = key
            now = self.clock.timestamp_ns()
            self.publish_data(
                DataType(DolphinSignal),
                DolphinSignal(
                    instrument_id=iid, target=key[0], strength=key[1], source="hazelcast", ts_event=now, ts_init=now
                ),
            )
