"""One backtest run, start to finish: checked inputs -> run folder -> stores -> assembled engine -> reports and
a compact export of the facts.

The CLI and every sweep worker go through `run_job`, the only caller of `run_backtest`. By default the run
folder keeps its reports and a Parquet export of its facts and drops the embedded stores (chDB is ~120 MB per
run); `keep_store=True` keeps them, and a caller-given `state_dir` is never removed (a later run continues
from it).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from dolphin_nautilus.backtest.facts_export import RunFacts, export_facts
from dolphin_nautilus.backtest.report import RunSummary, collect_engine_outputs, render, summarize, write_reports
from dolphin_nautilus.config import Config
from dolphin_nautilus.launch.backtest_inputs import RunInputs, prepare_inputs
from dolphin_nautilus.node.assembly import build_backtest_engine, component
from dolphin_nautilus.node.stores import Stores
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources
from dolphin_nautilus.strategy.strategy import DolphinStrategy


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
    inputs: RunInputs | None = None,
    html_report: bool = True,
) -> BacktestRun:
    """Run a backtest journaling into `stores`; `until_ns` stops the run early (a split run stops there
    and a second run restarts from the same stores). The RestoreActor restores from `stores` first.
    `trade_from_ns`: earlier bars only warm up the signal models (the second half of a split run).
    `inputs`: checked before the run folder and stores exist (the CLI does that); bars end at `until_ns`."""
    inputs = inputs or prepare_inputs(config, data=data, until_ns=until_ns)
    run_dir = run_dir or new_run_dir(config)
    all_bars = [bar for series in inputs.loaded.bars.values() for bar in series]
    window = (inputs.loaded.first_close_ns, inputs.loaded.last_close_ns)
    tally = RunFacts()
    namespace = config.node.namespace
    register_resources(namespace, NodeResources(stores=stores, fact_observers=(tally,)))
    try:
        engine, rejecter = build_backtest_engine(
            config,
            Path(getattr(stores, "state_dir", run_dir)),
            run_dir,
            bars=all_bars,
            specs=inputs.specs,
            trade_from_ns=trade_from_ns,
            progress_window=window if config.backtest.progress else None,
        )
        strategy = component(engine.trader, DolphinStrategy)
        log(f"dolphin backtest: {len(all_bars):,} bars of {len(inputs.specs)} instruments -> {run_dir}")
        started = time.perf_counter()
        engine.run()
        wall = time.perf_counter() - started
        journal_stats = _journal_figures(stores)
        outputs = collect_engine_outputs(engine, inputs.specs)
        summary, equity = summarize(
            facts=tally,
            outputs=outputs,
            diagnostics=strategy.diagnostics,
            journal=journal_stats,
            bars=len(all_bars),
            instruments=sorted(inputs.specs),
            start_ns=window[0],
            end_ns=window[1],
            starting_balance=config.backtest.starting_balance_usdt,
            leverage=config.backtest.leverage,
            wall_seconds=wall,
            run_dir=run_dir,
            data=inputs.loaded.report,
            contracts=f"{inputs.snapshot_path} (taken {inputs.snapshot_taken_at})",
            simulated_exit_rejects=rejecter.rejected_exits if rejecter is not None else 0,
        )
        write_reports(
            run_dir, summary=summary, facts=tally, outputs=outputs, equity=equity, specs=inputs.specs, html=html_report
        )
        engine.dispose()
        log(render(summary))
        return BacktestRun(summary=summary, run_dir=run_dir, strategy=strategy, tally=tally)
    finally:
        unregister_resources(namespace)


def _journal_figures(stores: Stores) -> dict[str, int]:
    """Flush the journal and read back what ClickHouse holds, so the summary shows persisted rows."""
    flushed = stores.journal.flush(120.0)
    status = stores.journal.status()
    figures = {
        "appended": status.appended,
        "written": status.written,
        "spooled": status.spooled,
        "quarantined": status.quarantined,
        "flushed": int(flushed),
    }
    for table in ("trades", "trade_exit_legs", "position_state", "fills", "orders", "anomalies"):
        figures[f"ch_{table}"] = stores.clickhouse.count(table)
    return figures


# ------------------------------------------------------------------ one job: inputs -> folder -> stores -> run
class StoreOpenError(RuntimeError):
    pass


@dataclass(frozen=True)
class JobResult:
    summary: RunSummary
    run_dir: Path
    folder_bytes: int


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_job(
    config: Config,
    *,
    data: str | None = None,
    inputs: RunInputs | None = None,
    until_ns: int | None = None,
    run_dir: Path | None = None,
    state_dir: Path | None = None,
    keep_store: bool = False,
    html_report: bool = True,
    store_mode: str = "process",
    log: Callable[[str], None] = print,
) -> JobResult:
    inputs = inputs or prepare_inputs(config, data=data, until_ns=until_ns)
    run_dir = run_dir or new_run_dir(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    own_stores = state_dir is None
    state_dir = state_dir or run_dir / "stores"
    try:
        stores = Stores(config, state_dir, mode=store_mode)
    except Exception as exc:
        _remove_if_unfinished(run_dir)
        raise StoreOpenError(f"cannot open stores in {state_dir}: {exc}") from exc
    try:
        run = run_backtest(
            config, run_dir=run_dir, stores=stores, until_ns=until_ns, inputs=inputs, html_report=html_report, log=log
        )
    finally:
        stores.close()
    export_facts(run.tally, run_dir / "facts")
    if own_stores and not keep_store:
        shutil.rmtree(state_dir, ignore_errors=True)
    return JobResult(summary=run.summary, run_dir=run_dir, folder_bytes=folder_size(run_dir))


def _remove_if_unfinished(run_dir: Path) -> None:
    """A run that never started leaves no folder behind (only what it created: logs, empty store dirs)."""
    if run_dir.exists() and not (run_dir / "summary.json").exists():
        shutil.rmtree(run_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ CLI
