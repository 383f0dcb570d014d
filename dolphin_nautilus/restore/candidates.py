"""Restore inputs: every source's raw shape normalised into `Candidate`s, without ever raising.

Sources (docs/design.md §5): our ClickHouse `position_state` rows, the legacy BLUE `position_state` rows, the
Hazelcast / local live-state entries, and the capital ledger (a dict, or a list of entries in legacy data).

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

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

NAN = Decimal("NaN")
OPEN, CLOSED, TOMBSTONED = "OPEN", "CLOSED", "TOMBSTONED"
TERMINAL_STATUSES = frozenset({CLOSED, TOMBSTONED})
STATUS_ALIASES = {"CLOSE": CLOSED, "TOMBSTONE": TOMBSTONED, "OPENED": OPEN}
SIDE_ALIASES = {"LONG": "LONG", "BUY": "LONG", "SHORT": "SHORT", "SELL": "SHORT"}
EXCERPT_CHARS = 300
VENUE_SUFFIX = "-USDT-PERP.BINGX"
# No quantity, price, notional, PnL or fee of a real account comes near 1e15; beyond it a value is garbage,
# and keeping every number below it keeps every later product and quotient far inside the decimal context.
MAX_MAGNITUDE = Decimal("1e15")
MIN_MAGNITUDE = Decimal("1e-18")  # the journal's scale: a smaller non-zero value reads as 0
MAX_INT = 2**63 - 1  # seq, ts, order_seq, legs, bars_held are int64 columns

# Legacy rows name the same thing in several ways; the first present key wins.
TS_KEYS = ("ts", "updated_at", "timestamp", "event_ts", "created_at")
INSTRUMENT_KEYS = ("instrument_id", "asset", "symbol")
SIDE_KEYS = ("side", "direction", "position_side")
ENTRY_PRICE_KEYS = ("entry_price", "entry_px", "avg_entry_price", "avg_price")
PNL_KEYS = ("realized_pnl", "realised_pnl", "pnl")
FEE_KEYS = ("fees", "fee")
LEGS_KEYS = ("legs", "leg_count", "legs_count")
OPENED_KEYS = ("opened_ts", "opened_at", "entry_ts", "created_at")
SIDE_MISSING = "side missing"


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


# ---------------------------------------------------------------------------------------------- values


def to_json_text(value: Any) -> str:
    """Best-effort JSON text of any record (bytes decoded, unknown objects via str): never raises."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    try:
        return msgspec.json.encode(value, enc_hook=str, order="sorted").decode()
    except Exception:  # noqa: BLE001 - a report must never fail on an odd record
        return repr(value)


