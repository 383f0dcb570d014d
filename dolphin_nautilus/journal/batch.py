"""What the journal writer accepts in one batch: the WAL records for the drained facts and received records, and
each accepted fact's table, own msgpack bytes and object, grouped into the per-table rows of the insert.

A fact's bytes are read back out of its encoded WAL record as a view (`msgspec.Raw`), never encoded a second time and
never copied: the row id hashes that view (`store.row_ids_from_blobs`), so it is the same id the fact's own
`row_id` gives. What cannot be encoded or decoded is handed to `reject` one by one; the rest goes on.
"""

from __future__ import annotations

from collections.abc import Buffer, Callable

import msgspec

from dolphin_nautilus.domain.facts import FACT_TYPE_BY_TABLE, Fact
from dolphin_nautilus.journal.record import REJECTED_TABLE, UnencodableFact, pack_record, split_record_views
from dolphin_nautilus.journal.store import FACTS_PER_CALL, row_ids_from_blobs

Reject = Callable[[str, int, object, str], None]  # table, row id, the object or a text standing for it, error
TableRows = tuple[list[int], list[Fact]]  # row ids and facts, in append order
Rows = dict[str, TableRows]

_fact_encoder = msgspec.msgpack.Encoder()
_fact_decoders = {table: msgspec.msgpack.Decoder(t) for table, t in FACT_TYPE_BY_TABLE.items()}
_unencodable_decoder = msgspec.msgpack.Decoder(UnencodableFact)
_record_pairs = msgspec.msgpack.Decoder(list[tuple[str, msgspec.Raw]])
_KNOWN_TABLES = frozenset(_fact_decoders)


class EncodedRecord:
    """A batch encoded by another process (`journal.record`), travelling through the writer's FIFO in order."""

    __slots__ = ("count", "payload")

    def __init__(self, payload: bytes, count: int) -> None:
        self.payload = payload
        self.count = count


class Entries:
    """Accepted facts in order, as three parallel lists: table, the fact's msgpack bytes, the fact."""

    __slots__ = ("blobs", "facts", "tables")

    def __init__(self, tables: list[str] | None = None, blobs: list[Buffer] | None = None, facts: list | None = None):
        self.tables: list[str] = tables or []
        self.blobs: list[Buffer] = blobs or []
        self.facts: list[Fact] = facts or []

    def __len__(self) -> int:
        return len(self.facts)

    def add(self, table: str, blob: Buffer, fact: Fact) -> None:
        self.tables.append(table)
        self.blobs.append(blob)
        self.facts.append(fact)

    def extend(self, other: Entries) -> None:
        self.tables += other.tables
        self.blobs += other.blobs
        self.facts += other.facts

    def rows(self) -> Rows:
        """Row ids and facts per table, each table's in append order."""
        tables = self.tables
        if not tables:
            return {}
        first = tables[0]
        if tables.count(first) == len(tables):  # one table: no regrouping
            return {first: (row_ids_from_blobs(first, self.blobs), self.facts)}
        groups: dict[str, tuple[list[Buffer], list[Fact]]] = {}
        for table, blob, fact in zip(tables, self.blobs, self.facts, strict=True):
            group = groups.get(table)
            if group is None:
                group = groups[table] = ([], [])
            group[0].append(blob)
            group[1].append(fact)
        return {table: (row_ids_from_blobs(table, blobs), facts) for table, (blobs, facts) in groups.items()}


def decode_fact(table: str, blob: Buffer) -> Fact:
    return _fact_decoders[table].decode(blob)


def stored_rows(payload: bytes) -> Rows:
    """The rows of a WAL record read back for a replay (it was accepted, so every entry decodes)."""
    entries = Entries()
    for table, blob in split_record_views(payload):
        entries.add(table, blob, decode_fact(table, blob))
    return entries.rows()


