"""Backtest overhead and memory: the full dolphin stack against the bare engine, same data, same run.

    python -m dolphin_nautilus.bench.backtest [--repeats 2] [--days 30]

Each measurement runs in its own subprocess (so peak RSS is per configuration), alternating bare and full
so machine noise hits both alike. Bare = BacktestEngine + simulated BINGX venue + a strategy that only
subscribes to the bars. Full = the same engine with DolphinStrategy (book, reference signals, orders),
the JournalActor and the journal on embedded stores (chDB + local live state), exactly as dolphin-backtest
runs it. A third configuration, "orders", is the bare engine replaying exactly the orders the full run sent, at the
same bars: it separates NautilusTrader's own per-order cost (v1 spends milliseconds per order and fill)
from the cost of our stack. Rates are bars / wall time of engine.run(). Targets (DESIGN.md §7): full >= 85% of bare bars/s;
peak RSS full <= 1.2 x bare.
"""

from __future__ import annotations

import argparse
import json
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
            Path(workdir).parent / "orders.csv", index=False
        )
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
                        (
                            InstrumentId.from_str(row.instrument_id),
                            OrderSide.BUY if row.side == "BUY" else OrderSide.SELL,
                            str(row.quantity),
                            bool(row.is_reduce_only),
                        )
                    )

            def on_bar(self, bar) -> None:
                for iid, side, qty, reduce_only in self._due.pop((bar.bar_type.instrument_id.value, bar.ts_event), ()):
                    instrument = self.cache.instrument(iid)
                    self.submit_order(
                        self.order_factory.market(iid, side, instrument.make_qty(float(qty)), reduce_only=reduce_only)
                    )

        specs = {iid: spec_for(iid) for iid in INSTRUMENTS}
        series = build_bars(read_frame(str(data_path)), specs, 1)
        all_bars = [b for s in series.values() for b in s]
        engine = BacktestEngine(
            BacktestEngineConfig(trader_id=TraderId("BARE-001"), logging=LoggingConfig(log_level="ERROR"))
        )
        add_bingx_venue(engine, starting_balance=Decimal(100000), leverage=Decimal(10), reject_exit_every=0)
        for spec in specs.values():
            engine.add_instrument(spec_to_perpetual(spec))
        engine.add_data(all_bars, validate=False, sort=True)
        strategy_cls = ReplayOrders if mode == "orders" else SubscribeOnly
        engine.add_strategy(
            strategy_cls(
                SubscribeOnlyConfig(
                    bar_types=[bar_type_name(i, 1) for i in INSTRUMENTS], log_events=False, log_commands=False
                )
            )
        )
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
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "dolphin_nautilus.bench.backtest",
                        "--child",
                        mode,
                        "--days",
                        str(args.days),
                        "--workdir",
                        workdir,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row = json.loads(out.stdout.strip().splitlines()[-1])
                results[mode].append(row)
                print(
                    f"  run {rep + 1} {mode:6s}: {row['bars']:,} bars in {row['wall']:.2f}s = "
                    f"{row['bars_per_s']:,.0f} bars/s, peak RSS {row['rss_mb']:.0f} MB, trades {row['trades']}"
                )
    bare_rate = statistics.median(r["bars_per_s"] for r in results["bare"])
    full_rate = statistics.median(r["bars_per_s"] for r in results["full"])
    bare_rss = statistics.median(r["rss_mb"] for r in results["bare"])
    full_rss = statistics.median(r["rss_mb"] for r in results["full"])
    print(f"bare engine (subscribe-only): {bare_rate:,.0f} bars/s, peak RSS {bare_rss:.0f} MB")
    print(f"full stack:                   {full_rate:,.0f} bars/s, peak RSS {full_rss:.0f} MB")
    print(f"throughput ratio full/bare:   {full_rate / bare_rate:.2f}  (target >= 0.85)")
    print(f"memory ratio full/bare:       {full_rss / bare_rss:.2f}  (target <= 1.20)")
    orders_rate = statistics.median(r["bars_per_s"] for r in results["orders"])
    print(
        f"bare engine replaying the full stack's orders: {orders_rate:,.0f} bars/s "
        f"({orders_rate / bare_rate:.2f} of subscribe-only: the engine's own cost of those orders)"
    )
    print(
        f"full stack vs the same orders without it:      {full_rate / orders_rate:.2f}  "
        f"(the book, signals and journal's own overhead)"
    )
    shared.cleanup()


if __name__ == "__main__":
    main()
