"""Backtest overhead and memory: the full dolphin stack against the bare engine, same data, same run.

    python -m dolphin_nautilus.bench.backtest [--repeats 2] [--days 30]

Each measurement runs in its own subprocess (so peak RSS is per configuration), alternating bare and full
so machine noise hits both alike. Bare = BacktestEngine + simulated BINGX venue + a strategy that only
subscribes to the bars. Full = the same engine with DolphinStrategy (book, reference signals, orders),
the JournalActor and the journal on embedded stores (chDB + local live state), exactly as dolphin-backtest
runs it. Rates are bars / wall time of engine.run(). Targets (DESIGN.md §7): full >= 85% of bare bars/s;
peak RSS full <= 1.2 x bare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dolphin_nautilus.backtest.catalogue import SAMPLE_START

INSTRUMENTS = list(SAMPLE_START)


def _child(mode: str, days: int, workdir: str) -> dict:
    import resource
    from decimal import Decimal

    import msgspec
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.identifiers import TraderId
    from nautilus_trader.trading.strategy import Strategy

    from dolphin_nautilus.adapters.bingx.parsing import spec_to_perpetual
    from dolphin_nautilus.backtest.catalogue import spec_for
    from dolphin_nautilus.backtest.data import bar_type_for, build_bars, read_frame
    from dolphin_nautilus.backtest.runner import run_backtest
    from dolphin_nautilus.backtest.venue import add_bingx_venue
    from dolphin_nautilus.config import load_config
    from dolphin_nautilus.node.stores import Stores

    frame = read_frame("sample")
    frame = frame[frame["timestamp"] < frame["timestamp"].min() + __import__("pandas").Timedelta(days=days)]
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
    else:
        class SubscribeOnlyConfig(StrategyConfig, frozen=True):
            bar_types: list[str]

        class SubscribeOnly(Strategy):
            def on_start(self) -> None:
                for bar_type in self.config.bar_types:
                    self.subscribe_bars(BarType.from_str(bar_type))

            def on_bar(self, bar) -> None:
                pass

        specs = {iid: spec_for(iid) for iid in INSTRUMENTS}
        series = build_bars(read_frame(str(data_path)), specs, 1)
        all_bars = [b for s in series.values() for b in s]
        engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("BARE-001"),
                                                     logging=LoggingConfig(log_level="ERROR")))
        add_bingx_venue(engine, starting_balance=Decimal(100000), leverage=Decimal(10), reject_exit_every=0)
        for spec in specs.values():
            engine.add_instrument(spec_to_perpetual(spec))
        engine.add_data(all_bars, validate=False, sort=True)
        engine.add_strategy(SubscribeOnly(SubscribeOnlyConfig(bar_types=[str(bar_type_for(i, 1)) for i in INSTRUMENTS])))
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
    parser.add_argument("--child", choices=["bare", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.days, args.workdir)))
        return
    results: dict[str, list[dict]] = {"bare": [], "full": []}
    for rep in range(args.repeats):
        for mode in ("bare", "full"):
            with tempfile.TemporaryDirectory() as workdir:
                out = subprocess.run([sys.executable, "-m", "dolphin_nautilus.bench.backtest", "--child", mode,
                                      "--days", str(args.days), "--workdir", workdir],
                                     capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                results[mode].append(row)
                print(f"  run {rep + 1} {mode:4s}: {row['bars']:,} bars in {row['wall']:.2f}s = "
                      f"{row['bars_per_s']:,.0f} bars/s, peak RSS {row['rss_mb']:.0f} MB, trades {row['trades']}")
    bare_rate = statistics.median(r["bars_per_s"] for r in results["bare"])
    full_rate = statistics.median(r["bars_per_s"] for r in results["full"])
    bare_rss = statistics.median(r["rss_mb"] for r in results["bare"])
    full_rss = statistics.median(r["rss_mb"] for r in results["full"])
    print(f"bare engine (subscribe-only): {bare_rate:,.0f} bars/s, peak RSS {bare_rss:.0f} MB")
    print(f"full stack:                   {full_rate:,.0f} bars/s, peak RSS {full_rss:.0f} MB")
    print(f"throughput ratio full/bare:   {full_rate / bare_rate:.2f}  (target >= 0.85)")
    print(f"memory ratio full/bare:       {full_rss / bare_rss:.2f}  (target <= 1.20)")


if __name__ == "__main__":
    main()
