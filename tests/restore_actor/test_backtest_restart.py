"""Restore end to end in real backtests (child processes, chDB + local live state): a run split by a
restart matches the unbroken run, and the seed incident's stores restore without halting."""

from __future__ import annotations

import json

import pandas as pd

from .conftest import finish, start_backtest

SPLIT = pd.Timestamp("2026-09-02T13:00", tz="UTC").value  # two slots are open at this point


def _opened(runs: list[dict]) -> dict[str, tuple[str, int]]:
    out = {}
    for run in runs:
        for t in run["trades"]:
            out[t["trade_id"]] = (t["instrument_id"], t["opened_ts"])
        for s in run["open_slots"]:
            out[s["trade_id"]] = (s["instrument_id"], s["opened_ts"])
    return out


def trades_key(runs: list[dict]) -> list[tuple]:
    # Trade ids differ after a restart (the book's trade counter restarts), so trades compare by content.
    # Entry quantity is left out: position_state does not carry it, so a restored trade reports its
    # remaining size as its quantity.
    return sorted(
        (t["instrument_id"], t["opened_ts"], t["side"], t["exit_reason"], t["bars_held"], t["legs"])
        for run in runs
        for t in run["trades"]
    )


def legs_key(runs: list[dict]) -> list[tuple]:
    opened = _opened(runs)
    return sorted(
        (
            opened[leg["trade_id"]],
            leg["leg_no"],
            leg["reason"],
            leg["quantity"],
            leg["price"],
            leg["remaining_quantity"],
            leg["is_final"],
        )
        for run in runs
        for leg in run["legs"]
    )


def test_split_run_restarted_from_the_same_stores_matches_the_unbroken_run(bt_files, tmp_path):
    config, data = bt_files
    unbroken = start_backtest(config, data, tmp_path / "a", tmp_path / "run_a")
    first = start_backtest(config, data, tmp_path / "b", tmp_path / "run_b1", "--until", str(SPLIT))
    a, b1 = finish(unbroken), finish(first)
    assert len(b1["open_slots"]) == 2  # the restart has something to restore
    # B2: the same stores, all bars from the start; bars up to the split only warm up the signal models.
    b2 = finish(start_backtest(config, data, tmp_path / "b", tmp_path / "run_b2", "--trade-from", str(SPLIT + 1)))

    report = json.loads((tmp_path / "b" / "restore_report.json").read_text())
    assert report["decision"]["status"] == "RESTORED" and report["safe_mode"] == []
    assert sorted(s["trade_id"] for s in report["slots"]) == sorted(s["trade_id"] for s in b1["open_slots"])
    assert len(a["trades"]) > 10
    assert trades_key([b1, b2]) == trades_key([a])
    assert legs_key([b1, b2]) == legs_key([a])
    assert [
        (s["instrument_id"], s["opened_ts"], s["side"], s["quantity"], s["bars_held"]) for s in b2["open_slots"]
    ] == [(s["instrument_id"], s["opened_ts"], s["side"], s["quantity"], s["bars_held"]) for s in a["open_slots"]]


def test_seed_incident_legacy_zero_size_atom_leg_is_rejected_and_the_strategy_trades(bt_files, tmp_path):
    config, data = bt_files
    run = finish(start_backtest(config, data, tmp_path / "s", tmp_path / "run", "--seed-incident"))

    restore = [a for a in run["anomalies"] if a["origin"] == "restore"]
    rejected = [a for a in restore if a["code"] == "RESTORE_REJECTED" and a["trade_id"] == "1a3d2f9c"]
    assert len(rejected) == 1 and "quantity 0.0" in rejected[0]["message"]
    assert not [a for a in restore if a["severity"] == "CRITICAL"]  # restore did not fail
    report = json.loads((tmp_path / "s" / "restore_report.json").read_text())
    assert report["decision"]["status"] == "FLAT" and report["decision"]["internal_error"] is None
    assert report["safe_mode"] == []
    assert report["decision"]["capital"]["total"] == "10042.5"  # the list-shaped ledger was read
    assert "1a3d2f9c" in (tmp_path / "s" / "restore_report.txt").read_text()
    # The leg was OPEN in the legacy table, so restore tombstoned it in ours: the next start reads it as gone.
    assert {"trade_id": "1a3d2f9c", "status": "TOMBSTONED", "seq": 1} in run["position_state_latest"]
    assert run["entries_blocked"] == ""
    assert len(run["trades"]) > 0
