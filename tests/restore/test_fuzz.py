"""Hypothesis: decide() never raises and never restores an invalid or superseded slot.

The oracle below is written from docs/design.md §5, independently of decide.py: it does not import its helpers.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dolphin_nautilus.restore import (
    decide,
    decision_to_json,
    parse_capital_ledger,
    parse_legacy_rows,
    parse_live_entries,
    parse_position_state_rows,
    render_report,
    to_anomalies,
)

from .conftest import ATOM, BTC, KNOWN, MAX_BARS, cand

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMBERS = st.sampled_from(
    [
        Decimal(x)
        for x in (
            "0",
            "-0",
            "-1",
            "1",
            "2.5",
            "NaN",
            "sNaN",
            "Infinity",
            "-Infinity",
            "1E-9",
            "1E+24",
            "-1E+24",
            "1E+999999999",
            "1E-999999999",
            "5E-324",
            "1000000000000000",
            "1000000000000000.1",
        )
    ]
)
STATUSES = st.sampled_from(["OPEN", "OPEN", "OPEN", "CLOSED", "TOMBSTONED", "WEIRD", ""])
SMALL = st.one_of(st.none(), st.integers(0, 4))  # few values: duplicated seq/ts and ties are common
HUGE_INTS = st.sampled_from([None, -1, MAX_BARS + 1, 2**63, -(2**70), 10**5000])

CORRUPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "instrument_id": st.sampled_from(["DOGE-USDT-PERP.BINGX", ""]),
        "side": st.sampled_from(["??", ""]),
        "quantity": NUMBERS,
        "notional": NUMBERS,
        "entry_price": NUMBERS,
        "realized_pnl": NUMBERS,
        "fees": NUMBERS,
        "bars_held": HUGE_INTS,
        "legs": HUGE_INTS,
        "order_seq": HUGE_INTS,
        "seq": st.sampled_from([2**63, 10**5000]),
        "ts": st.sampled_from([2**64]),
        "defects": st.just(("x missing",)),
    },
)


@st.composite
def candidates(draw):
    """Mostly sane OPEN slots (so restores happen), some closes, some with corrupted fields."""
    fields = dict(
        trade_id=draw(st.sampled_from(["t1", "t2", "t3"])),
        instrument_id=draw(st.sampled_from([BTC, ATOM])),
        side=draw(st.sampled_from(["LONG", "SHORT"])),
        status=draw(STATUSES),
        quantity=draw(st.sampled_from([Decimal(1), Decimal("0.5")])),
        bars_held=draw(st.sampled_from([0, 7, MAX_BARS])),
        seq=draw(SMALL),
        ts=draw(SMALL),
        opened_ts=draw(SMALL),
    )
    if draw(st.booleans()):
        fields.update(draw(CORRUPTIONS))
    return cand(**fields)


sources = st.lists(
    st.tuples(
        st.sampled_from(["hazelcast", "clickhouse", "legacy"]), st.one_of(st.none(), st.lists(candidates(), max_size=8))
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda s: s[0],
)


# ------------------------------------------------------------------------------------- the oracle

INT64 = 2**63 - 1


def read_number(x: Decimal) -> Decimal:
    """docs/restore.md: NaN for a signalling NaN or a magnitude above 1e15; 0 below 1e-18."""
    if x.is_snan():
        return Decimal("NaN")
    if not x.is_finite():
        return x
    if abs(x.as_tuple().exponent + len(x.as_tuple().digits)) > 40:  # far outside either bound
        return Decimal("NaN") if x.adjusted() > 0 else Decimal(0)
    if abs(x) > Decimal(10) ** 15:
        return Decimal("NaN")
    return Decimal(0) if 0 < abs(x) < Decimal(10) ** -18 else x


def in_int64(v) -> bool:
    return v is None or -INT64 - 1 <= v <= INT64


def ordered(c) -> bool:
    return order_of(c) != (None, None)


def order_of(c):
    """(seq, ts) as decide reads them: an int outside int64 is dropped (and makes the record invalid)."""
    return (c.seq if in_int64(c.seq) else None, c.ts if in_int64(c.ts) else None)


def finite_positive(x: Decimal) -> bool:
    x = read_number(x)
    return x.is_finite() and x > 0


def sane_alone(c) -> bool:
    return (
        c.status == "OPEN"
        and finite_positive(c.quantity)
        and finite_positive(c.notional)
        and finite_positive(c.entry_price)
        and read_number(c.realized_pnl).is_finite()
        and read_number(c.fees).is_finite()
        and c.side in ("LONG", "SHORT")
        and c.instrument_id in KNOWN
        and c.bars_held is not None
        and 0 <= c.bars_held <= MAX_BARS
        and all(v is None or 0 <= v <= INT64 for v in (c.legs, c.order_seq))
        and in_int64(c.seq)
        and in_int64(c.ts)
        and not c.defects
    )


def ends_position(c) -> bool:
    if c.status in ("CLOSED", "TOMBSTONED"):
        return True
    nothing_left = [x for x in map(read_number, (c.quantity, c.notional)) if x.is_finite() and x <= 0]
    return c.status == "OPEN" and bool(nothing_left)


def strictly_newer(a, b) -> bool:
    """docs/design.md §5.1, one rule everywhere: seq when both have one (ts breaks a seq tie), else ts, else neither."""
    (a_seq, a_ts), (b_seq, b_ts) = order_of(a), order_of(b)
    if None not in (a_seq, b_seq):
        return (a_seq, -1 if a_ts is None else a_ts) > (b_seq, -1 if b_ts is None else b_ts)
    if None not in (a_ts, b_ts):
        return a_ts > b_ts
    return False


def latest_in_source(records):
    """The records nothing in the source is newer than; in a seq-vs-ts cycle, the tops by each key."""
    records = [c for c in records if ordered(c)]
    unbeaten = [c for c in records if not any(strictly_newer(o, c) for o in records)]
    if unbeaten or not records:
        return unbeaten
    with_seq = [c for c in records if order_of(c)[0] is not None]
    with_ts = [c for c in records if order_of(c)[1] is not None]
    tops = []
    if with_seq:
        best = max((order_of(c)[0], order_of(c)[1] if order_of(c)[1] is not None else -1) for c in with_seq)
        tops += [c for c in with_seq if (order_of(c)[0], order_of(c)[1] if order_of(c)[1] is not None else -1) == best]
    if with_ts:
        tops += [c for c in with_ts if order_of(c)[1] == max(order_of(o)[1] for o in with_ts) and c not in tops]
    return tops


def same_record(slot, c) -> bool:
    return (slot.trade_id, slot.instrument_id, slot.side, slot.quantity, slot.notional, slot.seq, slot.ts) == (
        c.trade_id,
        c.instrument_id,
        c.side,
        c.quantity,
        c.notional,
        c.seq,
        c.ts,
    )


def check_decision(srcs, decision, allowed_drops=("instrument_conflict", "superseded")):
    assert decision.internal_error is None
    assert decision.status in ("RESTORED", "FLAT", "DEGRADED")
    by_source = {name: [c for c in cs or [] if ordered(c)] for name, cs in srcs}
    unordered = {(c.source, c.trade_id) for _, cs in srcs for c in cs or [] if not ordered(c)}
    assert unordered <= {(r.source, r.trade_id) for r in decision.rejections if r.kind == "unordered"}
    assert len({s.trade_id for s in decision.slots}) == len(decision.slots)
    assert len({s.instrument_id for s in decision.slots}) == len(decision.slots)
    everything = [c for cs in by_source.values() for c in cs]
    for slot in decision.slots:
        own = [c for c in by_source[slot.source] if c.trade_id == slot.trade_id]
        latest = latest_in_source(own)
        matches = [c for c in latest if same_record(slot, c)]
        assert matches, "restored a record that is not the latest of its source"
        record = matches[0]
        assert sane_alone(record), "restored an invalid record"
        assert not any(ends_position(c) for c in latest), "a close tied with the restored record"
        closers = [
            c for c in everything if c.trade_id == slot.trade_id and ends_position(c) and strictly_newer(c, record)
        ]
        assert not closers, "restored a slot superseded by a newer close/retraction"
    restored_ids = {s.trade_id for s in decision.slots}
    rejected_ids = {r.trade_id for r in decision.rejections}
    for trade_id in {c.trade_id for c in everything} - restored_ids:
        latests = [
            latest_in_source([c for c in cs if c.trade_id == trade_id])
            for cs in by_source.values()
            if any(c.trade_id == trade_id for c in cs)
        ]
        closed_somewhere = any(c.status in ("CLOSED", "TOMBSTONED") for group in latests for c in group)
        assert trade_id in rejected_ids or closed_somewhere, f"{trade_id} dropped without a record"
        for group in latests:  # a clean, uncontested, unsuperseded claim must come back (or lose its instrument)
            clean = (
                len(group) == 1
                and sane_alone(group[0])
                and not any(
                    ends_position(c) and strictly_newer(c, group[0]) for c in everything if c.trade_id == trade_id
                )
            )
            if clean:
                assert any(r.trade_id == trade_id and r.kind in allowed_drops for r in decision.rejections), (
                    f"{trade_id} had a clean claim and was not restored"
                )


@SETTINGS
@given(sources)
def test_decide_never_raises_and_never_restores_invalid_or_superseded(srcs):
    decision = decide(srcs, KNOWN, MAX_BARS, now_ns=1)
    check_decision(srcs, decision)
    assert decide(list(reversed(srcs)), KNOWN, MAX_BARS, 1).internal_error is None
    to_anomalies(decision, "blue", 1)
    render_report(decision)
    json.loads(decision_to_json(decision))


@SETTINGS
@given(sources, st.randoms(use_true_random=False))
def test_decision_does_not_depend_on_record_order_within_a_source(srcs, rnd):
    shuffled = []
    for name, cs in srcs:
        cs = None if cs is None else rnd.sample(cs, len(cs))
        shuffled.append((name, cs))
    assert decide(shuffled, KNOWN, MAX_BARS, 1) == decide(srcs, KNOWN, MAX_BARS, 1)


# ------------------------------------------------------------------------------------- raw shapes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_values = st.one_of(json_values, st.sampled_from(["NaN", "inf", "-1", "0", "1", "sNaN", "2026-06-11", "OPEN"]))
raw_rows = st.dictionaries(
    st.sampled_from(
        [
            "trade_id",
            "asset",
            "instrument_id",
            "side",
            "status",
            "quantity",
            "notional",
            "entry_price",
            "bars_held",
            "seq",
            "ts",
            "updated_at",
            "created_at",
            "legs",
            "order_seq",
            "fees",
        ]
    ),
    field_values,
    max_size=16,
)
live_values = st.one_of(
    raw_rows,
    raw_rows.map(json.dumps),
    raw_rows.map(lambda r: json.dumps(r).encode()[:-1]),
    st.binary(max_size=20),
    json_values,
)


@SETTINGS
@given(
    st.lists(st.one_of(raw_rows, json_values), max_size=6),
    st.dictionaries(st.sampled_from(["t1", "t2", "account", "x"]), live_values, max_size=4),
    st.one_of(json_values, st.lists(raw_rows, max_size=4), st.binary(max_size=10)),
)
def test_raw_shapes_parse_and_decide_without_raising(rows, entries, ledger):
    batches = [
        parse_live_entries(entries),
        parse_position_state_rows(rows),
        parse_legacy_rows(rows, "legacy"),
        parse_capital_ledger(ledger),
    ]
    for batch in batches:
        assert all(c.trade_id for c in batch.candidates)
    decision = decide(batches, KNOWN, MAX_BARS, now_ns=1)
    check_decision([(b.name, b.candidates) for b in batches], decision)
    render_report(decision)
    json.loads(decision_to_json(decision))