def fact_record(facts: list, reject: Reject) -> tuple[list[bytes], Entries]:
    """The WAL record for a run of fact objects and its entries; each fact's bytes are a view into the encoded
    record. Any object that does not encode takes the per-fact path."""
    if not facts:
        return [], Entries()
    try:
        tables = [fact.table for fact in facts]
        if not _KNOWN_TABLES.issuperset(tables):
            raise TypeError("not a journal fact")
        payload, blobs = _chunked_record(tables, facts)
    except Exception:  # noqa: BLE001 - find the bad ones one by one; the rest go as usual
        entries = _encode_one_by_one(facts, reject)
        return ([pack_record(zip(entries.tables, entries.blobs, strict=True))] if entries else []), entries
    return [payload], Entries(tables, blobs, facts)


def _chunked_record(tables: list[str], facts: list) -> tuple[bytes, list[Buffer]]:
    """The bytes one `encode(list(zip(tables, facts)))` call gives, made `FACTS_PER_CALL` facts at a time, and
    each fact's bytes (views into its chunk's bytes)."""
    encode, decode = _fact_encoder.encode, _record_pairs.decode
    parts: list[bytes | memoryview] = [_array_header(len(facts))]
    blobs: list[Buffer] = []
    for i in range(0, len(facts), FACTS_PER_CALL):
        chunk = encode(list(zip(tables[i : i + FACTS_PER_CALL], facts[i : i + FACTS_PER_CALL], strict=True)))
        blobs += [raw for _, raw in decode(chunk)]
        parts.append(memoryview(chunk)[len(_array_header(min(FACTS_PER_CALL, len(facts) - i))) :])
    return b"".join(parts), blobs


def _array_header(count: int) -> bytes:
    """The msgpack header of an array of `count` items (fixarray, array 16 or array 32)."""
    if count < 16:
        return bytes((0x90 | count,))
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def mixed_records(items: list, reject: Reject) -> tuple[list[bytes], Entries]:
    """WAL records for drained items, fact objects and `EncodedRecord`s in order (facts in a row make one record;
    an encoded record stays as it is unless some entry of it is rejected), and their entries, in order."""
    records: list[bytes] = []
    entries = Entries()
    facts: list = []
    for item in [*items, None]:
        if type(item) is EncodedRecord or item is None:
            if facts:
                fact_records, fact_entries = fact_record(facts, reject)
                records += fact_records
                entries.extend(fact_entries)
                facts = []
            if item is not None:
                decoded = _decode_record(item.payload, reject)
                if len(decoded) == item.count:
                    records.append(item.payload)  # as the trading process encoded it
                elif decoded:
                    records.append(pack_record(zip(decoded.tables, decoded.blobs, strict=True)))
                entries.extend(decoded)
        else:
            facts.append(item)
    return records, entries


def _encode_one_by_one(facts: list, reject: Reject) -> Entries:
    encode = _fact_encoder.encode
    out = Entries()
    for fact in facts:
        try:
            table = fact.table
            blob = encode(fact)
            if table not in _fact_decoders:
                raise TypeError(f"not a journal fact: {type(fact).__name__}")
        except Exception as exc:  # noqa: BLE001 - never let one bad object block the batch
            reject(getattr(fact, "table", type(fact).__name__), 0, fact, f"encode: {exc}")
            continue
        out.add(table, blob, fact)
    return out


def _decode_record(payload: bytes, reject: Reject) -> Entries:
    out = Entries()
    try:
        pairs = split_record_views(payload)
    except Exception as exc:  # noqa: BLE001 - a record the trading process sent broken: keep its bytes
        reject("(record)", 0, payload[:2000].hex(), f"undecodable record: {exc!r}")
        return out
    for table, blob in pairs:
        try:
            if table == REJECTED_TABLE:
                rejected = _unencodable_decoder.decode(blob)
                reject(
                    rejected.type_name,
                    0,
                    rejected.describe(),
                    f"not a journal fact ({rejected.type_name}): {rejected.error}",
                )
                continue
            out.add(table, blob, _fact_decoders[table].decode(blob))
        except Exception as exc:  # noqa: BLE001 - one bad entry must not lose the batch
            reject(table, 0, bytes(blob)[:2000].hex(), f"undecodable {table} entry: {exc!r}")
    return out
