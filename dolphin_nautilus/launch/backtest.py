"""`dolphin-backtest`: assemble and run one backtest: simulated BINGX venue, bars, restore actor, strategy,
journal on embedded stores.

The strategy, restore actor and journal actor are the same classes the live node runs; only the venue
(simulated) and the stores (embedded, in the run folder unless told otherwise) differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd

from dolphin_nautilus.backtest.data import BarDataError, build_bars, read_frame
from dolphin_nautilus.backtest.report import RunSummary, render, summarize, write_reports
from dolphin_nautilus.config import Config, ConfigError, load_config
from dolphin_nautilus.domain.facts import CapitalUpdate, Fact, TradeClosed, TradeExitLeg
from dolphin_nautilus.node.assembly import backtest_specs, build_backtest_engine, component
from dolphin_nautilus.node.stores import Stores
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources
from dolphin_nautilus.strategy.strategy import DolphinStrategy


class FactTally:
    """Keeps the facts the run summary needs, as the journal sees them."""

    def __init__(self) -> None:
        self.trades: list[TradeClosed] = []
        self.legs: list[TradeExitLeg] = []
        self.equity: list[tuple[int, Decimal]] = []
        self.by_table: dict[str, int] = {}

    def __call__(self, fact: Fact) -> None:
        self.by_table[fact.table] = self.by_table.get(fact.table, 0) + 1
        if isinstance(fact, TradeClosed):
            self.trades.append(fact)
        elif isinstance(fact, TradeExitLeg):
            self.legs.append(fact)
        elif isinstance(fact, CapitalUpdate) and fact.currency == "USDT":
            self.equity.append((fact.ts, fact.total))


def new_run_dir(config: Config, label: str = "") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(config.node.output_dir)
    if not base.is_absolute():
        base = Path(config.source).resolve().parent.parent / base if config.source else base.resolve()
    run_dir = base / f"{config.node.environment}-{config.node.namespace}-{stamp}{label}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = run_dir.with_name(f"{run_dir.name.rsplit('~', 1)[0]}~{suffix}")
    run_dir.mkdir(parents=True)
    return run_dir


class BacktestRun(msgspec.Struct, kw_only=True):
    summary: RunSummary
    run_dir: Path
    strategy: object
    tally: object


def run_backtest(
    config: Config,
    *,
    data: str | None = None,
    run_dir: Path | None = None,
    stores: Stores,
    until_ns: int | None = None,
    log: Callable[[str], None] = print,
    trade_from_ns: int = 0,
) -> BacktestRun:
    """Run a backtest journaling into `stores`; `until_ns` stops the run early (a split run stops there
    and a second run restarts from the same stores). The RestoreActor restores from `stores` first.
    `trade_from_ns`: earlier bars only warm up the signal models (the second half of a split run)."""
    run_dir = run_dir or new_run_dir(config)
    specs = backtest_specs(config)
    frame = read_frame(data or config.backtest.data,
                       default_instrument=config.strategy.instruments[0] if len(specs) == 1 else None)
    bars = build_bars(frame, specs, config.strategy.bar_minutes)
    all_bars = [bar for series in bars.values() for bar in series]
    if until_ns is not None:
        all_bars = [b for b in all_bars if b.ts_event <= until_ns]
    start_ns = min(series[0].ts_event for series in bars.values())
    end_ns = max(b.ts_event for b in all_bars)

    tally = FactTally()
    namespace = config.node.namespace
    register_resources(namespace, NodeResources(stores=stores, fact_observers=(tally,)))
    try:
        engine, rejecter = build_backtest_engine(
            config, Path(getattr(stores, "state_dir", run_dir)), run_dir, bars=all_bars, trade_from_ns=trade_from_ns,
            progress_window=(start_ns, end_ns) if config.backtest.progress else None)
        strategy = component(engine.trader, DolphinStrategy)
        return _run(engine, rejecter, strategy, tally, stores, run_dir=run_dir, bars=len(all_bars),
                    instruments=sorted(specs), log=log)
    finally:
        unregister_resources(namespace)


def _run(engine, rejecter, strategy: DolphinStrategy, tally: FactTally, stores: Stores, *, run_dir: Path,
         bars: int, instruments: list[str], log: Callable[[str], None]) -> BacktestRun:
    log(f"dolphin backtest: {bars:,} bars of {len(instruments)} instruments -> {run_dir}")
    started = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - started
    journal_stats = _journal_figures(stores)
    summary = summarize(
        trades=tally.trades, legs=tally.legs, equity=tally.equity, diagnostics=strategy.diagnostics,
        journal=journal_stats, bars=bars,
        instruments=instruments, wall_seconds=wall, run_dir=run_dir,
    )
    if rejecter is not None:
        summary.diagnostics["SIMULATED_EXIT_REJECTS"] = rejecter.rejected_exits
    write_reports(run_dir, summary=summary, trades=tally.trades, legs=tally.legs,
                  fills_df=engine.trader.generate_order_fills_report(),
                  positions_df=engine.trader.generate_positions_report(),
                  equity=tally.equity)
    engine.dispose()
    log(render(summary))
    return BacktestRun(summary=summary, run_dir=run_dir, strategy=strategy, tally=tally)


def _journal_figures(stores: Stores) -> dict[str, int]:
    """Flush the journal and read back what ClickHouse holds, so the summary shows persisted rows."""
    flushed = stores.journal.flush(120.0)
    status = stores.journal.status()
    figures = {"appended": status.appended, "written": status.written, "spooled": status.spooled,
               "quarantined": status.quarantined, "flushed": int(flushed)}
    for table in ("trades", "trade_exit_legs", "position_state", "fills", "orders", "anomalies"):
        figures[f"ch_{table}"] = stores.clickhouse.count(table)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dolphin-backtest", description=__doc__)
    parser.add_argument("--config", required=True, help="e.g. configs/backtest.toml")
    parser.add_argument("--data", help="CSV/Parquet bars (timestamp, open, high, low, close, volume"
                                       "[, instrument_id]); default: the config's backtest.data")
    parser.add_argument("--state-dir", help="stores folder to reuse (a restart continues from it); "
                                            "default: a fresh one inside the run folder")
    parser.add_argument("--until", help="stop at this UTC time (e.g. 2026-09-15T12:00), for split runs")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"dolphin-backtest: configuration error: {exc}", file=sys.stderr)
        return 2
    if config.node.environment != "backtest":
        print(f"dolphin-backtest: {args.config} is a '{config.node.environment}' config; "
              f"use a backtest config (node.environment = \"backtest\")", file=sys.stderr)
        return 2
    if args.no_progress:
        config = _with_backtest(config, progress=False)
    until_ns = int(pd.Timestamp(args.until, tz="UTC").value) if args.until else None
    run_dir = new_run_dir(config)
    state_dir = Path(args.state_dir).resolve() if args.state_dir else run_dir / "stores"
    try:
        stores = Stores(config, state_dir)
    except Exception as exc:  # noqa: BLE001 - a store that cannot open is an operator problem, say it plainly
        print(f"dolphin-backtest: cannot open stores in {state_dir}: {exc}", file=sys.stderr)
        return 2
    try:
        run_backtest(config, data=args.data, run_dir=run_dir, stores=stores, until_ns=until_ns)
    except BarDataError as exc:
        print(f"dolphin-backtest: bad bar data: {exc}", file=sys.stderr)
        return 2
    finally:
        stores.close()
    return 0


def _with_backtest(config: Config, **changes: object) -> Config:
    return msgspec.structs.replace(config, backtest=msgspec.structs.replace(config.backtest, **changes))


if __name__ == "__main__":
    sys.exit(main())
