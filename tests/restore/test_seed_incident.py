"""Regression for incident MALFORMED_OPEN_RESTORE_BUG: BLUE looped on restart because restore halted on a
stale zero-size OPEN row (ATOMUSDT leg 1a3d2f9c) and choked on a list-shaped capital ledger."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from dolphin_nautilus.restore import (
    RestoreStatus,
    decide,
    parse_capital_ledger,
    parse_live_entries,
    read_legacy_position_state,
    render_report,
    to_anomalies,
)

from .conftest import ATOM, BTC, KNOWN, MAX_BARS

T0 = dt.datetime(2026, 6, 11, 9, 0)
COLUMNS = [
    "trade_id",
    "asset",
    "side",
    "status",
    "quantity",
    "notional",
    "entry_price",
    "bars_held",
    "ts",
    "updated_at",
    "created_at",
]
# The legacy capital_update_ledger file: a LIST of entries (the old parser called .get on it).
LIST_LEDGER = [
    {"ts": "2026-06-11T08:00:00", "capital": 10_000.0, "reason": "start"},
    {"ts": "2026-06-11T09:30:00", "capital": 10_042.5, "reason": "trade"},
    {"ts": "2026-06-11T09:10:00", "capital": 10_020.0, "reason": "trade"},
]


def _seed_legacy_table(client, database):
    client.command(f"""CREATE TABLE {database}.position_state (
        trade_id String, asset String, side String, status String, quantity Float64, notional Float64,
        entry_price Float64, bars_held Int32, ts DateTime64(3), updated_at DateTime64(3), created_at DateTime64(3)
    ) ENGINE = MergeTree ORDER BY (trade_id, ts)""")
    at = lambda minutes: T0 + dt.timedelta(minutes=minutes)  # noqa: E731
    rows = [
        # The ATOM leg: opened, partially retracted, then retracted to nothing but persisted as OPEN.
        ["1a3d2f9c", "ATOMUSDT", "SHORT", "OPEN", 120.0, 960.0, 8.0, 30, at(0), at(0), at(0)],
        ["1a3d2f9c", "ATOMUSDT", "SHORT", "OPEN", 40.0, 320.0, 8.0, 33, at(20), at(20), at(0)],
        ["1a3d2f9c", "ATOMUSDT", "SHORT", "OPEN", 0.0, 0.0, 8.0, 34, at(25), at(25), at(0)],
        # A sane open BTC trade the restart must keep.
        ["77be01aa", "BTCUSDT", "LONG", "OPEN", 0.02, 1_300.0, 65_000.0, 12, at(5), at(5), at(5)],
        ["77be01aa", "BTCUSDT", "LONG", "OPEN", 0.01, 650.0, 65_000.0, 14, at(15), at(15), at(5)],
    ]
    client.insert(f"{database}.position_state", rows, column_names=COLUMNS)


def _assert_atom_leg_rejected(decision):
    assert all(s.trade_id != "1a3d2f9c" for s in decision.slots)
    assert all(s.instrument_id != ATOM for s in decision.slots)
    rejected = [r for r in decision.rejections if r.trade_id == "1a3d2f9c"]
    assert len(rejected) == 1
    assert rejected[0].kind == "retracted"
    assert "quantity 0.0" in rejected[0].reason and "notional 0.0" in rejected[0].reason
    assert '"bars_held":34' in rejected[0].raw_excerpt


def test_seed_incident_zero_size_open_atom_leg_1a3d2f9c_is_rejected_and_restore_continues(chdb_client, legacy_db):
    _seed_legacy_table(chdb_client, legacy_db)
    legacy = read_legacy_position_state(chdb_client, legacy_db)
    ledger = parse_capital_ledger(LIST_LEDGER)

    decision = decide([legacy, ledger], KNOWN, MAX_BARS, now_ns=1)

    assert decision.status is RestoreStatus.RESTORED  # never failed, never halted
    assert decision.internal_error is None
    _assert_atom_leg_rejected(decision)
    [btc] = decision.slots
    assert (btc.trade_id, btc.instrument_id, btc.quantity, btc.bars_held) == ("77be01aa", BTC, Decimal("0.01"), 14)
    assert btc.source == "legacy_position_state"
    assert decision.capital is not None and decision.capital.total == Decimal("10042.5")  # latest by ts
    assert decision.capital.entries_seen == 3
    anomalies = to_anomalies(decision, "blue", ts=7)
    assert [(a.code, a.trade_id, a.origin) for a in anomalies] == [("RESTORE_REJECTED", "1a3d2f9c", "restore")]
    report = render_report(decision)
    assert "1a3d2f9c" in report and "retracted" in report and "77be01aa" in report and "10042.5" in report


def test_seed_incident_only_bad_leg_goes_flat_not_failed(chdb_client, legacy_db):
    _seed_legacy_table(chdb_client, legacy_db)
    chdb_client.command(f"DELETE FROM {legacy_db}.position_state WHERE trade_id = '77be01aa'")
    decision = decide(
        [read_legacy_position_state(chdb_client, legacy_db), parse_capital_ledger(json.dumps(LIST_LEDGER))],
        KNOWN,
        MAX_BARS,
        now_ns=1,
    )
    assert decision.status is RestoreStatus.FLAT
    assert decision.slots == ()
    _assert_atom_leg_rejected(decision)
    assert decision.capital.total == Decimal("10042.5")  # the ledger as JSON text parses the same


def test_seed_incident_stale_live_entry_for_retracted_leg_does_not_come_back(chdb_client, legacy_db):
    """The live state still holds the leg at its last non-zero size, older than the zero-size row."""
    _seed_legacy_table(chdb_client, legacy_db)
    stale = {
        "trade_id": "1a3d2f9c",
        "instrument_id": ATOM,
        "side": "SHORT",
        "status": "OPEN",
        "quantity": "40",
        "notional": "320",
        "entry_price": "8",
        "bars_held": 33,
        "realized_pnl": "1.2",
        "fees": "0.4",
        "legs": 1,
        "seq": 2,
        "ts": int(dt.datetime(2026, 6, 11, 9, 20, tzinfo=dt.UTC).timestamp() * 1e9),
        "opened_ts": 1,
        "order_seq": 2,
    }
    live = parse_live_entries({"1a3d2f9c": json.dumps(stale, sort_keys=True), "account": LIST_LEDGER})

    decision = decide([live, read_legacy_position_state(chdb_client, legacy_db)], KNOWN, MAX_BARS, now_ns=1)

    assert [s.trade_id for s in decision.slots] == ["77be01aa"]
    superseded = [r for r in decision.rejections if r.trade_id == "1a3d2f9c"]
    assert [(r.source, r.kind) for r in superseded] == [
        ("hazelcast", "superseded"),
        ("legacy_position_state", "retracted"),
    ]
    assert "superseded by newer legacy_position_state OPEN qty=0.0" in superseded[0].reason
    assert decision.capital.source == "hazelcast" and decision.capital.total == Decimal("10042.5")
