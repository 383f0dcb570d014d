"""decide(): each validation rule, latest-first filtering, precedence, fallback and disagreement."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest

from dolphin_nautilus.restore import (
    Candidate,
    CapitalSnapshot,
    RestoreStatus,
    SourceBatch,
    decide,
    decision_to_json,
    render_report,
    to_anomalies,
)

from .conftest import ATOM, BTC, ETH, KNOWN, MAX_BARS, cand

INF, NAN = Decimal("Infinity"), Decimal("NaN")


def run(*sources):
    decision = decide(list(sources), KNOWN, MAX_BARS, now_ns=99)
    assert decision.internal_error is None
    return decision


def restored(decision):
    return {(s.trade_id, s.source, s.quantity) for s in decision.slots}


# ------------------------------------------------------------------------------------- validity rules


@pytest.mark.parametrize(
    ("override", "reason_part"),
    [
        ({"status": "PENDING"}, "status 'PENDING' is not OPEN"),
        ({"quantity": NAN}, "quantity NaN"),
        ({"quantity": INF}, "quantity Infinity"),
        ({"quantity": -INF, "notional": Decimal(5)}, "quantity -Infinity"),
        ({"notional": NAN}, "notional NaN"),
        ({"notional": INF}, "notional Infinity"),
        ({"entry_price": Decimal(0)}, "entry_price 0"),
        ({"entry_price": NAN}, "entry_price NaN"),
        ({"realized_pnl": NAN}, "realized_pnl NaN"),
        ({"fees": INF}, "fees Infinity"),
        ({"instrument_id": "DOGE-USDT-PERP.BINGX"}, "not a known instrument"),
        ({"instrument_id": ""}, "not a known instrument"),
        ({"bars_held": MAX_BARS + 1}, "bars_held 251 outside 0..250"),
        ({"bars_held": -1}, "bars_held -1 outside"),
        ({"bars_held": None}, "bars_held None outside"),
        ({"side": "FLAT"}, "side 'FLAT' is not LONG or SHORT"),
        ({"legs": -2}, "legs -2 is negative"),
        ({"defects": ("seq not an integer: 'x'",)}, "seq not an integer"),
    ],
)
def test_invalid_candidate_is_rejected_with_its_reason_and_never_restored(override, reason_part):
    decision = run(("clickhouse", [cand(**override)]))
    assert decision.slots == ()
    assert decision.status is RestoreStatus.FLAT
    [rejection] = decision.rejections
    assert rejection.kind == "invalid" and rejection.trade_id == "t1"
    assert reason_part in rejection.reason


@pytest.mark.parametrize(
    "override",
    [{"quantity": Decimal(0)}, {"notional": Decimal(0)}, {"quantity": Decimal("-0.5")}, {"notional": Decimal(-1)}],
)
def test_open_with_nothing_left_is_a_retraction(override):
    decision = run(("clickhouse", [cand(**override)]))
    assert decision.slots == ()
    assert [r.kind for r in decision.rejections] == ["retracted"]


@pytest.mark.parametrize("bars_held", [0, MAX_BARS])
def test_bars_held_bounds_are_inclusive(bars_held):
    assert restored(run(("clickhouse", [cand(bars_held=bars_held)]))) == {("t1", "clickhouse", Decimal("0.01"))}


def test_valid_slot_carries_every_field_restore_slot_needs():
    [slot] = run(("clickhouse", [cand(realized_pnl=Decimal("-1.5"), legs=2, order_seq=7)])).slots
    assert slot.slot_fields() == {
        "trade_id": "t1",
        "instrument_id": BTC,
        "side": "LONG",
        "quantity": Decimal("0.01"),
        "entry_price": Decimal("60000"),
        "bars_held": 3,
        "realized_pnl": Decimal("-1.5"),
        "fees": Decimal("0.3"),
        "legs": 2,
        "opened_ts": 500,
        "order_seq": 7,
    }


def test_closed_latest_is_history_not_a_rejection():
    decision = run(("clickhouse", [cand(seq=1), cand(seq=2, status="CLOSED")]))
    assert decision.slots == () and decision.rejections == () and decision.closed_trades == 1


# ------------------------------------------------------------------------------------- latest first


def test_latest_zero_size_open_hides_older_non_zero_open_rows():
    rows = [
        cand(seq=1, quantity=Decimal(3)),
        cand(seq=3, quantity=Decimal(0), notional=Decimal(0)),
        cand(seq=2, quantity=Decimal(1)),
    ]
    decision = run(("clickhouse", rows))
    assert decision.slots == ()
    [rejection] = decision.rejections
    assert rejection.kind == "retracted"


def test_highest_seq_decides_then_ts():
    rows = [
        cand(seq=2, ts=10, quantity=Decimal(1)),
        cand(seq=2, ts=30, quantity=Decimal(2)),
        cand(seq=1, ts=99, quantity=Decimal(3)),
    ]
    assert restored(run(("clickhouse", rows))) == {("t1", "clickhouse", Decimal(2))}


def test_latest_invalid_record_hides_older_valid_rows_of_its_source():
    rows = [cand(seq=1), cand(seq=2, quantity=NAN)]
    decision = run(("clickhouse", rows))
    assert decision.slots == ()
    assert decision.rejections[0].kind == "invalid"


def test_tie_in_source_is_resolved_conservatively_and_recorded():
    rows = [cand(seq=4, ts=5, quantity=Decimal(2)), cand(seq=4, ts=5, status="CLOSED")]
    decision = run(("clickhouse", rows))
    assert decision.slots == ()
    [tie] = decision.disagreements
    assert tie.kind == "tie_in_source" and "CLOSED" in tie.detail
    assert decide([("clickhouse", list(reversed(rows)))], KNOWN, MAX_BARS, 99) == decision  # order-independent


def test_identical_duplicates_are_not_a_tie():
    decision = run(("clickhouse", [cand(seq=4), cand(seq=4)]))
    assert len(decision.slots) == 1 and decision.disagreements == ()


# ------------------------------------------------------------------------------------- across sources


def test_same_values_written_with_different_decimal_scales_are_not_a_disagreement():
    # ClickHouse Decimal(38,18) reads back 0.010000000000000000; the live state holds "0.01".
    padded = dict(
        quantity=Decimal("0.010000000000000000"),
        notional=Decimal("600.000000000000000000"),
        fees=Decimal("0.300000000000000000"),
    )
    decision = run(("hazelcast", [cand(source="hazelcast", seq=4)]), ("clickhouse", [cand(seq=4, **padded)]))
    assert len(decision.slots) == 1 and decision.disagreements == ()
    different = run(
        ("hazelcast", [cand(source="hazelcast", seq=4)]),
        ("clickhouse", [cand(seq=4, quantity=Decimal("0.011000000000000000"))]),
    )
    assert [d.kind for d in different.disagreements] == ["tie_across_sources"]


def test_newest_valid_record_wins_and_the_disagreement_is_recorded():
    decision = run(
        ("hazelcast", [cand(source="hazelcast", seq=5, quantity=Decimal(2))]),
        ("clickhouse", [cand(seq=7, quantity=Decimal(1))]),
    )
    assert restored(decision) == {("t1", "clickhouse", Decimal(1))}
    [d] = decision.disagreements
    assert d.kind == "sources_differ" and d.chosen_source == "clickhouse" and "quantity 1 vs 2" in d.detail
    assert decision.sources_used == ("clickhouse",)


def test_closed_newer_in_any_source_supersedes_open():
    decision = run(("hazelcast", [cand(source="hazelcast", seq=5)]), ("clickhouse", [cand(seq=6, status="TOMBSTONED")]))
    assert decision.slots == ()
    [r] = decision.rejections
    assert (r.source, r.kind) == ("hazelcast", "superseded") and "TOMBSTONED" in r.reason


def test_closed_older_than_open_in_another_source_keeps_open_and_records_it():
    decision = run(("hazelcast", [cand(source="hazelcast", seq=9)]), ("clickhouse", [cand(seq=8, status="CLOSED")]))
    assert restored(decision) == {("t1", "hazelcast", Decimal("0.01"))}
    assert [d.kind for d in decision.disagreements] == ["closed_older_than_open"]


def test_legacy_rows_without_seq_compare_by_ts_across_sources():
    legacy_close = cand(source="legacy", seq=None, ts=2_000, status="CLOSED")
    decision = run(("hazelcast", [cand(source="hazelcast", seq=3, ts=1_000)]), ("legacy", [legacy_close]))
    assert decision.slots == () and decision.rejections[0].kind == "superseded"


def test_newer_corrupt_claim_falls_back_to_older_valid_claim_of_next_source():
    decision = run(("hazelcast", [cand(source="hazelcast", seq=9, instrument_id="???")]), ("clickhouse", [cand(seq=8)]))
    assert restored(decision) == {("t1", "clickhouse", Decimal("0.01"))}
    [r] = decision.rejections
    assert r.source == "hazelcast" and "restored from clickhouse instead" in r.reason


def test_equally_new_claims_prefer_the_first_source_and_record_the_tie():
    decision = run(("hazelcast", [cand(source="hazelcast", quantity=Decimal(2))]), ("clickhouse", [cand()]))
    assert restored(decision) == {("t1", "hazelcast", Decimal(2))}
    assert [d.kind for d in decision.disagreements] == ["tie_across_sources"]


def test_unreachable_preferred_source_degrades_and_falls_back():
    decision = run(("hazelcast", None), ("clickhouse", [cand()]))
    assert decision.status is RestoreStatus.DEGRADED
    assert restored(decision) == {("t1", "clickhouse", Decimal("0.01"))}
    assert decision.unreachable == (("hazelcast", "source unreachable"),)
    assert decision.sources_read == ("clickhouse",)


def test_all_sources_unreachable_is_degraded_flat_not_failed():
    decision = run(SourceBatch(name="hazelcast", unreachable="timeout"), ("clickhouse", None))
    assert decision.status is RestoreStatus.DEGRADED and decision.slots == ()
    assert {a.code for a in to_anomalies(decision, "blue", 1)} == {"RESTORE_SOURCE_UNREACHABLE"}


def test_order_seq_is_the_highest_any_source_recorded():
    decision = run(
        ("hazelcast", [cand(source="hazelcast", seq=5, order_seq=3)]),
        ("clickhouse", [cand(seq=4, order_seq=6), cand(seq=1, order_seq=2)]),
    )
    [slot] = decision.slots
    assert slot.source == "hazelcast" and slot.order_seq == 6


# ------------------------------------------------------------------------------------- one per instrument


def test_two_trades_on_one_instrument_keep_the_newest():
    decision = run(
        (
            "clickhouse",
            [
                cand(trade_id="old", seq=3, ts=100),
                cand(trade_id="new", seq=1, ts=200),
                cand(trade_id="eth", instrument_id=ETH),
            ],
        )
    )
    assert {s.trade_id for s in decision.slots} == {"new", "eth"}
    [r] = decision.rejections
    assert (r.trade_id, r.kind) == ("old", "instrument_conflict") and "newer trade new" in r.reason


# ------------------------------------------------------------------------------------- outputs


def test_capital_comes_from_the_first_source_that_has_one():
    snapshot = CapitalSnapshot(
        source="ledger", currency="USDT", total=Decimal(5), free=None, locked=None, ts=None, entries_seen=1
    )
    decision = run(("hazelcast", []), SourceBatch(name="ledger", capital=snapshot, warnings=("w",)))
    assert decision.capital == snapshot and decision.warnings == ("w",)


def test_anomalies_are_deterministic_restore_facts_with_namespace_details():
    decision = run(("clickhouse", [cand(quantity=NAN), cand(trade_id="t2", instrument_id=ATOM, seq=2)]))
    first = to_anomalies(decision, "blue", ts=42)
    again = to_anomalies(
        decide(
            [("clickhouse", [cand(quantity=NAN), cand(trade_id="t2", instrument_id=ATOM, seq=2)])], KNOWN, MAX_BARS, 99
        ),
        "blue",
        42,
    )
    assert [a.row_id for a in first] == [a.row_id for a in again]
    [a] = first
    assert (a.origin, a.code, a.severity, a.trade_id, a.ts) == ("restore", "RESTORE_REJECTED", "WARNING", "t1", 42)
    assert json.loads(a.details)["namespace"] == "blue"


def test_json_form_round_trips_and_report_names_every_rejection():
    decision = run(
        ("hazelcast", [cand(source="hazelcast", seq=5, quantity=Decimal(2))]),
        ("clickhouse", [cand(seq=7), cand(trade_id="bad", instrument_id=ETH, bars_held=999)]),
    )
    as_dict = json.loads(decision_to_json(decision))
    assert as_dict["status"] == "RESTORED" and as_dict["slots"][0]["quantity"] == "0.01"
    assert msgspec.json.decode(decision_to_json(decision), type=type(decision)) == decision
    report = render_report(decision)
    assert "RESTORE RESTORED: 1 slot(s)" in report and "bars_held 999 outside" in report
    assert "[sources_differ] trade=t1 chose clickhouse" in report


def test_non_candidate_items_are_rejected_not_raised():
    decision = run(("clickhouse", [cand(), "garbage", None]))
    assert len(decision.slots) == 1 and len(decision.rejections) == 2
    assert all(isinstance(c, Candidate) for c in [cand()])
