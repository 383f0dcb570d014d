"""Hostile values through the RestoreActor inside a BacktestEngine (a handful of examples; the pure path has its
own hypothesis run of 120 in tests/restore/test_hostile_sources.py): restore always finishes RESTORED, FLAT or
DEGRADED, and restores exactly the trades the pure oracle allows: never an invalid or superseded one, never
losing a valid one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dolphin_nautilus.backtest.contracts_snapshot import load_contracts_snapshot
from dolphin_nautilus.restore import parse_live_entries, parse_position_state_rows
from dolphin_nautilus.restore.venue_rules import decide_with_dust
from dolphin_nautilus.state.store import decode_entries
from tests.restore.test_fuzz import check_decision
from tests.restore.test_hostile_sources import as_json, rows

from .conftest import INSTRUMENTS, REPO

UNTIL = pd.Timestamp("2026-09-01T00:10", tz="UTC").value  # ten bars: the actor restores on start
BTC, ETH = INSTRUMENTS


@st.composite
def our_rows(draw):
    """position_state rows as the journal writes them: typed, sane numbers; statuses, sizes and seqs vary."""
    iid = draw(st.sampled_from([BTC, ETH]))
    price = {BTC: 60000, ETH: 3000}[iid]
    status = draw(st.sampled_from(["OPEN", "OPEN", "CLOSED", "TOMBSTONED"]))
    qty = "0" if status != "OPEN" else draw(st.sampled_from(["0.01", "1", "0"]))
    return {
        "trade_id": draw(st.sampled_from(["t1", "t2", "t3", "t4"])),
        "instrument_id": iid,
        "side": draw(st.sampled_from(["LONG", "SHORT"])),
        "status": status,
        "quantity": qty,
        "notional": str(Decimal(qty) * price),
        "entry_price": str(price),
        "bars_held": draw(st.integers(0, 5)),
        "ts": 1_781_172_000_000_000_000 + draw(st.integers(0, 3)) * 60_000_000_000,
        "seq": draw(st.integers(1, 4)),
        "realized_pnl": "0",
        "fees": "0.1",
        "legs": 0,
        "opened_ts": 1_781_100_000_000_000_000,
        "order_seq": 1,
    }


def _live(trade_id: str, **fields: object) -> str:
    base = {"trade_id": trade_id, "instrument_id": ETH, "side": "LONG", "status": "OPEN", "quantity": "1"}
    base.update(notional="3000", entry_price="3000", bars_held=2, ts=1_781_172_000_000_000_000 + 10**9)
    return as_json({**base, **fields})


# One huge number, a torn entry, NaN as a float, and a live OPEN superseded by a newer CLOSED in ClickHouse,
# beside one valid trade that must survive all of them.
HOSTILE_EXAMPLE = (
    {
        "t1": _live("t1"),  # valid, but closed later in ClickHouse
        "t4": _live("t4", quantity=1e24, notional="1e28"),
        "t2": _live("t2", instrument_id=BTC, quantity="0.01", notional="600", entry_price="60000"),
        "t3": '{"torn": ',
        "heartbeat": _live("t4", entry_price=float("nan")),
    },
    [
        {
            "trade_id": "t2",
            "instrument_id": BTC,
            "side": "LONG",
            "status": "OPEN",
            "quantity": "0.01",
            "notional": "600",
            "entry_price": "60000",
            "bars_held": 1,
            "ts": 1_781_172_000_000_000_000,
            "seq": 1,
            "realized_pnl": "0",
            "fees": "0.1",
            "legs": 0,
            "opened_ts": 1_781_100_000_000_000_000,
            "order_seq": 1,
        },
        {
            "trade_id": "t1",
            "instrument_id": ETH,
            "side": "LONG",
            "status": "CLOSED",
            "quantity": "0",
            "notional": "0",
            "entry_price": "3000",
            "bars_held": 3,
            "ts": 1_781_172_000_000_000_000 + 5 * 10**9,
            "seq": 7,
            "realized_pnl": "0",
            "fees": "0.1",
            "legs": 1,
            "opened_ts": 1_781_100_000_000_000_000,
            "order_seq": 2,
        },
    ],
)

live_texts = st.one_of(rows().map(as_json), st.sampled_from(['{"torn": ', "[1]", "17", ""]))


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    st.dictionaries(st.sampled_from(["t1", "t2", "t3", "heartbeat"]), live_texts, max_size=3),
    st.lists(our_rows(), max_size=5, unique_by=lambda r: (r["trade_id"], r["seq"])),
)
@example(*HOSTILE_EXAMPLE)
def test_hostile_sources_through_the_actor_in_a_backtest_engine(bt_files, tmp_path_factory, live, ours):
    config, data = bt_files
    state = tmp_path_factory.mktemp("hostile")
    example = state / "example.json"
    example.write_text(json.dumps({"live": live, "ours": ours}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.restore_actor.hostile_child",
            str(config),
            str(state),
            str(data),
            str(example),
            str(UNTIL),
        ],
        cwd=REPO,
        capture_output=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    out = json.loads(done.stdout)
    report = out["report"]
    assert report["decision"]["status"] in ("RESTORED", "FLAT", "DEGRADED")
    assert report["decision"]["internal_error"] is None and report["safe_mode"] == []
    # The oracle, on exactly what the actor read: the live entries decoded one by one, our latest rows.
    read = decode_entries({k: v for k, v in live.items() if k != "heartbeat"}.items())
    batches = [
        parse_live_entries(read.entries, "live_state", malformed=read.malformed),
        parse_position_state_rows(out["before"]),
    ]
    snapshot = load_contracts_snapshot()
    specs = {iid: snapshot.spec(iid) for iid in INSTRUMENTS}
    expected = decide_with_dust(batches, specs, 250, now_ns=UNTIL)
    check_decision(
        [(b.name, b.candidates) for b in batches], expected, allowed_drops=("instrument_conflict", "superseded", "dust")
    )
    assert sorted(s["trade_id"] for s in report["slots"]) == sorted(s.trade_id for s in expected.slots)
    if (live, ours) == HOSTILE_EXAMPLE:  # the valid trade survived every bad value beside it
        assert [s["trade_id"] for s in report["slots"]] == ["t2"] and report["decision"]["status"] == "RESTORED"
        assert {r["trade_id"] for r in report["decision"]["rejections"]} >= {"t3", "t4"}
