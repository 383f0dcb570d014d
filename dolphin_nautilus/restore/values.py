"""Restore's value readers: numbers, integers, timestamps, instrument/side/status text, record excerpts.

Every reader takes any value and never raises: what is not a sane value reads as None (or NaN for a
non-finite number, which decide() rejects). Numbers are range-checked before any arithmetic (MAX_MAGNITUDE,
MIN_MAGNITUDE, int64), so no later product or quotient can overflow a decimal context.
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


def short_repr(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 80 else text[:80] + "..."
