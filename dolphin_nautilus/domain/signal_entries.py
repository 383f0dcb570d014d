"""The live signal source, parsed entry by entry (docs/signals.md). Pure: no I/O, no Nautilus.

A signal source is a map keyed by instrument id (the Hazelcast map `DOLPHIN_SIGNALS_<NS>`, or the local file
`<ns>.signals.json` holding one JSON object). Each value is an object `{"target": -1..1, "strength": 0..1,
"ts": ns}`. Every entry is validated on its own, so one bad entry never blocks another; the whole source is
validated for shape (a JSON object) and size. Each rejection carries a fault code from the domain taxonomy.
`RejectionMemory` tells which rejections are new since the last poll, so each is logged once per change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from .diagnostics import Code

# A source of a few hundred instruments is a few tens of kB; beyond 1 MB it is not a signal map.
MAX_SIGNAL_SOURCE_BYTES = 1_000_000
MAX_TS_NS = 2**63 - 1  # Nautilus timestamps are uint64 ns; our facts int64
EXCERPT_CHARS = 200


class SignalTarget(msgspec.Struct, frozen=True, kw_only=True):
    """One validated entry: the target exposure for one instrument."""

    instrument_id: str
    target: float  # signed exposure in [-1, 1]
    strength: float = 1.0  # the source's confidence in [0, 1]
    ts: int = 0  # the writer's timestamp (ns); 0 when not given. It marks a change, it does not expire.


class SignalRejection(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # the instrument id (map key) the entry was written under; "" for the whole source
    code: Code
    reason: str
    excerpt: str


class SignalRead(msgspec.Struct, frozen=True, kw_only=True):
    targets: dict[str, SignalTarget]
    rejections: tuple[SignalRejection, ...] = ()


def _excerpt(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: EXCERPT_CHARS * 4]).decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = msgspec.json.encode(value, enc_hook=repr).decode()
        except Exception:  # noqa: BLE001 - an excerpt never fails
            text = repr(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def _shown(value: Any) -> str:
    """A field value for a reason: its repr, short (and never the digits of a giant int)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def _number(value: Any) -> float | None:
    """A JSON number (or numeric text) as a float; None for bools, objects, unparseable text, overflow."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range: not a sane number
            return None
    if isinstance(value, float):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_signal_entry(key: Any, value: Any, known_instruments: Iterable[str]) -> SignalTarget | SignalRejection:
    """One entry: the key must be a known instrument id, the value an object (or its JSON text) with a finite
    target in [-1, 1], an optional finite strength in [0, 1] (default 1) and an optional ts in [0, 2**63)
    ns (default 0). Never raises."""
    key_text = key if isinstance(key, str) else _excerpt(key)

    def reject(code: Code, reason: str) -> SignalRejection:
        return SignalRejection(key=key_text, code=code, reason=reason, excerpt=_excerpt(value))

    known = known_instruments if isinstance(known_instruments, set | frozenset) else set(known_instruments)
    if not isinstance(key, str) or key not in known:
        return reject(Code.SIGNAL_UNKNOWN_INSTRUMENT, f"key {key_text!r} is not a configured instrument id")
    record = value
    if isinstance(value, str | bytes | bytearray):
        try:
            record = json.loads(value)
        except (ValueError, RecursionError) as exc:
            return reject(Code.SIGNAL_ENTRY_INVALID, f"value is not JSON: {exc}")
    if not isinstance(record, Mapping):
        return reject(Code.SIGNAL_ENTRY_INVALID, f"value is a {type(record).__name__}, not an object")
    if "target" not in record:
        return reject(Code.SIGNAL_ENTRY_INVALID, "no target")
    target = _number(record["target"])
    if target is None or not math.isfinite(target) or not -1.0 <= target <= 1.0:
        return reject(Code.SIGNAL_ENTRY_INVALID, f"target {_shown(record['target'])} is not a number in [-1, 1]")
    raw_strength = record.get("strength", 1.0)
    strength = _number(raw_strength)
    if strength is None or not math.isfinite(strength) or not 0.0 <= strength <= 1.0:
        return reject(Code.SIGNAL_ENTRY_INVALID, f"strength {_shown(raw_strength)} is not a number in [0, 1]")
    raw_ts = record.get("ts", 0)
    ts = _number(raw_ts)
    if ts is None or not math.isfinite(ts) or not 0 <= ts <= MAX_TS_NS or ts != int(ts):
        return reject(Code.SIGNAL_ENTRY_INVALID, f"ts {_shown(raw_ts)} is not an integer ns in [0, 2**63)")
    ts_ns = raw_ts if isinstance(raw_ts, int) and not isinstance(raw_ts, bool) else int(ts)
    return SignalTarget(instrument_id=key, target=target + 0.0, strength=strength, ts=min(ts_ns, MAX_TS_NS))


def parse_signal_entries(entries: Any, known_instruments: Iterable[str]) -> SignalRead:
    """A decoded source (a mapping, or (key, value) pairs as Hazelcast's entry_set gives): each entry on its
    own. A source that is not a map at all is one SIGNAL_SOURCE_INVALID rejection. Never raises."""
    known = frozenset(i for i in known_instruments if isinstance(i, str))
    if isinstance(entries, Mapping):
        pairs: Iterable[Any] = entries.items()
    elif isinstance(entries, list | tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in entries):
        pairs = entries
    else:
        return SignalRead(
            targets={},
            rejections=(
                SignalRejection(
                    key="",
                    code=Code.SIGNAL_SOURCE_INVALID,
                    excerpt=_excerpt(entries),
                    reason=f"the signal source is a {type(entries).__name__}, not an object keyed by instrument id",
                ),
            ),
        )
    targets: dict[str, SignalTarget] = {}
    rejections: list[SignalRejection] = []
    for key, value in pairs:
        parsed = parse_signal_entry(key, value, known)
        if isinstance(parsed, SignalTarget):
            targets[parsed.instrument_id] = parsed
        else:
            rejections.append(parsed)
    return SignalRead(targets=targets, rejections=tuple(rejections))


def source_too_large(size: int, max_bytes: int = MAX_SIGNAL_SOURCE_BYTES) -> SignalRejection | None:
    """Check a file's size BEFORE reading it: a rejection when it exceeds `max_bytes`."""
    if size <= max_bytes:
        return None
    return SignalRejection(
        key="",
        code=Code.SIGNAL_SOURCE_TOO_LARGE,
        excerpt="",
        reason=f"the signal source is {size} bytes, over the {max_bytes}-byte limit; not read",
    )


def parse_signal_document(
    raw: bytes | str, known_instruments: Iterable[str], max_bytes: int = MAX_SIGNAL_SOURCE_BYTES
) -> SignalRead:
    """The local signal file's content: size limit, JSON, top-level object, then each entry. Never raises."""
    too_large = source_too_large(len(raw), max_bytes)
    if too_large is not None:
        return SignalRead(targets={}, rejections=(too_large,))
    if isinstance(raw, str | bytes) and not raw.strip():
        return SignalRead(targets={})  # an empty file: no targets yet
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return SignalRead(
            targets={},
            rejections=(
                SignalRejection(
                    key="",
                    code=Code.SIGNAL_SOURCE_INVALID,
                    reason=f"the signal file is not JSON: {exc}",
                    excerpt=_excerpt(raw),
                ),
            ),
        )
    if not isinstance(document, dict):
        return SignalRead(
            targets={},
            rejections=(
                SignalRejection(
                    key="",
                    code=Code.SIGNAL_SOURCE_INVALID,
                    excerpt=_excerpt(raw),
                    reason=f"the signal file holds a JSON {type(document).__name__}, "
                    "not an object keyed by instrument id",
                ),
            ),
        )
    return parse_signal_entries(document, known_instruments)


class RejectionMemory:
    """Which rejections are new: a rejection is reported when it first appears or changes, not every poll.

    `fresh(read.rejections)` returns the rejections to log now; `counts` totals every rejection reported,
    by code (for `dolphin-ctl status`).
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[Code, str, str]] = {}
        self.counts: dict[str, int] = {}

    def fresh(self, rejections: Iterable[SignalRejection]) -> list[SignalRejection]:
        current = {r.key: (r.code, r.reason, r.excerpt) for r in rejections}
        new = [r for r in rejections if self._last.get(r.key) != (r.code, r.reason, r.excerpt)]
        self._last = current
        for r in new:
            self.counts[r.code.value] = self.counts.get(r.code.value, 0) + 1
        return new
