"""Backtest speed, memory and sameness: the full dolphin stack against the bare engine, same data, one run.

    python -m dolphin_nautilus.bench.backtest [--repeats 3] [--days 30] [--before REF] [--json]

Three configurations, each in its own subprocess (so peak RSS is per configuration), interleaved so machine
noise hits them alike; figures are medians over the repeats:
- subscribe-only: BacktestEngine + the simulated BINGX venue + a strategy that only subscribes to the bars;
- replay: the same bare engine submitting exactly the orders the full stack sent, at the same bars (the
  engine's own cost of those orders, without our book, signals or journal);
- full: `dolphin-backtest` as it runs (DolphinStrategy, the actors, the journal on embedded stores).
Rates are bars / wall time of `engine.run()`. `--before REF` (a git ref of this repository, or the path of
another checkout) measures the same three configurations with that code too, in the same run, so a change's
effect is side by side; it also checks that the full stack's trades, legs and PnL are identical in both.

Targets (issue 16): full >= 0.92 x replay; peak RSS full <= 1.2 x subscribe-only; full-stack wall time <= half
of the before column's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd

# The child runs against whichever checkout is first on sys.path (see `--before`): it uses only what both the
# current and earlier checkouts have (the launcher's run_backtest, the venue, the data loader).
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, TraderId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.adapters.bingx.parsing import spec_to_perpetual
from dolphin_nautilus.backtest.catalogue import SAMPLE_START, spec_for
from dolphin_nautilus.backtest.data import build_bars, read_frame
from dolphin_nautilus.backtest.venue import add_bingx_venue
from dolphin_nautilus.config import load_config
from dolphin_nautilus.contracts.topics import bar_type_name
from dolphin_nautilus.launch.backtest_run import run_backtest
from dolphin_nautilus.node.stores import Stores

INSTRUMENTS = list(SAMPLE_START)
MODES = ("bare", "orders", "full")
FULL_VS_REPLAY_TARGET = 0.92
MEMORY_TARGET = 1.2
WALL_VS_BEFORE_TARGET = 0.5
# Nautilus fill report columns that say what was traded; ids Nautilus draws at random (init_id) and the
# position id (how the engine groups fills, not what they are) are left out.
FILL_COLUMNS = ["client_order_id", "instrument_id", "venue_order_id", "last_trade_id", "side", "quantity",
                "is_reduce_only", "filled_qty", "liquidity_side", "avg_px", "slippage", "commission", "status",
                "ts_init", "ts_last"]


# ----------------------------------------------------------------------------------------- sameness
def run_digest(facts_by_table: dict[str, list], run_dir: Path, open_positions: list) -> dict:
    """What a backtest did, as counts, totals and hashes: every fact the book and the journal actor emitted
    (trades, exit legs, entries, fills, orders, slot snapshots, account balances, anomalies) in emission
    order, Nautilus's own fills report and the positions still open at the end. Equal digests = the same run."""
    families = {}
    for table in sorted(facts_by_table):
        rows = facts_by_table[table]
        sha = hashlib.sha256()
        for fact in rows:
            sha.update(msgspec.json.encode(fact) + b"\n")
        families[table] = {"rows": len(rows), "sha256": sha.hexdigest()}
    fills = pd.read_csv(run_dir / "fills.csv", dtype=str, keep_default_na=False)
    fills = fills[FILL_COLUMNS].sort_values(["ts_init", "client_order_id"]).reset_index(drop=True)
    families["nautilus_fills"] = {"rows": len(fills),
                                  "sha256": hashlib.sha256(fills.to_csv(index=False).encode()).hexdigest()}
    trades = facts_by_table.get("trades", [])
    legs = facts_by_table.get("trade_exit_legs", [])
    return {
        "families": families,
        "trades": len(trades),
        "legs": len(legs),
        "gross_pnl": str(sum((t.realized_pnl for t in trades), Decimal(0))),
        "fees": str(sum((t.fees for t in trades), Decimal(0))),
        "net_pnl": str(sum((t.net_pnl for t in trades), Decimal(0))),
        "legs_pnl": str(sum((leg.realized_pnl for leg in legs), Decimal(0))),
        "open_positions": [msgspec.to_builtins(p) for p in open_positions],
    }


def sample_slice(days: int, path: Path) -> Path:
    """The first `days` days of the bundled sample (all its instruments) as a Parquet file."""
    frame = read_frame("sample")
    frame[frame["timestamp"] < frame["timestamp"].min() + pd.Timedelta(days=days)].to_parquet(path)
    return path


def run_full_stack(data_path: Path, workdir: Path):
    """`dolphin-backtest` with configs/backtest.toml on `data_path`, stores in `workdir`; the BacktestRun."""
    import dolphin_nautilus  # the checkout being measured: its own configs

    config = load_config(Path(dolphin_nautilus.__file__).resolve().parents[1] / "configs" / "backtest.toml")
    config = msgspec.structs.replace(config, backtest=msgspec.structs.replace(config.backtest, progress=False))
    run_dir = workdir / "run"
    run_dir.mkdir()
    stores = Stores(config, run_dir / "stores")
    try:
        return run_backtest(config, data=str(data_path), run_dir=run_dir, stores=stores, log=lambda _: None)
    finally:
        stores.close()


def sample_digest(days: int, workdir: Path) -> dict:
    """The digest of the full stack on the first `days` days of the sample (the equivalence test's run)."""
    run = run_full_stack(sample_slice(days, workdir / "bars.parquet"), workdir)
    return run_digest(run.tally.by_table_rows, run.run_dir, run.summary.open_positions)
