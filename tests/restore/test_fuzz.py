"""Hypothesis: decide() never raises and never restores an invalid or superseded slot.

The oracle below is written from DESIGN.md §5, independently of decide.py: it does not import its helpers.
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
NUMBERS = st.sampled_from([Decimal(x) for x in ("0", "-1", "1", "2.5", "NaN", "Infinity", "-Infinity", "1E-9")])
STATUSES = st.sampled_from(["OPEN", "OPEN", "OPEN", "CLOSED", "TOMBSTONED", "WEIRD", ""])
SMALL = st.one_of(st.none(), st.integers(0, 4))  # few values: duplicated seq/ts and ties are common

CORRUPTIONS = st.fixed_dictionaries({}, optional={
    "instrument_id": st.sampled_from(["DOGE-USDT-PERP.BINGX", ""]),
    "side": st.sampled_from(["??", ""]),
    "quantity": NUMBERS, "notional": NUMBERS, "entry_price": NUMBERS, "realized_pnl": NUMBERS,
    "bars_held": st.sampled_from([None, -1, MAX_BARS + 1]),
    "defects": st.just(("x missing",)),
})


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
        seq=draw(SMALL), ts=draw(SMALL), opened_ts=draw(SMALL),
    )
    if draw(st.booleans()):
        fields.update(draw(CORRUPTIONS))
    return cand(**fields)


sources = st.lists(
    st.tuples(st.sampled_from(["hazelcast", "clickhouse", "legacy"]),
              st.one_of(st.none(), st.lists(candidates(), max_size=8))),
    min_size=1, max_size=3, unique_by=lambda s: s[0],
)


# ------------------------------------------------------------------------------------- the oracle


def finite_positive(x: Decimal) -> bool:
    return x.is_finite() and x > 0


def sane_alone(c) -> bool:
    return (c.status == "OPEN" and finite_positive(c.quantity) and finite_positive(c.notional)
            and finite_positive(c.entry_price) and c.realized_pnl.is_finite() and c.fees.is_finite()
            and c.side in ("LONG", "SHORT") and c.instrument_id in KNOWN and c.bars_held is not None
            and 0 <= c.bars_held <= MAX_BARS and not c.defects)


def ends_position(c) -> bool:
    if c.status in ("CLOSED", "TOMBSTONED"):
        return True
    nothing_left = [x for x in (c.quantity, c.notional) if x.is_finite() and x <= 0]
    return c.status == "OPEN" and bool(nothing_left)


def strictly_newer(a, b) -> bool:
    """§5.1 across sources: seq when both have one (ts breaks a tie), else ts, else having any order key."""
    if None not in (a.seq, b.seq):
        if a.seq != b.seq:
            return a.seq > b.seq
        return (-1 if a.ts is None else a.ts) > (-1 if b.ts is None else b.ts)
    if None not in (a.ts, b.ts):
        return a.ts > b.ts
    return (a.seq, a.ts) != (None, None) and (b.seq, b.ts) == (None, None)


def latest_in_source(records):
    """Highest seq, then ts (a seq beats no seq); the set of records tied for latest."""
    def key(c):
        return (0 if c.seq is None else 1, c.seq or 0, 0 if c.ts is None else 1, c.ts or 0)
    top = max(map(key, records))
    return [c for c in records if key(c) == top]


def same_record(slot, c) -> bool:
    return (slot.trade_id, slot.instrument_id, slot.side, slot.quantity, slot.notional, slot.seq, slot.ts) == (
        c.trade_id, c.instrument_id, c.side, c.quantity, c.notional, c.seq, c.ts)


def check_decision(srcs, decision):
    assert decision.internal_error is None
    assert decision.status in ("RESTORED", "FLAT", "DEGRADED")
    by_source = {name: list(cs or []) for name, cs in srcs}
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
        closers = [c for c in everything if c.trade_id == slot.trade_id and ends_position(c)
                   and strictly_newer(c, record)]
        assert not closers, "restored a slot superseded by a newer close/retraction"
    restored_ids = {s.trade_id for s in decision.slots}
    rejected_ids = {r.trade_id for r in decision.rejections}
    for trade_id in {c.trade_id for c in everything} - restored_ids:
        latests = [latest_in_source([c for c in cs if c.trade_id == trade_id]) for cs in by_source.values()
                   if any(c.trade_id == trade_id for c in cs)]
        closed_somewhere = any(c.status in ("CLOSED", "TOMBSTONED") for group in latests for c in group)
        assert trade_id in rejected_ids or closed_somewhere, f"{trade_id} dropped without a record"
        for group in latests:  # a clean, uncontested, unsuperseded claim must come back (or lose its instrument)
            clean = len(group) == 1 and sane_alone(group[0]) and not any(
                ends_position(c) and strictly_newer(c, group[0]) for c in everything if c.trade_id == trade_id)
            if clean:
                assert any(r.trade_id == trade_id and r.kind in ("instrument_conflict", "superseded")
                           for r in decision.rejections), f"{trade_id} had a clean claim and was not restored"


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
    st.sampled_from(["trade_id", "asset", "instrument_id", "side", "status", "quantity", "notional", "entry_price",
                     "bars_held", "seq", "ts", "updated_at", "created_at", "legs", "order_seq", "fees"]),
    field_values, max_size=16,
)
live_values = st.one_of(raw_rows, raw_rows.map(json.dumps), raw_rows.map(lambda r: json.dumps(r).encode()[:-1]),
                        st.binary(max_size=20), json_values)


@SETTINGS
@given(st.lists(st.one_of(raw_rows, json_values), max_size=6),
       st.dictionaries(st.sampled_from(["t1", "t2", "account", "x"]), live_values, max_size=4),
       st.one_of(json_values, st.lists(raw_rows, max_size=4), st.binary(max_size=10)))
def test_raw_shapes_parse_and_decide_without_raising(rows, entries, ledger):
    batches = [parse_live_entries(entries), parse_position_state_rows(rows), parse_legacy_rows(rows, "legacy"),
               parse_capital_ledger(ledger)]
    for batch in batches:
        assert all(c.trade_id for c in batch.candidates)
    decision = decide(batches, KNOWN, MAX_BARS, now_ns=1)
    check_decision([(b.name, b.candidates) for b in batches], decision)
    render_report(decision)
    json.loads(decision_to_json(decision))
