"""Restore's ordering and validity rules (docs/design.md §5.1-5.2), one for every comparison.

`is_newer`: a record is newer than another by `seq` when both have one (then `ts` breaks a seq tie), otherwise
by `ts`; a record with neither cannot be ordered. `latest_records` finds the latest records of a set (more than
one: a tie). `is_end`/`is_retraction` say when a record ends a position; `sanitized` and `problems` say whether
a candidate can be used and restored. `content_key` compares records by their material values.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from dolphin_nautilus.domain.facts import canonical_json
from dolphin_nautilus.domain.restored import restored_slot_problems
from dolphin_nautilus.restore.candidates import Candidate
from dolphin_nautilus.restore.values import MAX_INT, MAX_MAGNITUDE, OPEN, TERMINAL_STATUSES, bounded

MATERIAL_FIELDS = ("status", "instrument_id", "side", "quantity", "notional", "entry_price", "bars_held", "legs")


def within_source_key(c: Candidate) -> tuple[int, int, int, int]:
    """A sort key for reports and tombstones only (highest seq, then ts); decide() orders with `is_newer`."""
    return (c.seq is not None, c.seq if c.seq is not None else 0, c.ts is not None, c.ts if c.ts is not None else 0)


def is_newer(a: Candidate, b: Candidate) -> bool:
    """Whether `a` is strictly newer than `b`: the one ordering rule, within and across sources.

    Both have a seq: (seq, ts) decides (seq is per trade and strictly increasing, ts only breaks a tie).
    Otherwise both have a ts: ts decides. Otherwise (a record with only a seq against one with only a
    ts, or a record with neither) neither is newer. Not a total order when seq and ts disagree between
    records; `latest_records` says what is latest then.
    """
    if a.seq is not None and b.seq is not None:
        return (a.seq, a.ts if a.ts is not None else -1) > (b.seq, b.ts if b.ts is not None else -1)
    if a.ts is not None and b.ts is not None:
        return a.ts > b.ts
    return False


def is_ordered(c: Candidate) -> bool:
    """A record with neither a seq nor a ts cannot be ordered against anything: it is rejected."""
    return c.seq is not None or c.ts is not None


def latest_records(records: Sequence[Candidate]) -> list[Candidate]:
    """The records no other record is newer than (more than one: a tie). Linear in `records`.

    Only a record at the top by (seq, ts) among those with a seq, or at the top by ts among those with a
    ts, can be latest (any other is beaten by that top), so those few are checked against all. When seq and
    ts disagree in a cycle (a > b > c > a) no record is unbeaten; then the tops by each key are the tie,
    and the conservative choice settles it.
    """
    with_seq = [c for c in records if c.seq is not None]
    with_ts = [c for c in records if c.ts is not None]
    pool: list[Candidate] = []
    if with_seq:
        top = max((c.seq, c.ts if c.ts is not None else -1) for c in with_seq)
        pool += [c for c in with_seq if (c.seq, c.ts if c.ts is not None else -1) == top]
    if with_ts:
        top_ts = max(c.ts or 0 for c in with_ts)  # with_ts holds only records that have a ts
        pool += [c for c in with_ts if c.ts == top_ts and all(c is not p for p in pool)]
    unbeaten = [c for c in pool if not any(is_newer(o, c) for o in records)]
    return unbeaten or pool


# ---------------------------------------------------------------------------------------------- validity


def is_end(c: Candidate) -> bool:
    """A record saying the position ended: CLOSED/TOMBSTONED, or an OPEN with nothing left (a retraction)."""
    return c.status in TERMINAL_STATUSES or is_retraction(c)


def is_retraction(c: Candidate) -> bool:
    if c.status != OPEN:
        return False
    return any(v.is_finite() and v <= 0 for v in (c.quantity, c.notional))


DECIMAL_FIELDS = ("quantity", "notional", "entry_price", "realized_pnl", "fees")
INT_FIELDS = ("bars_held", "legs", "seq", "ts", "opened_ts", "order_seq")
TEXT_FIELDS = ("source", "trade_id", "instrument_id", "side", "status", "raw")


def sanitized(c: Any) -> Candidate | str:
    """`c` safe for every later step, or why it cannot be used at all (a wrong type, e.g. a hand-built or
    remotely converted candidate). Decimals are range-checked as the parsers do: a signalling NaN becomes
    NaN, a magnitude above MAX_MAGNITUDE becomes NaN with a defect, a tiny magnitude 0 (candidates.bounded)."""
    if not isinstance(c, Candidate):
        return f"not a Candidate: {type(c).__name__}"
    for name in TEXT_FIELDS:
        if not isinstance(getattr(c, name), str):
            return f"{name} is a {type(getattr(c, name)).__name__}, not text"
    for name in INT_FIELDS:
        value = getattr(c, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"{name} is a {type(value).__name__}, not an integer"
    if not isinstance(c.defects, tuple) or not all(isinstance(d, str) for d in c.defects):
        return "defects is not a tuple of text"
    changes: dict[str, Any] = {}
    defects: list[str] = []
    for name in DECIMAL_FIELDS:
        value = getattr(c, name)
        if not isinstance(value, Decimal):
            return f"{name} is a {type(value).__name__}, not a Decimal"
        safe = bounded(Decimal("NaN") if value.is_snan() else value)
        if safe is None:
            defects.append(f"{name} {_short_number(value)} beyond the sane bound of {MAX_MAGNITUDE:E} in magnitude")
            safe = Decimal("NaN")
        if safe is not value:
            changes[name] = safe
    for name in INT_FIELDS:
        value = getattr(c, name)
        if value is not None and not -MAX_INT - 1 <= value <= MAX_INT:
            defects.append(f"{name} beyond int64 ({value.bit_length()} bits)")
            changes[name] = None if name in ("seq", "ts", "opened_ts") else -1
    if not changes:
        return c
    return msgspec.structs.replace(c, defects=(*c.defects, *defects), **changes)


def _short_number(value: Decimal) -> str:
    text = str(value)  # str() of a Decimal needs no context: it cannot overflow
    return text if len(text) <= 40 else text[:40] + "..."


def problems(c: Candidate, known_instruments: frozenset[str] | set[str], max_bars_held: int) -> list[str]:
    """Why `c` cannot be restored; empty when it is a sane open slot (status and supersession aside)."""
    found = list(c.defects)
    if c.status != OPEN:
        found.append(f"status {c.status!r} is not OPEN")
    found += restored_slot_problems(c, known_instruments, max_bars_held)
    return list(dict.fromkeys(found))


def content_key(c: Candidate) -> str:
    # Decimals compare by value: ClickHouse's 0.001600000000000000 and live state's 0.0016 are the same size.
    return canonical_json({name: value_text(getattr(c, name)) for name in (*MATERIAL_FIELDS, "seq", "ts")})


def value_text(value: Any) -> str:
    """Text that is equal exactly when two values are: Decimals by value (0.0100 is 0.01), with no decimal
    context involved (Decimal.normalize rounds to the context precision and can overflow)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return str(value)
    if not value:
        return "0"
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # a finite Decimal's exponent is an int
    text = "".join(map(str, digits)).rstrip("0")
    exponent += len(digits) - len(text)
    return f"{'-' if sign else ''}{text}E{exponent}"


def describe_record(c: Candidate) -> str:
    return f"{c.source} {c.status} qty={c.quantity} notional={c.notional} seq={c.seq} ts={c.ts}"


def material_diff(a: Candidate, b: Candidate) -> str:
    return (
        ", ".join(
            f"{n} {getattr(a, n)} vs {getattr(b, n)}"
            for n in MATERIAL_FIELDS
            if value_text(getattr(a, n)) != value_text(getattr(b, n))
        )
        or "same fields, different seq/ts"
    )