def _child(mode: str, days: int, workdir: str) -> dict:
    frame = read_frame("sample")
    frame = frame[frame["timestamp"] < frame["timestamp"].min() + pd.Timedelta(days=days)]
    data_path = Path(workdir) / "bars.parquet"
    frame.to_parquet(data_path)
    if mode == "full":
        config = load_config(Path(__file__).resolve().parents[2] / "configs" / "backtest.toml")
        config = msgspec.structs.replace(config, backtest=msgspec.structs.replace(config.backtest, progress=False))
        run_dir = Path(workdir) / "run"
        run_dir.mkdir()
        stores = Stores(config, run_dir / "stores")
        try:
            result = run_backtest(config, data=str(data_path), run_dir=run_dir, stores=stores, log=lambda _: None)
        finally:
            stores.close()
        bars, wall = result.summary.bars, result.summary.wall_seconds
        trades = result.summary.trades
        orders = pd.read_csv(run_dir / "fills.csv")
        orders[["ts_init", "instrument_id", "side", "quantity", "is_reduce_only"]].to_csv(
            Path(workdir).parent / "orders.csv", index=False)
    else:
        class SubscribeOnlyConfig(StrategyConfig, frozen=True):
            bar_types: list[str]

        class SubscribeOnly(Strategy):
            def on_start(self) -> None:
                for bar_type in self.config.bar_types:
                    self.subscribe_bars(BarType.from_str(bar_type))

            def on_bar(self, bar) -> None:
                pass

        class ReplayOrders(SubscribeOnly):
            """The bare engine submitting exactly the full stack's orders at the same bars: the engine's own
            cost of those orders, without the book, signals or journal."""

            def on_start(self) -> None:
                super().on_start()
                self._due: dict = {}
                frame = pd.read_csv(Path(workdir).parent / "orders.csv")
                for row in frame.itertuples():
                    key = (row.instrument_id, int(pd.Timestamp(row.ts_init).value))
                    self._due.setdefault(key, []).append(
                        (InstrumentId.from_str(row.instrument_id), OrderSide.BUY if row.side == "BUY" else OrderSide.SELL,
                         str(row.quantity), bool(row.is_reduce_only)))

            def on_bar(self, bar) -> None:
                for iid, side, qty, reduce_only in self._due.pop((bar.bar_type.instrument_id.value, bar.ts_event), ()):
                    instrument = self.cache.instrument(iid)
                    self.submit_order(self.order_factory.market(iid, side, instrument.make_qty(float(qty)),
                                                                reduce_only=reduce_only))

        specs = {iid: spec_for(iid) for iid in INSTRUMENTS}
        series = build_bars(read_frame(str(data_path)), specs, 1)
        all_bars = [b for s in series.values() for b in s]
        engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("BARE-001"),
                                                     logging=LoggingConfig(log_level="ERROR")))
        add_bingx_venue(engine, starting_balance=Decimal(100000), leverage=Decimal(10), reject_exit_every=0)
        for spec in specs.values():
            engine.add_instrument(spec_to_perpetual(spec))
        engine.add_data(all_bars, validate=False, sort=True)
        strategy_cls = ReplayOrders if mode == "orders" else SubscribeOnly
        engine.add_strategy(strategy_cls(SubscribeOnlyConfig(
            bar_types=[bar_type_name(i, 1) for i in INSTRUMENTS], log_events=False, log_commands=False)))
        started = time.perf_counter()
        engine.run()
        wall = time.perf_counter() - started
        bars, trades = len(all_bars), 0
        engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "bars": bars, "wall": wall, "bars_per_s": bars / wall, "rss_mb": rss_mb, "trades": trades}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--child", choices=["bare", "full", "orders"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.days, args.workdir)))
        return
    results: dict[str, list[dict]] = {"bare": [], "full": [], "orders": []}
    shared = tempfile.TemporaryDirectory()
    for rep in range(args.repeats):
        for mode in ("bare", "full", "orders"):  # "orders" replays the orders of the "full" run just before
            with tempfile.TemporaryDirectory(dir=shared.name) as workdir:
                out = subprocess.run([sys.executable, "-m", "dolphin_nautilus.bench.backtest", "--child", mode,
                                      "--days", str(args.days), "--workdir", workdir],
                                     capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                results[mode].append(row)
                print(f"  run {rep + 1} {mode:6s}: {row['bars']:,} bars in {row['wall']:.2f}s = "
                      f"{row['bars_per_s']:,.0f} bars/s, peak RSS {row['rss_mb']:.0f} MB, trades {row['trades']}")
    bare_rate = statistics.median(r["bars_per_s"] for r in results["bare"])
    full_rate = statistics.median(r["bars_per_s"] for r in results["full"])
    bare_rss = statistics.median(r["rss_mb"] for r in results["bare"])
    full_rss = statistics.median(r["rss_mb"] for r in results["full"])
    print(f"bare engine (subscribe-only): {bare_rate:,.0f} bars/s, peak RSS {bare_rss:.0f} MB")
    print(f"full stack:                   {full_rate:,.0f} bars/s, peak RSS {full_rss:.0f} MB")
    print(f"throughput ratio full/bare:   {full_rate / bare_rate:.2f}  (target >= 0.85)")
    print(f"memory ratio full/bare:       {full_rss / bare_rss:.2f}  (target <= 1.20)")
    orders_rate = statistics.median(r["bars_per_s"] for r in results["orders"])
    print(f"bare engine replaying the full stack's orders: {orders_rate:,.0f} bars/s "
          f"({orders_rate / bare_rate:.2f} of subscribe-only: the engine's own cost of those orders)")
    print(f"full stack vs the same orders without it:      {full_rate / orders_rate:.2f}  "
          f"(the book, signals and journal's own overhead)")
    shared.cleanup()


if __name__ == "__main__":
    main()
