"""One ordering rule within and across sources, restore totality on out-of-range values, sides from the venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.restore import decide, parse_live_entries, parse_position_state_rows
from dolphin_nautilus.restore.ordering import is_newer
from dolphin_nautilus.restore.venue_rules import complete_sides_from_venue, decide_with_dust

from .conftest import ATOM, BTC, ETH, KNOWN, MAX_BARS, cand

SPECS = {iid: BINGX_SPECS[iid] for iid in (ATOM, BTC, ETH)}


def run(*sources):
    decision = decide(list(sources), KNOWN, MAX_BARS, now_ns=99)
    assert decision.internal_error is None
    return decision


# ------------------------------------------------------------------------------------- one ordering rule


def test_newer_zero_size_open_without_seq_wins_within_a_source_and_across_sources_alike():
    """The issue's case: a seq-less retraction newer by ts than an OPEN with a seq. Neither has the other's
    key, both have a ts, so ts decides, the same whether the records share a source or not."""
    old_open = cand(seq=3, ts=1_000)
    retraction = cand(seq=None, ts=2_000, quantity=Decimal(0), notional=Decimal(0))
    within = run(("clickhouse", [old_open, retraction]))
    across = run(
        ("clickhouse", [old_open]),
        ("legacy", [cand(source="legacy", seq=None, ts=2_000, quantity=Decimal(0), notional=Decimal(0))]),
    )
    assert within.slots == () and across.slots == ()
    assert [r.kind for r in within.rejections] == ["retracted"]
    assert {r.kind for r in across.rejections} == {"superseded", "retracted"}


def test_record_with_neither_seq_nor_ts_is_rejected_and_takes_no_part():
    decision = run(("clickhouse", [cand(seq=1, ts=5), cand(seq=None, ts=None, status="CLOSED")]))
    assert [s.trade_id for s in decision.slots] == ["t1"]
    [r] = decision.rejections
    assert r.kind == "unordered" and "neither seq nor ts" in r.reason


def test_seq_only_against_ts_only_is_a_tie_settled_conservatively():
    decision = run(("clickhouse", [cand(seq=5, ts=None), cand(seq=None, ts=7, status="CLOSED")]))
    assert decision.slots == () and decision.closed_trades == 1
    assert [d.kind for d in decision.disagreements] == ["tie_in_source"]


def test_seq_and_ts_disagreeing_in_a_cycle_is_a_tie_settled_conservatively():
    a, b = cand(seq=1, ts=10), cand(seq=2, ts=5, status="CLOSED")
    c = cand(seq=None, ts=7)  # a > c (ts), c > b (ts), b > a (seq): no record is unbeaten
    assert is_newer(a, c) and is_newer(c, b) and is_newer(b, a)
    decision = run(("clickhouse", [a, b, c]))
    assert decision.slots == () and decision.closed_trades == 1


def test_end_record_newer_than_an_open_wins_in_any_source():
    for end in (
        cand(source="legacy", seq=None, ts=2_000, status="TOMBSTONED"),
        cand(source="legacy", seq=None, ts=2_000, quantity=Decimal(0)),
    ):
        decision = run(("hazelcast", [cand(source="hazelcast", seq=9, ts=1_000)]), ("legacy", [end]))
        assert decision.slots == ()


def test_live_entry_is_parsed_like_a_legacy_row_so_the_newer_live_record_wins():
    live_entry = {
        "trade_id": "t1",
        "instrument_id": BTC,
        "side": "LONG",
        "status": "OPEN",
        "quantity": "0.02",
        "notional": "1200",
        "bars_held": 4,
        "seq": 8,
        "ts": 2_000_000_000_000_000_000,
    }
    older_row = {
        **live_entry,
        "quantity": "0.01",
        "notional": "600",
        "entry_price": "60000",
        "realized_pnl": "0",
        "fees": "0",
        "legs": 0,
        "order_seq": 1,
        "seq": 7,
        "ts": 1_900_000_000_000_000_000,
    }
    live = parse_live_entries({"t1": live_entry}, "live_state")
    [candidate] = live.candidates
    assert (candidate.entry_price, candidate.realized_pnl, candidate.fees, candidate.legs, candidate.defects) == (
        Decimal(60000),
        0,
        0,
        0,
        (),
    )
    decision = run(live, parse_position_state_rows([older_row]))
    [slot] = decision.slots
    assert (slot.source, slot.quantity) == ("live_state", Decimal("0.02"))


# ------------------------------------------------------------------------------------- totality


def row(trade_id, iid, quantity="0.01", notional="600", **extra):
    return {
        "trade_id": trade_id,
        "instrument_id": iid,
        "side": "LONG",
        "status": "OPEN",
        "quantity": quantity,
        "notional": notional,
        "entry_price": "60000",
        "bars_held": 1,
        "seq": 1,
        "ts": 1_800_000_000_000_000_000,
        **extra,
    }


@pytest.mark.parametrize("field", ["quantity", "notional", "entry_price", "realized_pnl", "fees"])
@pytest.mark.parametrize("huge", ["1e24", "-1e24", 1e24, "1E+999999", "9" * 400, 10**40])
def test_one_huge_number_is_one_rejection_and_the_valid_slot_beside_it_is_restored(field, huge):
    rows = [row("ok", ETH, quantity="1", notional="3000", entry_price="3000"), row("bad", BTC, **{field: huge})]
    decision = decide_with_dust([parse_position_state_rows(rows)], SPECS, MAX_BARS, now_ns=1)
    assert decision.internal_error is None
    assert [s.trade_id for s in decision.slots] == ["ok"]
    [bad] = [r for r in decision.rejections if r.trade_id == "bad"]
    assert bad.kind == "invalid" and "beyond the sane bound" in bad.reason


def test_hand_built_candidates_with_huge_values_are_rejected_not_raised():
    bad = cand(trade_id="bad", quantity=Decimal("1E+24"), notional=Decimal("1E+999999999"))
    snan = cand(trade_id="snan", instrument_id=ATOM, fees=Decimal("sNaN"), seq=2**80)
    decision = decide_with_dust(
        [
            (
                "clickhouse",
                [
                    bad,
                    snan,
                    cand(
                        trade_id="ok",
                        instrument_id=ETH,
                        entry_price=Decimal(3000),
                        quantity=Decimal(1),
                        notional=Decimal(3000),
                    ),
                ],
            )
        ],
        SPECS,
        MAX_BARS,
        now_ns=1,
    )
    assert [s.trade_id for s in decision.slots] == ["ok"]
    reasons = {r.trade_id: r.reason for r in decision.rejections}
    assert "quantity 1E+24 beyond the sane bound" in reasons["bad"]
    assert "seq beyond int64" in reasons["snan"] and "fees NaN is not finite" in reasons["snan"]


def test_a_tiny_size_reads_as_zero_so_it_is_a_retraction():
    [c] = parse_position_state_rows([row("t", BTC, quantity="1e-30")]).candidates
    assert c.quantity == 0
    assert [r.kind for r in decide([("x", [c])], KNOWN, MAX_BARS, 1).rejections] == ["retracted"]


@pytest.mark.parametrize("ts", [1e309, "1e309", float("inf"), "NaN", 2**64, -1, True, {"a": 1}, "9999-99-99", 0])
def test_insane_ts_is_a_defect_and_without_a_seq_the_record_is_unordered(ts):
    [c] = parse_position_state_rows([row("t", BTC, ts=ts, seq=None)]).candidates
    assert c.ts is None and any(d.startswith("ts unreadable") for d in c.defects)
    assert [r.kind for r in decide([("x", [c])], KNOWN, MAX_BARS, 1).rejections] == ["unordered"]


def test_wrong_types_in_a_candidate_reject_that_candidate_only():
    wrong = cand(trade_id="w", quantity=1.5)  # a float where a Decimal belongs
    decision = run(("clickhouse", [wrong, cand(trade_id="ok", instrument_id=ETH)]))
    assert [s.trade_id for s in decision.slots] == ["ok"]
    [r] = decision.rejections
    assert r.trade_id == "w" and "quantity is a float" in r.reason


# ------------------------------------------------------------------------------------- side from the venue


def sideless(qty="0.01", iid=BTC):
    return parse_position_state_rows(
        [{k: v for k, v in row("t1", iid, quantity=qty, notional=str(Decimal(qty) * 60000)).items() if k != "side"}]
    )


@pytest.mark.parametrize(("venue_qty", "side"), [("0.01", "LONG"), ("-0.01", "SHORT"), ("0.01004", "LONG")])
def test_sideless_candidate_takes_the_venue_side_when_quantities_agree_within_precision(venue_qty, side):
    [batch] = complete_sides_from_venue([sideless()], {BTC: (Decimal(venue_qty), Decimal(60000))}, SPECS)
    [c] = batch.candidates
    assert (c.side, c.defects) == (side, ())
    assert [s.side for s in decide_with_dust([batch], SPECS, MAX_BARS, 1).slots] == [side]


@pytest.mark.parametrize(
    ("venue", "reason"),
    [
        ({BTC: (Decimal("0.02"), Decimal(1))}, "venue holds 0.02"),
        ({BTC: (Decimal(0), Decimal(0))}, "venue is flat"),
        ({}, "venue is flat"),
        ({BTC: (Decimal("NaN"), Decimal(0))}, "not a sane number"),
        ({BTC: ("x", 1)}, "not a sane number"),
    ],
)
def test_sideless_candidate_is_rejected_with_the_reason_when_the_venue_disagrees(venue, reason):
    [batch] = complete_sides_from_venue([sideless()], venue, SPECS)
    decision = decide_with_dust([batch], SPECS, MAX_BARS, 1)
    assert decision.slots == ()
    [r] = decision.rejections
    assert "side missing and not completed from the venue" in r.reason and reason in r.reason


def test_batches_without_sideless_candidates_are_returned_unchanged():
    batch = parse_position_state_rows([row("t1", BTC)])
    assert complete_sides_from_venue([batch], {}, SPECS) == [batch]
