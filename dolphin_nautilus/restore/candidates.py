"""Restore inputs: every source's raw shape normalised into `Candidate`s, without ever raising.

Sources (docs/design.md §5): our ClickHouse `position_state` rows, the legacy BLUE `position_state` rows, the
Hazelcast / local live-state entries and the capital ledger (live_entries.py: a dict, or a list of entries in
legacy data). The value readers are in values.py.

A record whose trade id is known becomes a `Candidate` even when its numbers are garbage (NaN, missing,
unparseable, out of range): restore must choose the LATEST record per trade before filtering, so a corrupt
latest record still has to outrank the older rows of its source. What could not be parsed is listed in
`defects`, and decide() rejects such a candidate. A record that cannot even be attributed to a trade
(malformed JSON, no trade id, not a mapping) becomes a `Rejection`.

Every source is read by the same rules (live entries, our rows and legacy rows alike): fields that can be
derived are derived (entry price from notional / quantity; zero pnl, fees, legs and order_seq), and every
number is range-checked before any arithmetic, so no value can overflow a decimal context later:
a magnitude above `MAX_MAGNITUDE` is a defect, a non-zero magnitude below `MIN_MAGNITUDE` (below the
journal's Decimal(38,18) scale) reads as 0, and integers and timestamps must fit in an int64.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from dolphin_nautilus.restore.values import (
    ENTRY_PRICE_KEYS,
    FEE_KEYS,
    INSTRUMENT_KEYS,
    LEGS_KEYS,
    MAX_INT,
    MAX_MAGNITUDE,
    NAN,
    OPENED_KEYS,
    PNL_KEYS,
    SIDE_KEYS,
    SIDE_MISSING,
    TS_KEYS,
    bounded,
    excerpt,
    first_present,
    normalize_instrument,
    normalize_side,
    normalize_status,
    short_repr,
    to_decimal,
    to_int,
    to_json_text,
    to_ts_ns,
)


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """One source's record of one trade slot, normalised. Numbers may be NaN: see `defects`."""

    source: str
    trade_id: str
    instrument_id: str  # normalised, e.g. "ATOM-USDT-PERP.BINGX"; "" when the record had none
    side: str  # LONG | SHORT, or the unrecognised raw text
    status: str  # OPEN | CLOSED | TOMBSTONED, or the unrecognised raw text (upper-cased)
    quantity: Decimal
    notional: Decimal
    entry_price: Decimal
    bars_held: int | None
    realized_pnl: Decimal
    fees: Decimal
    legs: int | None
    seq: int | None  # None when the record has none (legacy rows): it is then ordered by ts alone
    ts: int | None  # UNIX ns of the record; None when the source gave no usable time
    opened_ts: int | None
    order_seq: int | None
    raw: str  # the source record as JSON text, for reports
    defects: tuple[str, ...] = ()  # parse problems; any defect makes the candidate invalid


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """A record restore did not use, and why. `kind` groups reasons for anomalies and reports."""

    source: str
    trade_id: str  # "" when the record could not be attributed
    reason: str
    raw_excerpt: str
    kind: str = "unparseable"  # unparseable | invalid | retracted | superseded | instrument_conflict | ...
    instrument_id: str = ""


class CapitalSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    currency: str
    total: Decimal
    free: Decimal | None
    locked: Decimal | None
    ts: int | None
    entries_seen: int  # 1 for a dict ledger, the list length for a list ledger


