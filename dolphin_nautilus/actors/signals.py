"""`DolphinSignal`, the custom data type that drives the strategy, and the actors that publish it.

Every source publishes the same type on the same topic, and the strategy has one handler for it, so a
reference model, a signal file (backtests) and a live-state map (live) all reach the book through one path:

- reference: the strategy runs `ReferenceSignalModel` on its own bars (no extra actor, cheapest per bar);
- file: `SignalFileActor` replays a CSV (`ts, instrument_id, target[, strength]`) as bars pass its times;
- hazelcast: `LiveStateSignalActor` polls a live-state map (`DOLPHIN_SIGNALS_<NS>` entries
  `{"target": .., "strength": .., "ts": ..}` keyed by instrument id) every `poll_interval_s`.

Every entry (CSV row, map entry) is checked on its own (domain.signal_entries), so one bad entry never blocks
another. Each rejection is logged once per change with its fault code on the `dolphin` JSON log (at WARNING,
whatever Nautilus's own log level), and counted; the live actor publishes the counts under
`contracts.signals.SIGNAL_REJECTIONS_CACHE_KEY` for `dolphin-ctl status`.
"""

# No `from __future__ import annotations` here: @customdataclass reads the field annotations as real types.
import csv
import logging
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.identifiers import InstrumentId

from dolphin_nautilus.contracts.signals import (
    SIGNAL_REJECTIONS_CACHE_KEY,
    CurrentRejection,
    SignalRejections,
    encode_signal_rejections,
)
from dolphin_nautilus.domain.signal_entries import (
    RejectionMemory,
    SignalRead,
    SignalRejection,
    SignalTarget,
    parse_signal_entry,
)
from dolphin_nautilus.logs import log_event, node_logger
from dolphin_nautilus.resources import resources_for

_jlog = node_logger("signals")


def log_rejections(rejections: Iterable[SignalRejection], source: str) -> None:
    """One JSON log line per rejection, with its fault code (callers pass only the new ones)."""
    for rejection in rejections:
        where = f"entry {rejection.key!r}" if rejection.key else "the signal source"
        log_event(
            _jlog,
            logging.WARNING,
            "signal_rejected",
            f"{source} signal: {where} ignored: {rejection.reason}",
            code=rejection.code.value,
            key=rejection.key,
            excerpt=rejection.excerpt,
            source=source,
        )


_DEFAULT_ID = InstrumentId.from_str("BTC-USDT-PERP.BINGX")


class SignalSource(Protocol):
    """The live signal map as this actor reads it (node.signal_map: the local file or the Hazelcast map)."""

    def read(self, known_instruments: Iterable[str]) -> SignalRead: ...


@customdataclass
class DolphinSignal(Data):
    instrument_id: InstrumentId = _DEFAULT_ID
    target: float = 0.0  # signed exposure in [-1, 1]: fraction of the trade notional, sign = direction
    strength: float = 1.0  # the source's confidence in [0, 1], recorded with the intent
    source: str = "reference"


# The strategy subscribes to contracts.topics.SIGNAL_TOPIC; a test proves it is this type's Nautilus topic.


class SignalFormatError(ValueError):
    pass


