"""Runs one backtest in its own process (chDB allows one data path per process) and prints a JSON summary.

    python -m tests.restore_actor.backtest_child CONFIG STATE_DIR DATA RUN_DIR [--until NS] [--trade-from NS]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dolphin_nautilus.backtest.runner import run_backtest
from dolphin_nautilus.config import load_config
from dolphin_nautilus.node.stores import Stores


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("config", "state_dir", "data", "run_dir"):
        parser.add_argument(name)
    parser.add_argument("--until", type=int)
    parser.add_argument("--trade-from", type=int, default=0)
    args = parser.parse_args()
    config = load_config(args.config)
    stores = Stores(config, Path(args.state_dir))
    try:
        run = run_backtest(config, data=args.data, run_dir=Path(args.run_dir), stores=stores,
                           until_ns=args.until, trade_from_ns=args.trade_from, log=lambda _: None)
        stores.journal.flush(60)
        opened = {}
        for fact in run.tally.trades:
            opened[fact.trade_id] = fact.opened_ts
        out = {
            "trades": [_struct(t) for t in run.tally.trades],
            "legs": [_struct(leg) for leg in run.tally.legs],
            "open_slots": [{"trade_id": s.trade_id, "instrument_id": s.spec.instrument_id, "opened_ts": s.opened_ts,
                            "side": s.side.value, "quantity": str(s.ledger.remaining), "bars_held": s.bars_held}
                           for s in run.strategy.book.open_slots()],
            "entries_blocked": run.strategy.book.entries_blocked,
            "anomalies": [{"code": a["code"], "severity": a["severity"], "trade_id": a["trade_id"],
                           "origin": a["origin"], "message": a["message"]}
                          for a in stores.clickhouse.recent_anomalies(1000)],
            "position_state_latest": [{"trade_id": r["trade_id"], "status": r["status"], "seq": r["seq"]}
                                      for r in stores.clickhouse.latest_position_states()],
        }
    finally:
        stores.close()
    json.dump(out, sys.stdout, default=str)
    return 0


def _struct(fact) -> dict:
    import msgspec

    return {k: str(v) if not isinstance(v, (int, bool)) else v for k, v in msgspec.structs.asdict(fact).items()}


if __name__ == "__main__":
    sys.exit(main())
