"""Live-state entries (Hazelcast map DOLPHIN_STATE_<NS> or the local state store) and the capital ledger,
as restore candidates and a capital snapshot. Entries are decoded one by one: a malformed value is one
rejection, never the loss of the source. Never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from dolphin_nautilus.restore.candidates import (
    Candidate,
    CapitalSnapshot,
    Rejection,
    SourceBatch,
    candidate_from_record,
)
from dolphin_nautilus.restore.values import (
    MAX_MAGNITUDE,
    TS_KEYS,
    bounded,
    excerpt,
    first_present,
    short_repr,
    to_decimal,
    to_ts_ns,
)


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
        return None, f"currency {short_repr(currency)} is not text"
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