class SourceBatch(msgspec.Struct, frozen=True, kw_only=True):
    """What one source yielded. `unreachable` is the reason the source could not be read at all."""

    name: str
    candidates: tuple[Candidate, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    capital: CapitalSnapshot | None = None
    warnings: tuple[str, ...] = ()
    unreachable: str | None = None


# ---------------------------------------------------------------------------------------------- records


class _Fields:
    """Reads fields from one record, collecting a defect for each required field it cannot read."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = record
        self.defects: list[str] = []

    def decimal(self, name: str, keys: Iterable[str], default: Decimal | None = None) -> Decimal:
        raw = first_present(self.record, keys)
        if raw is None and default is not None:
            return default
        number = to_decimal(raw)
        if number is None:
            self.defects.append(f"{name} {'missing' if raw is None else f'not a number: {short_repr(raw)}'}")
            return NAN
        in_range = bounded(number)
        if in_range is None:
            self.defects.append(f"{name} {short_repr(raw)} beyond the sane bound of {MAX_MAGNITUDE:E} in magnitude")
            return NAN
        return in_range

    def integer(self, name: str, keys: Iterable[str], default: int | None = None) -> int | None:
        raw = first_present(self.record, keys)
        if raw is None and default is not None:
            return default
        number = to_int(raw)
        if number is None:
            self.defects.append(f"{name} {'missing' if raw is None else f'not an int64 integer: {short_repr(raw)}'}")
        return number

    def optional_integer(self, name: str, keys: Iterable[str]) -> int | None:
        """None when absent; a defect when present but not an int64 integer."""
        raw = first_present(self.record, keys)
        return None if raw is None else self.integer(name, keys)

    def timestamp(self, name: str, keys: Iterable[str]) -> int | None:
        """UNIX ns, None when absent; a defect when present but not a sane time."""
        raw = first_present(self.record, keys)
        ts = to_ts_ns(raw)
        if raw is not None and ts is None:
            self.defects.append(f"{name} unreadable: {short_repr(raw)}")
        return ts


def _trade_id_of(record: Mapping[str, Any]) -> str:
    raw = record.get("trade_id")
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) <= MAX_INT:
        return str(raw)
    return raw.strip() if isinstance(raw, str) else ""


def candidate_from_record(record: Any, source: str) -> Candidate | Rejection:
    """One record as a Candidate, or a Rejection when it cannot be attributed to a trade. Never raises."""
    try:
        return _candidate(record, source)
    except Exception as exc:  # noqa: BLE001 - a restore input must never raise
        trade_id = ""
        try:
            trade_id = _trade_id_of(record) if isinstance(record, Mapping) else ""
        except Exception:  # noqa: BLE001 - an odd mapping: report it without its id
            pass
        return Rejection(source=source, trade_id=trade_id, reason=f"unparseable: {exc!r}", raw_excerpt=excerpt(record))


def _candidate(record: Any, source: str) -> Candidate | Rejection:
    if not isinstance(record, Mapping):
        return Rejection(
            source=source,
            trade_id="",
            reason=f"record is a {type(record).__name__}, not an object",
            raw_excerpt=excerpt(record),
        )
    trade_id = _trade_id_of(record)
    if not trade_id:
        return Rejection(source=source, trade_id="", reason="record has no trade_id", raw_excerpt=excerpt(record))
    fields = _Fields(record)
    ts = fields.timestamp("ts", TS_KEYS)
    quantity = fields.decimal("quantity", ("quantity",))
    notional = fields.decimal("notional", ("notional",))
    entry_price = _entry_price(fields, quantity, notional)
    instrument_raw = first_present(record, INSTRUMENT_KEYS)
    if instrument_raw is None:
        fields.defects.append("instrument missing")
    side_raw = first_present(record, SIDE_KEYS)
    if side_raw is None:
        fields.defects.append(SIDE_MISSING)
    status_raw = record.get("status")
    if status_raw is None:
        fields.defects.append("status missing")
    return Candidate(
        source=source,
        trade_id=trade_id,
        instrument_id=normalize_instrument(instrument_raw),
        side=normalize_side(side_raw),
        status=normalize_status(status_raw),
        quantity=quantity,
        notional=notional,
        entry_price=entry_price,
        bars_held=fields.integer("bars_held", ("bars_held",)),
        realized_pnl=fields.decimal("realized_pnl", PNL_KEYS, Decimal(0)),
        fees=fields.decimal("fees", FEE_KEYS, Decimal(0)),
        legs=fields.integer("legs", LEGS_KEYS, 0),
        seq=fields.optional_integer("seq", ("seq",)),  # absent: the record is ordered by ts (docs/design.md §5.1)
        ts=ts,
        opened_ts=fields.timestamp("opened_ts", OPENED_KEYS),
        order_seq=fields.integer("order_seq", ("order_seq",), 0),
        raw=to_json_text(record),
        defects=tuple(fields.defects),
    )


def _entry_price(fields: _Fields, quantity: Decimal, notional: Decimal) -> Decimal:
    """A record may lack an entry price: notional / quantity is the same figure at entry. Both are within
    MAX_MAGNITUDE and quantity >= MIN_MAGNITUDE, so the quotient stays inside the decimal context."""
    if first_present(fields.record, ENTRY_PRICE_KEYS) is None:
        if quantity.is_finite() and notional.is_finite() and quantity > 0 and notional > 0:
            return bounded(notional / quantity) or NAN
        return NAN
    return fields.decimal("entry_price", ENTRY_PRICE_KEYS)


def _batch(source: str, records: Any) -> SourceBatch:
    candidates: list[Candidate] = []
    rejections: list[Rejection] = []
    try:
        for record in records:
            parsed = candidate_from_record(record, source)
            if isinstance(parsed, Candidate):
                candidates.append(parsed)
            else:
                rejections.append(parsed)
    except Exception as exc:  # noqa: BLE001 - e.g. records is not iterable
        return SourceBatch(
            name=source,
            candidates=tuple(candidates),
            rejections=tuple(rejections),
            warnings=(f"reading {source} stopped: {exc!r}",),
        )
    return SourceBatch(name=source, candidates=tuple(candidates), rejections=tuple(rejections))


def parse_position_state_rows(rows: Iterable[Mapping[str, Any]], source: str = "clickhouse") -> SourceBatch:
    """Our `position_state` rows (dicts with the PositionState fact's columns). Never raises."""
    return _batch(source, rows)


def parse_legacy_rows(rows: Iterable[Mapping[str, Any]], source: str = "legacy_position_state") -> SourceBatch:
    """Legacy BLUE `position_state` rows: `asset` instead of instrument id, no seq (ordered by ts). Never raises."""
    return _batch(source, rows)
