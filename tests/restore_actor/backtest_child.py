"""Runs one backtest in its own process (chDB allows one data path per process) and prints a JSON summary.

python -m tests.restore_actor.backtest_child CONFIG STATE_DIR DATA RUN_DIR [--until NS] [--trade-from NS]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import msgspec

from dolphin_nautilus.config import load_config
from dolphin_nautilus.launch.backtest_run import run_backtest
from dolphin_nautilus.node.stores import open_node_stores


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("config", "state_dir", "data", "run_dir"):
        parser.add_argument(name)
    parser.add_argument("--until", type=int)
    parser.add_argument("--trade-from", type=int, default=0)
    parser.add_argument("--seed-incident", action="store_true", help="legacy ATOM leg + list ledger")
    args = parser.parse_args()
    config = load_config(args.config)
    if args.seed_incident:
        config = msgspec.structs.replace(
            config, restore=msgspec.structs.replace(config.restore, legacy_database=LEGACY_DB)
        )
    # One process: legacy seeding needs the client.
    stores = open_node_stores(config, Path(args.state_dir), mode="inline")
    try:
        if args.seed_incident:
            seed_incident(stores, Path(args.state_dir))
        run = run_backtest(
            config,
            data=args.data,
            run_dir=Path(args.run_dir),
            stores=stores,
            until_ns=args.until,
            trade_from_ns=args.trade_from,
            log=lambda _: None,
        )
        stores.journal.flush(60)
        opened = {}
        for fact in run.tally.trades:
            opened[fact.trade_id] = fact.opened_ts
        out = {
            "trades": [_struct(t) for t in run.tally.trades],
            "legs": [_struct(leg) for leg in run.tally.legs],
            "open_slots": [
                {
                    "trade_id": s.trade_id,
                    "instrument_id": s.spec.instrument_id,
                    "opened_ts": s.opened_ts,
                    "side": s.side.value,
                    "quantity": str(s.ledger.remaining),
                    "bars_held": s.bars_held,
                }
                for s in run.strategy.book.open_slots()
            ],
            "entries_blocked": run.strategy.book.entries_blocked,
            "anomalies": [
                {
                    "code": a["code"],
                    "severity": a["severity"],
                    "trade_id": a["trade_id"],
                    "origin": a["origin"],
                    "message": a["message"],
                }
                for a in stores.clickhouse.recent_anomalies(1000)
            ],
            "position_state_latest": [
                {"trade_id": r["trade_id"], "status": r["status"], "seq": r["seq"]}
                for r in stores.clickhouse.latest_position_states()
            ],
        }
    finally:
        stores.close()
    json.dump(out, sys.stdout, default=str)
    return 0


LEGACY_DB = "blue_legacy"
LIST_LEDGER = [{"ts": "2026-06-11T08:00:00", "capital": 10000.0}, {"ts": "2026-06-11T09:30:00", "capital": 10042.5}]


def seed_incident(stores, state_dir: Path) -> None:
    """The incident's stores: the legacy ATOM leg 1a3d2f9c persisted OPEN with qty 0, notional 0,
    bars_held 34 (after two non-zero OPEN rows), and a list-shaped capital ledger."""
    client = stores.clickhouse.client
    client.command(f"CREATE DATABASE IF NOT EXISTS {LEGACY_DB}")
    client.command(f"""CREATE TABLE {LEGACY_DB}.position_state (trade_id String, asset String, side String,
        status String, quantity Float64, notional Float64, entry_price Float64, bars_held Int32,
        ts DateTime64(3)) ENGINE = MergeTree ORDER BY (trade_id, ts)""")
    client.command(f"""INSERT INTO {LEGACY_DB}.position_state VALUES
        ('1a3d2f9c', 'ATOMUSDT', 'SHORT', 'OPEN', 120, 960, 8, 30, '2026-06-11 09:00:00'),
        ('1a3d2f9c', 'ATOMUSDT', 'SHORT', 'OPEN', 40, 320, 8, 33, '2026-06-11 09:20:00'),
        ('1a3d2f9c', 'ATOMUSDT', 'SHORT', 'OPEN', 0, 0, 8, 34, '2026-06-11 09:25:00')""")
    (state_dir / "capital_update_ledger.json").write_text(json.dumps(LIST_LEDGER))


def _struct(fact) -> dict:
    return {k: str(v) if not isinstance(v, (int, bool)) else v for k, v in msgspec.structs.asdict(fact).items()}


if __name__ == "__main__":
    sys.exit(main())
