"""Hostile values in every field of every source, through the whole pure path
(parse -> complete_sides_from_venue -> decide_with_dust -> build_plan): restore always finishes, never
restores an invalid or superseded trade and never loses a valid one (oracle in test_fuzz.check_decision)."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.restore import (
    parse_capital_ledger,
    parse_legacy_rows,
    parse_live_entries,
    parse_position_state_rows,
    render_report,
)
from dolphin_nautilus.restore.plan import build_plan
from dolphin_nautilus.restore.values import MAX_MAGNITUDE
from dolphin_nautilus.restore.venue_rules import complete_sides_from_venue, decide_with_dust

from .conftest import ATOM, BTC, ETH, MAX_BARS
from .test_fuzz import check_decision

SPECS = {iid: BINGX_SPECS[iid] for iid in (ATOM, BTC, ETH)}
HOSTILE = [
    1e24,
    "1e24",
    -1e24,
    "1E+999999999",
    "1e99999999999999999999",
    float("inf"),
    float("-inf"),
    float("nan"),
    "NaN",
    "-Infinity",
    "sNaN",
    -0.0,
    "-0",
    5e-324,
    "1e-30",
    True,
    False,
    None,
    {"a": 1},
    [1],
    "",
    "abc",
    10**40,
    2**64,
    -(2**70),
    "2026-06-11T10:00:00",
    "1e309",
    1e15,
    "0.000000000000000001",
]
FIELDS = [
    "trade_id",
    "instrument_id",
    "asset",
    "side",
    "status",
    "quantity",
    "notional",
    "entry_price",
    "realized_pnl",
    "fees",
    "bars_held",
    "legs",
    "seq",
    "ts",
    "updated_at",
    "opened_ts",
    "order_seq",
]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rows(draw, legacy=False):
    iid = draw(st.sampled_from([BTC, ETH, ATOM]))
    price = {BTC: 60000, ETH: 3000, ATOM: 8}[iid]
    qty = draw(st.sampled_from(["0.01", "1", "40", "0"]))
    row = {
        "trade_id": draw(st.sampled_from(["t1", "t2", "t3", "t4"])),
        "side": draw(st.sampled_from(["LONG", "SHORT"])),
        "status": draw(st.sampled_from(["OPEN", "OPEN", "CLOSED", "TOMBSTONED"])),
        "quantity": qty,
        "notional": str(Decimal(qty) * price),
        "entry_price": str(price),
        "bars_held": draw(st.integers(0, 5)),
        "ts": 1_781_172_000_000_000_000 + draw(st.integers(0, 3)) * 60_000_000_000,
    }
    if legacy:
        row["asset"] = iid.split("-")[0] + "USDT"
    else:
        row.update(
            instrument_id=iid,
            seq=draw(st.integers(0, 3)),
            realized_pnl="0",
            fees="0.1",
            legs=0,
            opened_ts=1_781_100_000_000_000_000,
            order_seq=1,
        )
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        value = draw(st.sampled_from(HOSTILE))
        if value is None and draw(st.booleans()):
            row.pop(field, None)
        else:
            row[field] = value
    return row


def as_json(value):
    return json.dumps(value, default=str)  # NaN/inf floats become NaN/Infinity tokens, as a careless writer does


live_values = st.one_of(rows().map(as_json), rows(), st.sampled_from(['{"torn": ', "[1]", "17", "", b"\xff"]))
ledgers = st.one_of(
    st.lists(
        st.fixed_dictionaries({"capital": st.sampled_from([*HOSTILE, 1000]), "ts": st.sampled_from([*HOSTILE, 5])}),
        max_size=3,
    ),
    st.fixed_dictionaries({"total": st.sampled_from([*HOSTILE, 1000])}),
    st.sampled_from(HOSTILE),
)
venues = st.sampled_from(
    [
        None,
        "VenueUnavailable: timeout",
        {BTC: (Decimal("0.01"), Decimal(60000))},
        {ETH: (Decimal("-1"), Decimal(3000)), ATOM: (Decimal("40"), Decimal(8))},
    ]
)


def finite_in_range(x: Decimal) -> bool:
    return x.is_finite() and 0 < x <= MAX_MAGNITUDE


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(["t1", "t2", "t3", "account", "heartbeat"]), live_values, max_size=4),
    st.lists(rows(), max_size=6),
    st.lists(rows(legacy=True), max_size=6),
    ledgers,
    venues,
)
def test_hostile_values_in_every_source_never_fail_restore(live, ours, legacy, ledger, venue):
    batches = [
        parse_live_entries(live, "live_state"),
        parse_position_state_rows(ours),
        parse_legacy_rows(legacy, "legacy_position_state"),
        parse_capital_ledger(ledger),
    ]
    if isinstance(venue, dict):
        batches = complete_sides_from_venue(batches, venue, SPECS)
    decision = decide_with_dust(batches, SPECS, MAX_BARS, now_ns=2 * 10**18)
    assert decision.internal_error is None and decision.status in ("RESTORED", "FLAT", "DEGRADED")
    event(f"{decision.status} with {len(decision.slots)} slot(s)")
    assert not [r for r in decision.rejections if r.kind == "internal"]
    check_decision(
        [(b.name, b.candidates) for b in batches], decision, allowed_drops=("instrument_conflict", "superseded", "dust")
    )
    for slot in decision.slots:
        assert finite_in_range(slot.quantity) and finite_in_range(slot.entry_price)
    for dust in (r for r in decision.rejections if r.kind == "dust"):
        slot = json.loads(dust.raw_excerpt) if dust.raw_excerpt.endswith("}") else None
        if slot:  # independent dust rule: below the size step, the minimum quantity or the minimum notional
            spec, qty, px = SPECS[slot["instrument_id"]], Decimal(slot["quantity"]), Decimal(slot["entry_price"])
            floored = (qty / spec.size_increment).to_integral_value(rounding="ROUND_DOWN") * spec.size_increment
            assert floored < spec.min_quantity or floored * px < spec.min_notional
    plan = build_plan(batches, decision, venue, namespace="blue", specs=SPECS, unclaimed="adopt", now_ns=2 * 10**18)
    assert plan.report_text() and json.loads(plan.report_json())
    assert {s.trade_id for s in plan.slots} <= {s.trade_id for s in decision.slots} | {
        s.trade_id for s in plan.slots if s.source == "venue"
    }
    for tomb in plan.tombstones:
        assert tomb.quantity == 0 and tomb.notional == 0 and tomb.status == "TOMBSTONED"
    render_report(decision)
