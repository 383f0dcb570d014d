"""The actor's pure core: dust rule, venue rules (docs/design.md §5.5), tombstones, the fallback outcome."""

from __future__ import annotations

from decimal import Decimal

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.restore.candidates import parse_position_state_rows
from dolphin_nautilus.restore.live_entries import parse_live_entries
from dolphin_nautilus.restore.outcome import fallback_plan
from dolphin_nautilus.restore.plan import build_plan, decide_plan
from dolphin_nautilus.restore.venue_rules import decide_with_dust

BTC, ETH = "BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"
SPECS = {BTC: BINGX_SPECS[BTC], ETH: BINGX_SPECS[ETH]}
NOW = 10**18


def row(trade_id, iid=BTC, status="OPEN", qty="0.01", px="60000", seq=3, ts=1_000, side="LONG"):
    return {
        "trade_id": trade_id,
        "instrument_id": iid,
        "side": side,
        "status": status,
        "quantity": qty,
        "notional": str(Decimal(qty) * Decimal(px)),
        "entry_price": px,
        "bars_held": 4,
        "realized_pnl": "0",
        "fees": "0.1",
        "legs": 0,
        "seq": seq,
        "ts": ts,
        "opened_ts": 500,
        "order_seq": 2,
    }


def plan_for(live_rows, ch_rows, venue=None, unclaimed="adopt"):
    batches = [
        parse_live_entries({r["trade_id"]: r for r in live_rows}, "live_state"),
        parse_position_state_rows(ch_rows),
    ]
    decision = decide_with_dust(batches, SPECS, 250, NOW)
    return build_plan(batches, decision, venue, namespace="t", specs=SPECS, unclaimed=unclaimed, now_ns=NOW)


def test_dust_slot_is_a_recorded_rejection_and_is_tombstoned():
    plan = plan_for([row("dust", qty="0.00005")], [])  # below BTC's 0.0001 minimum quantity
    assert plan.slots == [] and plan.decision.status == "FLAT"
    [rejection] = [r for r in plan.decision.rejections if r.trade_id == "dust"]
    assert rejection.kind == "dust" and "effectively zero" in rejection.reason
    [tomb] = plan.tombstones
    assert (tomb.trade_id, tomb.status, tomb.quantity, tomb.seq) == ("dust", "TOMBSTONED", 0, 4)
    assert {a.code for a in plan.anomalies} >= {"RESTORE_REJECTED", "RESTORE_TOMBSTONED"}


def test_clickhouse_closed_supersedes_a_stale_live_open_which_is_tombstoned():
    plan = plan_for([row("t1", seq=3)], [row("t1", status="CLOSED", qty="0", seq=4, ts=2_000)])
    assert plan.slots == []
    [tomb] = plan.tombstones
    assert tomb.seq == 5 and tomb.ts >= NOW


def test_venue_same_side_adopts_venue_quantity_flat_venue_tombstones():
    plan = plan_for(
        [row("b", qty="0.01"), row("e", iid=ETH, qty="1", px="3000")],
        [],
        venue={BTC: (Decimal("0.004"), Decimal("61000"))},
    )
    [btc] = plan.slots
    assert (btc.trade_id, btc.quantity, btc.entry_price) == ("b", Decimal("0.004"), Decimal("60000"))
    assert [t.trade_id for t in plan.tombstones] == ["e"]  # the venue is flat on ETH
    assert plan.safe_mode == [] and plan.venue == "reconciled"


def test_venue_unavailable_keeps_candidates_in_safe_mode_and_writes_no_tombstone():
    plan = plan_for([row("b")], [], venue="VenueUnavailable: timeout")
    assert [s.trade_id for s in plan.slots] == ["b"] and plan.tombstones == []
    assert plan.safe_mode and "venue positions unknown" in plan.safe_mode[0]
    assert any(a.code == "VENUE_UNAVAILABLE" and a.severity == "ERROR" for a in plan.anomalies)


def test_unclaimed_venue_position_is_adopted_or_flattened_by_config():
    venue = {ETH: (Decimal("-0.5"), Decimal("3100"))}
    adopt = plan_for([], [], venue=venue, unclaimed="adopt")
    [slot] = adopt.slots
    assert (slot.instrument_id, slot.side, slot.quantity, slot.source) == (ETH, "SHORT", Decimal("0.5"), "venue")
    assert adopt.flatten == []
    flatten = plan_for([], [], venue=venue, unclaimed="flatten")
    assert flatten.flatten == [ETH] and len(flatten.slots) == 1


def test_fallback_is_flat_safe_mode_and_critical():
    plan = fallback_plan("restore did not finish within timeout_s=0.1", "RESTORE_TIMEOUT", namespace="t", now_ns=1)
    assert plan.slots == [] and plan.safe_mode and plan.book_slots() == []
    [anomaly] = plan.anomalies
    assert (anomaly.code, anomaly.severity, anomaly.origin) == ("RESTORE_TIMEOUT", "CRITICAL", "restore")
    assert "RESTORE DEGRADED" in plan.report_text()


def _sideless_batches(qty="0.01"):
    entry = {k: v for k, v in row("s1", qty=qty).items() if k != "side"}
    return [parse_live_entries({"s1": entry}, "live_state"), parse_position_state_rows([])]


def test_the_actor_asks_the_venue_before_deciding_so_a_sideless_candidate_takes_its_side():
    venue = {BTC: (Decimal("-0.01"), Decimal("60000"))}
    plan = decide_plan(
        _sideless_batches(), venue, namespace="t", specs=SPECS, max_bars_held=250, unclaimed="adopt", now_ns=NOW
    )
    [slot] = plan.slots
    assert (slot.trade_id, slot.side, slot.quantity) == ("s1", "SHORT", Decimal("0.01"))
    assert plan.decision.status == "RESTORED" and not plan.decision.rejections


def test_a_sideless_candidate_the_venue_does_not_vouch_for_is_rejected_with_the_reason():
    venue = {BTC: (Decimal("0.02"), Decimal("60000"))}  # the venue holds a different size: no side taken
    plan = decide_plan(
        _sideless_batches(), venue, namespace="t", specs=SPECS, max_bars_held=250, unclaimed="adopt", now_ns=NOW
    )
    [rejection] = [r for r in plan.decision.rejections if r.trade_id == "s1"]
    assert "not completed from the venue" in rejection.reason and "0.02" in rejection.reason
    assert [s.source for s in plan.slots] == ["venue"]  # the venue's position is adopted as unclaimed
    # Without venue truth (backtest) the candidate cannot take a side and is rejected, never guessed.
    none = decide_plan(
        _sideless_batches(), None, namespace="t", specs=SPECS, max_bars_held=250, unclaimed="adopt", now_ns=NOW
    )
    assert none.slots == [] and [r.trade_id for r in none.decision.rejections] == ["s1"]