def read_signal_file(
    path: str | Path, known_instruments: Iterable[str]
) -> tuple[list[tuple[int, str, float, float]], list[SignalRejection]]:
    """Rows (ts_ns, instrument_id, target, strength), sorted by time, and the rejected rows (each checked on its
    own: a bad row is one rejection naming its line). A file without the required columns is an error."""
    known = frozenset(known_instruments)
    rows: list[tuple[int, str, float, float]] = []
    rejected: list[SignalRejection] = []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"ts", "instrument_id", "target"} - set(reader.fieldnames or [])
        if missing:
            raise SignalFormatError(f"{path}: missing column(s) {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            entry = {"target": row.get("target"), "ts": row.get("ts")}
            if row.get("strength"):
                entry["strength"] = row["strength"]
            parsed = parse_signal_entry(row.get("instrument_id"), entry, known)
            if isinstance(parsed, SignalTarget):
                rows.append((parsed.ts, parsed.instrument_id, parsed.target, parsed.strength))
            else:
                rejected.append(
                    SignalRejection(
                        key=f"{parsed.key} (line {line})",
                        code=parsed.code,
                        reason=parsed.reason,
                        excerpt=parsed.excerpt,
                    )
                )
    rows.sort(key=lambda r: r[0])
    return rows, rejected


class SignalFileActorConfig(ActorConfig, frozen=True):
    path: str
    bar_types: list[str]


class SignalFileActor(Actor):
    """Publishes file signals when the data clock passes their timestamps (same in backtest and live)."""

    def __init__(self, config: SignalFileActorConfig) -> None:
        super().__init__(config)
        known = [BarType.from_str(bar_type).instrument_id.value for bar_type in config.bar_types]
        self._rows, self.rejections = read_signal_file(config.path, known)
        self._next = 0

    def on_start(self) -> None:
        log_rejections(self.rejections, "file")
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
    instrument_ids: list[str]  # the keys a signal entry may have (strategy.instruments)
    poll_interval_s: float = 1.0


class LiveStateSignalActor(Actor):
    """Polls a signal map for targets written by an external model and publishes changes."""

    def __init__(self, config: LiveStateSignalActorConfig) -> None:
        super().__init__(config)
        self._store: SignalSource | None = None  # the node's signal map, from the registered resources
        self._known = frozenset(config.instrument_ids)
        self._seen: dict[str, tuple[float, float, int]] = {}
        self._memory = RejectionMemory()
        self._unavailable = ""  # the last "unavailable" reason logged (logged once per change)

    @property
    def rejection_counts(self) -> dict[str, int]:
        return dict(self._memory.counts)

    def on_start(self) -> None:
        self._store = resources_for(self.config.namespace).signal_map
        self.clock.set_timer(
            "dolphin-signal-poll", timedelta(seconds=self.config.poll_interval_s), callback=lambda _event: self.poll()
        )

    def on_stop(self) -> None:
        self.clock.cancel_timers()

    def _source_unavailable(self, why: str) -> None:
        self.log.warning(f"signal map unavailable: {why}")
        if why != self._unavailable:
            self._unavailable = why
            log_event(_jlog, logging.WARNING, "signal_source_unavailable", f"signal map unavailable: {why}")

    def poll(self) -> None:
        if self._store is None:  # the namespace registered no signal map: nothing to read, said each round
            self._source_unavailable("none is registered for this namespace")
            return
        try:
            read = self._store.read(self._known)
        except Exception as exc:  # noqa: BLE001 - a store outage must not stop the node; it is retried
            self._source_unavailable(f"{type(exc).__name__}: {exc}")
            return
        self._unavailable = ""
        self._report(read)
        for iid, target in read.targets.items():
            key = (target.target, target.strength, target.ts)
            if self._seen.get(iid) == key:
                continue
            self._seen[iid] = key
            now = self.clock.timestamp_ns()
            self.publish_data(
                DataType(DolphinSignal),
                DolphinSignal(
                    instrument_id=InstrumentId.from_str(iid),
                    target=target.target,
                    strength=target.strength,
                    source="hazelcast",
                    ts_event=now,
                    ts_init=now,
                ),
            )

    def _report(self, read: SignalRead) -> None:
        fresh = self._memory.fresh(read.rejections)
        if fresh:
            log_rejections(fresh, "hazelcast")
            for rejection in fresh:
                self.log.warning(f"signal rejected [{rejection.code.value}] {rejection.key!r}: {rejection.reason}")
        report = SignalRejections(
            counts=dict(self._memory.counts),
            current=[CurrentRejection(key=r.key, code=r.code.value, reason=r.reason) for r in read.rejections],
            updated_ns=self.clock.timestamp_ns(),
        )
        self.cache.add(SIGNAL_REJECTIONS_CACHE_KEY, encode_signal_rejections(report))