def excerpt(value: Any) -> str:
    text = to_json_text(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def to_decimal(value: Any) -> Decimal | None:
    """Decimal of a number or numeric text; NaN/inf pass through (decide() rejects them); None if not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return NAN if value.is_snan() else value  # a signalling NaN raises on ==; keep it quiet
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # repr: the shortest text, so 0.1 stays 0.1
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except (InvalidOperation, ValueError):  # includes exponents beyond what Decimal can hold at all
            return None
        return NAN if number.is_snan() else number
    return None


def bounded(number: Decimal) -> Decimal | None:
    """`number` within the sane range: None when its magnitude exceeds MAX_MAGNITUDE; a non-zero magnitude
    below MIN_MAGNITUDE reads as 0. NaN/inf pass through. Uses no decimal context, so it cannot overflow."""
    if not number.is_finite():
        return number
    magnitude = number.copy_abs()
    if magnitude > MAX_MAGNITUDE:
        return None
    if 0 < magnitude < MIN_MAGNITUDE:
        return Decimal(0)
    return number


def to_int(value: Any) -> int | None:
    """An integer within int64, from an int, an integral float/Decimal or integral text; else None."""
    number = to_decimal(value)
    if number is None or not number.is_finite() or number.copy_abs() > MAX_INT:
        return None
    if number != number.to_integral_value():
        return None
    return int(number)


def to_ts_ns(value: Any) -> int | None:
    """UNIX ns of a datetime, ISO text or epoch number (s, ms, us or ns, told apart by magnitude).

    None unless the result is a positive int64 (1970 .. 2262): no overflow, no 1e309, no zero.
    """
    try:
        ns = _ts_ns(value)
    except (ValueError, OverflowError, ArithmeticError):  # e.g. a datetime at the edge of its range
        return None
    return ns if ns is not None and 0 < ns <= MAX_INT else None


def _ts_ns(value: Any) -> int | None:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # ClickHouse gives naive UTC
        delta = aware - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if isinstance(value, dt.date):
        return _ts_ns(dt.datetime(value.year, value.month, value.day))
    if isinstance(value, str) and not re.fullmatch(r"\s*[-+]?[\d.]+([eE][-+]?\d+)?\s*", value):
        return _ts_ns(dt.datetime.fromisoformat(value.strip()))
    number = to_decimal(value)
    if number is None or not number.is_finite() or number <= 0 or number > MAX_INT:
        return None
    for limit, scale in ((Decimal("1e11"), 10**9), (Decimal("1e14"), 10**6), (Decimal("1e17"), 10**3)):
        if number < limit:
            return int(number * scale)
    return int(number)


def normalize_instrument(value: Any) -> str:
    """Our instrument id from a legacy asset ("ATOMUSDT", "ATOM-USDT") or an instrument id (kept as is)."""
    if not isinstance(value, str):
        return ""
    text = value.strip().upper()
    if "." in text:
        return value.strip()
    match = re.fullmatch(r"([A-Z0-9]+?)-?USDT", text)
    return f"{match.group(1)}{VENUE_SUFFIX}" if match else text


def normalize_status(value: Any) -> str:
    text = str(value).strip().upper() if value is not None else ""
    return STATUS_ALIASES.get(text, text)


def normalize_side(value: Any) -> str:
    text = str(value).strip().upper() if value is not None else ""
    return SIDE_ALIASES.get(text, text)


def first_present(record: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        if record.get(key) is not None:
            return record[key]
    return None


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
            self.defects.append(f"{name} {'missing' if raw is None else f'not a number: {_short(raw)}'}")
            return NAN
        in_range = bounded(number)
        if in_range is None:
            self.defects.append(f"{name} {_short(raw)} beyond the sane bound of {MAX_MAGNITUDE:E} in magnitude")
            return NAN
        return in_range

    def integer(self, name: str, keys: Iterable[str], default: int | None = None) -> int | None:
        raw = first_present(self.record, keys)
        if raw is None and default is not None:
            return default
        number = to_int(raw)
        if number is None:
            self.defects.append(f"{name} {'missing' if raw is None else f'not an int64 integer: {_short(raw)}'}")
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
            self.defects.append(f"{name} unreadable: {_short(raw)}")
        return ts


def _short(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 80 else text[:80] + "..."


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


# ---------------------------------------------------------------------------------------------- live state


def decode_json(value: Any) -> tuple[Any, str | None]:
    """A live-state value as an object: dicts pass, str/bytes are JSON-decoded; (None, reason) on failure."""
    if isinstance(value, Mapping):
        return value, None
    if isinstance(value, str | bytes | bytearray):
        try:
            return msgspec.json.decode(bytes(value, "utf-8") if isinstance(value, str) else bytes(value)), None
        except (msgspec.DecodeError, UnicodeError) as exc:
            return None, f"malformed JSON: {exc}"
    return None, f"value is a {type(value).__name__}, not JSON"


def parse_live_entries(
    entries: Any, source: str = "hazelcast", account_key: str = "account", malformed: Iterable[Any] = ()
) -> SourceBatch:
    """Entries of map DOLPHIN_STATE_<NS> (or the local state store): slot snapshots plus an account entry.

    `entries` is a mapping key -> value (dict, JSON str or bytes) or an iterable of (key, value) pairs.
    `malformed`: entries the store could not decode (objects with `key`, `reason`, `excerpt`, as in
    `state.LiveEntries.malformed`); each is one rejection. The account entry is parsed as a capital
    snapshot. Never raises.
    """
    rejections: list[Rejection] = [_malformed_rejection(m, source) for m in _safe_list(malformed)]
    try:
        pairs = list(entries.items() if isinstance(entries, Mapping) else entries)
    except Exception as exc:  # noqa: BLE001
        return SourceBatch(name=source, rejections=tuple(rejections), warnings=(f"live entries unreadable: {exc!r}",))
    candidates: list[Candidate] = []
    capital: CapitalSnapshot | None = None
    warnings: list[str] = []
    for pair in pairs:
        try:
            key, value = pair
        except (TypeError, ValueError):
            rejections.append(
                Rejection(
                    source=source, trade_id="", reason="entry is not a (key, value) pair", raw_excerpt=excerpt(pair)
                )
            )
            continue
        key_text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        if key_text == account_key:
            capital, ledger_warnings = capital_from_ledger(value, source)
            warnings.extend(ledger_warnings)
            continue
        parsed = _live_entry(key_text, value, source)
        if isinstance(parsed, Candidate):
            candidates.append(parsed)
        else:
            rejections.append(parsed)
    return SourceBatch(
        name=source,
        candidates=tuple(candidates),
        rejections=tuple(rejections),
        capital=capital,
        warnings=tuple(warnings),
    )


def _safe_list(items: Iterable[Any]) -> list[Any]:
    try:
        return list(items)
    except Exception:  # noqa: BLE001 - not iterable: nothing to report entry by entry
        return []


def _malformed_rejection(entry: Any, source: str) -> Rejection:
    key = getattr(entry, "key", "")
    return Rejection(
        source=source,
        trade_id=key if isinstance(key, str) else "",
        reason=f"malformed entry: {getattr(entry, 'reason', entry)}",
        raw_excerpt=excerpt(getattr(entry, "excerpt", entry)),
    )


def _live_entry(key: str, value: Any, source: str) -> Candidate | Rejection:
    record, problem = decode_json(value)
    if problem is not None or not isinstance(record, Mapping):
        reason = problem or f"value is a JSON {type(record).__name__}, not an object"
        return Rejection(source=source, trade_id=key, reason=reason, raw_excerpt=excerpt(value))
    if "trade_id" not in record:
        record = {**record, "trade_id": key}
    parsed = candidate_from_record(record, source)
    if isinstance(parsed, Candidate) and parsed.trade_id != key:
        defect = f"map key {key!r} differs from trade_id {parsed.trade_id!r}"
        parsed = msgspec.structs.replace(parsed, defects=(*parsed.defects, defect))
    return parsed


# ---------------------------------------------------------------------------------------------- capital

CAPITAL_TOTAL_KEYS = ("total", "capital", "equity", "balance")
CAPITAL_FREE_KEYS = ("free", "available", "available_balance")
CAPITAL_LOCKED_KEYS = ("locked", "used", "frozen")
LEDGER_LIST_KEYS = ("entries", "ledger", "history", "updates")


def capital_from_ledger(ledger: Any, source: str) -> tuple[CapitalSnapshot | None, list[str]]:
    """The latest capital from a ledger that is a dict, a list of entries, or their JSON text.

    A list is ordered by each entry's ts; entries without a ts keep their list position (later = newer).
    A malformed ledger or entry is a warning, never an exception.
    """
    try:
        return _capital(ledger, source)
    except Exception as exc:  # noqa: BLE001
        return None, [f"{source}: capital ledger unreadable: {exc!r}"]


def _capital(ledger: Any, source: str) -> tuple[CapitalSnapshot | None, list[str]]:
    decoded, problem = decode_json(ledger) if not isinstance(ledger, list | tuple) else (ledger, None)
    if problem is not None:
        return None, [f"{source}: capital ledger {problem}"]
    if isinstance(decoded, Mapping):
        nested = first_present(decoded, LEDGER_LIST_KEYS)
        entries = list(nested) if isinstance(nested, list) else [decoded]
    elif isinstance(decoded, list):
        entries = decoded
    else:
        return None, [f"{source}: capital ledger is a {type(decoded).__name__}, not a dict or list"]
    warnings: list[str] = []
    parsed: list[tuple[tuple[int, int], CapitalSnapshot]] = []
    for position, entry in enumerate(entries):
        snapshot, problem = _capital_entry(entry, source, len(entries))
        if snapshot is None:
            warnings.append(f"{source}: capital entry {position} skipped: {problem}: {excerpt(entry)}")
        else:
            parsed.append(((snapshot.ts or -1, position), snapshot))
    if not parsed:
        warnings.append(f"{source}: capital ledger has no usable entry ({len(entries)} seen)")
        return None, warnings
    return max(parsed, key=lambda item: item[0])[1], warnings


def _capital_entry(entry: Any, source: str, entries_seen: int) -> tuple[CapitalSnapshot | None, str]:
    if not isinstance(entry, Mapping):
        return None, f"entry is a {type(entry).__name__}, not an object"
    total = _bounded_or_none(first_present(entry, CAPITAL_TOTAL_KEYS))
    if total is None or not total.is_finite() or total < 0:
        return None, f"no finite non-negative total/capital/equity/balance within {MAX_MAGNITUDE:E}"
    free = _bounded_or_none(first_present(entry, CAPITAL_FREE_KEYS))
    locked = _bounded_or_none(first_present(entry, CAPITAL_LOCKED_KEYS))
    currency = entry.get("currency") or entry.get("asset") or "USDT"
    if not isinstance(currency, str):
        return None, f"currency {_short(currency)} is not text"
    snapshot = CapitalSnapshot(
        source=source,
        currency=str(currency),
        total=total,
        free=free if free is not None and free.is_finite() else None,
        locked=locked if locked is not None and locked.is_finite() else None,
        ts=to_ts_ns(first_present(entry, TS_KEYS)),
        entries_seen=entries_seen,
    )
    return snapshot, ""


def _bounded_or_none(raw: Any) -> Decimal | None:
    number = to_decimal(raw)
    return None if number is None else bounded(number)


def parse_capital_ledger(ledger: Any, source: str = "capital_ledger") -> SourceBatch:
    """A capital ledger (dict, list of entries, or JSON text of either) as a batch holding only capital."""
    capital, warnings = capital_from_ledger(ledger, source)
    return SourceBatch(name=source, capital=capital, warnings=tuple(warnings))
