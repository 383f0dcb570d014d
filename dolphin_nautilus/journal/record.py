"""A journal record: how a batch of facts travels from the trading process to the store service and lies in the WAL.

Format: a msgpack array of `[table, fact]` pairs, each fact the msgspec map of its struct. The trading
process encodes a batch once (`encode_record`); the store service appends those bytes to its WAL as they are
and reads each fact's own bytes back out of the record (`split_record`) to derive its `row_id` and decode it
for the ClickHouse insert, never encoding it again. An object that cannot be encoded travels as
`[REJECTED_TABLE, UnencodableFact]`, so the service quarantines it: it is never dropped silently.

Records written before this format held each fact as msgpack bytes (a bin) inside the pair; `split_record`
reads those too, so a spool left by an older version replays after an upgrade.
"""

from __future__ import annotations

from collections.abc import Buffer, Iterable

import msgspec

REJECTED_TABLE = "!rejected"  # an entry the trading process could not encode: quarantined, never dropped
_BIN_MARKERS = frozenset({0xC4, 0xC5, 0xC6})  # msgpack bin 8/16/32: an older record's fact bytes


class UnencodableFact(msgspec.Struct, frozen=True):
    type_name: str
    text: str  # repr() of the object, cut
    error: str

    def describe(self) -> str:
        return f"<{self.type_name} from the trading process: {self.text}>"


_encoder = msgspec.msgpack.Encoder()
_pairs = msgspec.msgpack.Decoder(list[tuple[str, msgspec.Raw]])
_bin = msgspec.msgpack.Decoder(bytes)


def encode_record(facts: Iterable[object]) -> bytes:
    """One record for `facts`, in order; an object that cannot be encoded becomes an UnencodableFact entry."""
    facts = list(facts)
    try:
        return _encoder.encode([(fact.table, fact) for fact in facts])  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - find the bad ones; the rest go as usual
        return _encoder.encode([msgspec.Raw(_encode_pair(fact)) for fact in facts])


def pack_record(entries: Iterable[tuple[str, Buffer]]) -> bytes:
    """A record from already-encoded facts (their bytes are embedded, not encoded again)."""
    return _encoder.encode([(table, msgspec.Raw(blob)) for table, blob in entries])


def split_record(payload: bytes) -> list[tuple[str, bytes]]:
    """(table, the fact's own msgpack bytes) per entry, in order."""
    return [(table, bytes(blob)) for table, blob in split_record_views(payload)]


def split_record_views(payload: bytes) -> list[tuple[str, Buffer]]:
    """`split_record` without copies: each fact's bytes are a view into `payload` (an older record's, bytes)."""
    pairs = _pairs.decode(payload)
    if not any(memoryview(raw)[0] in _BIN_MARKERS for _, raw in pairs):
        return pairs  # type: ignore[return-value]
    return [(table, _bin.decode(raw) if memoryview(raw)[0] in _BIN_MARKERS else raw) for table, raw in pairs]


def _encode_pair(fact: object) -> bytes:
    try:
        return _encoder.encode((fact.table, fact))  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001
        try:
            text = repr(fact)[:2000]
        except Exception:  # noqa: BLE001
            text = f"<unprintable {type(fact).__name__}>"
        return _encoder.encode(
            (REJECTED_TABLE, UnencodableFact(type(fact).__name__, text, f"{type(exc).__name__}: {exc}"))
        )
