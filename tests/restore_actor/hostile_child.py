"""One hostile restore example through the RestoreActor inside a BacktestEngine, in its own process (chDB allows
one data path per process). Prints the latest position_state rows the actor read and its restore report.

python -m tests.restore_actor.hostile_child CONFIG STATE_DIR DATA EXAMPLE_JSON UNTIL_NS

EXAMPLE_JSON: {"live": {key: text}, "ours": [position_state rows]}. Live values are written as stored text
as is (the store decodes them, entry by entry); our rows go through the journal as PositionState facts.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from dolphin_nautilus.config import load_config
from dolphin_nautilus.domain.facts import PositionState
from dolphin_nautilus.launch.backtest_run import run_backtest
from dolphin_nautilus.node.stores import open_node_stores
from dolphin_nautilus.restore.reading import exact_ts


def main() -> int:
    config_path, state_dir, data, example_path, until = sys.argv[1:6]
    config = load_config(config_path)
    state = Path(state_dir)
    example = json.loads(Path(example_path).read_text())
    live_dir = state / config.hazelcast.path
    live_dir.mkdir(parents=True, exist_ok=True)
    (live_dir / f"{config.node.namespace}.state.json").write_text(
        json.dumps({"entries": example["live"], "lease": None})
    )
    stores = open_node_stores(config, state, mode="inline")
    try:
        for row in example["ours"]:
            stores.journal.append(position_state(row))
        stores.journal.flush(60)
        before = [exact_ts(r) for r in stores.clickhouse.latest_position_states()]
        run_backtest(config, data=data, run_dir=state / "run", stores=stores, until_ns=int(until), log=lambda _: None)
        stores.journal.flush(60)
    finally:
        stores.close()
    report = json.loads((state / "restore_report.json").read_text())
    json.dump({"before": before, "report": report}, sys.stdout, default=str)
    return 0


def position_state(row: dict) -> PositionState:
    return PositionState(
        ts=row["ts"],
        origin="test",
        trade_id=row["trade_id"],
        instrument_id=row["instrument_id"],
        side=row["side"],
        status=row["status"],
        quantity=Decimal(row["quantity"]),
        notional=Decimal(row["notional"]),
        entry_price=Decimal(row["entry_price"]),
        bars_held=row["bars_held"],
        realized_pnl=Decimal(row["realized_pnl"]),
        fees=Decimal(row["fees"]),
        legs=row["legs"],
        seq=row["seq"],
        opened_ts=row["opened_ts"],
        order_seq=row["order_seq"],
    )


if __name__ == "__main__":
    sys.exit(main())
