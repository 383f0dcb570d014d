"""Adopting a venue position nobody claims is loud (code in the report header), and a config can refuse it."""

from __future__ import annotations

from decimal import Decimal

from tests.restore_actor.test_plan import BTC, ETH, plan_for, row


def test_an_adoption_leads_the_report_header_with_its_code_never_as_flat():
    plan = plan_for([], [], venue={ETH: (Decimal("-0.5"), Decimal("3100"))}, unclaimed="adopt")
    header, *rest = plan.report_text().splitlines()
    assert plan.decision.status == "FLAT" and len(plan.slots) == 1  # nothing from history, one taken over
    assert "RESTORE FLAT: 0 slot(s) restored" not in header
    assert "WARNING RESTORE_VENUE_UNCLAIMED: 1 unclaimed venue position(s) taken over (ETH-USDT-PERP.BINGX)" in header
    assert any("[WARNING RESTORE_VENUE_UNCLAIMED] ETH-USDT-PERP.BINGX: venue holds -0.5" in line for line in rest)
    [fact] = [a for a in plan.anomalies if a.code == "RESTORE_VENUE_UNCLAIMED"]
    assert fact.severity == "WARNING" and fact.instrument_id == ETH


def test_a_plain_restore_keeps_its_plain_header():
    plan = plan_for([row("b")], [], venue={BTC: (Decimal("0.01"), Decimal("60000"))})
    assert plan.report_text().splitlines()[0].startswith("RESTORE RESTORED: 1 slot(s) restored from history")


def test_refuse_leaves_the_position_alone_in_safe_mode_and_asks_the_operator():
    plan = plan_for(
        [row("b")],
        [],
        venue={BTC: (Decimal("0.01"), Decimal("60000")), ETH: (Decimal("-0.5"), Decimal("3100"))},
        unclaimed="refuse",
    )
    assert [s.trade_id for s in plan.slots] == ["b"] and plan.flatten == []  # ours restored; ETH not taken
    [reason] = plan.safe_mode
    assert "ETH-USDT-PERP.BINGX" in reason and "adoption refused by config" in reason
    assert "dolphin-ctl flatten" in reason
    [fact] = [a for a in plan.anomalies if a.code == "RESTORE_VENUE_UNCLAIMED_REFUSED"]
    assert fact.severity == "ERROR" and fact.instrument_id == ETH
    header = plan.report_text().splitlines()[0]
    assert "ERROR RESTORE_VENUE_UNCLAIMED_REFUSED: 1 unclaimed venue position(s) left alone, safe mode" in header
    assert "Safe mode: venue holds -0.5 ETH-USDT-PERP.BINGX" in plan.report_text()
