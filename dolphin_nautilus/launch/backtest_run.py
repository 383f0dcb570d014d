"""One backtest run, start to finish: checked inputs -> run folder -> stores -> assembled engine -> reports and
a compact export of the facts.

The CLI and every sweep worker go through `run_job`, the only caller of `run_backtest`. By default the run
folder keeps its reports and a Parquet export of its facts and drops the embedded stores (chDB is ~120 MB per
run); `keep_store=True` keeps them, and a caller-given `state_dir` is never removed (a later run continues
from it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pandas as pd

from dolphin_nautilus.backtest.engine_run import run_engine
from dolphin_nautilus.backtest.facts_export import RunFacts, export_facts
from dolphin_nautilus.backtest.report import RunSummary, collect_engine_outputs, render, summarize
from dolphin_nautilus.backtest.report_files import write_reports
from dolphin_nautilus.config import Config, Secrets
from dolphin_nautilus.launch.backtest_inputs import RunInputs, prepare_inputs
from dolphin_nautilus.node.assembly import build_backtest_engine, component
from dolphin_nautilus.node.stores import NO_SECRETS, open_node_stores
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources
from dolphin_nautilus.stores.wiring import Stores as OpenStores
from dolphin_nautilus.stores.wiring import StoresMode
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


PROGRESS_FILE = "backtest_progress.json"


class BacktestProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Where a run that journaled into a state dir stopped: the last bar close it processed per instrument."""

    last_bar_ns: dict[str, int]
    stopped_at_ns: int  # the latest of them: every bar closing at or before it was processed

    @property
    def resume_from_ns(self) -> int:
        return self.stopped_at_ns + 1


class ResumeError(ValueError):
    """A state dir's run cannot be continued with this data or `--until`."""


def read_progress(state_dir: Path) -> BacktestProgress | None:
    path = state_dir / PROGRESS_FILE
    if not path.exists():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=BacktestProgress)
    except (OSError, msgspec.DecodeError) as exc:
        raise ResumeError(f"{path}: unreadable progress of the earlier run ({exc}); remove it to start over") from exc


def write_progress(state_dir: Path, inputs: RunInputs, earlier: BacktestProgress | None) -> BacktestProgress:
    last = dict(earlier.last_bar_ns) if earlier is not None else {}
    for iid, bars in inputs.loaded.bars.items():
        if bars:
            last[iid] = max(last.get(iid, 0), int(bars[-1].ts_event))
    progress = BacktestProgress(last_bar_ns=dict(sorted(last.items())), stopped_at_ns=max(last.values(), default=0))
    path = state_dir / PROGRESS_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(msgspec.json.format(msgspec.json.encode(progress)))
    temporary.replace(path)  # atomic: a crash never leaves a half-written progress file
    return progress


def resume_point(state_dir: Path | None, inputs: RunInputs) -> tuple[BacktestProgress | None, int]:
    """The earlier run's progress in `state_dir` (None: a fresh state dir) and the first bar close to trade at."""
    earlier = read_progress(state_dir) if state_dir is not None else None
    if earlier is None:
        return None, 0
    stopped = pd.Timestamp(earlier.stopped_at_ns, tz="UTC").isoformat()
    if inputs.until_ns is not None and inputs.until_ns <= earlier.stopped_at_ns:
        raise ResumeError(
            f"--until {pd.Timestamp(inputs.until_ns, tz='UTC').isoformat()} is not after {stopped}, where the run "
            f"in {state_dir} stopped"
        )
    if inputs.loaded.last_close_ns <= earlier.stopped_at_ns:
        raise ResumeError(f"the data ends at or before {stopped}, where the run in {state_dir} stopped: nothing to run")
    return earlier, earlier.resume_from_ns


class BacktestRun(msgspec.Struct, kw_only=True):
    summary: RunSummary
    run_dir: Path
    strategy: DolphinStrategy
    tally: RunFacts


def run_backtest(
    config: Config,
    *,
    data: str | None = None,
    run_dir: Path | None = None,
    stores: OpenStores,
    until_ns: int | None = None,
    log: Callable[[str], None] = print,
    trade_from_ns: int = 0,
    inputs: RunInputs | None = None,
    html_report: bool = True,
    charts: bool = True,
) -> BacktestRun:
    """Run a backtest journaling into `stores`; `until_ns` stops the run early (a split run stops there
    and a second run restarts from the same stores). The RestoreActor restores from `stores` first.
    `trade_from_ns`: earlier bars only warm up the signal models (the second half of a split run).
    `inputs`: checked before the run folder and stores exist (the CLI does that); bars end at `until_ns`.
    `charts=False` (sweep runs): the tables and summary.json without the PNG and HTML pictures."""
    inputs = inputs or prepare_inputs(config, data=data, until_ns=until_ns)
    run_dir = run_dir or new_run_dir(config)
    all_bars = [bar for series in inputs.loaded.bars.values() for bar in series]
    window = (inputs.loaded.first_close_ns, inputs.loaded.last_close_ns)
    tally = RunFacts()
    namespace = config.node.namespace
    rows_before = _row_counts(stores)  # a continued run's summary counts only the rows it wrote
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
        wall = run_engine(engine).wall_s
        journal_stats = _journal_figures(stores, rows_before)
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
            run_dir,
            summary=summary,
            facts=tally,
            outputs=outputs,
            equity=equity,
            specs=inputs.specs,
            html=html_report,
            charts=charts,
        )
        engine.dispose()
        log(render(summary))
        return BacktestRun(summary=summary, run_dir=run_dir, strategy=strategy, tally=tally)
    finally:
        unregister_resources(namespace)


JOURNAL_TABLES = ("trades", "trade_exit_legs", "position_state", "fills", "orders", "anomalies")


def _row_counts(stores: OpenStores) -> dict[str, int]:
    return {table: stores.clickhouse.count(table) for table in JOURNAL_TABLES}


def _journal_figures(stores: OpenStores, rows_before: dict[str, int]) -> dict[str, int]:
    """Flush the journal and read back what ClickHouse holds, so the summary shows persisted rows: those this
    run added (a run continuing from an earlier run's stores does not count that run's rows again)."""
    flushed = stores.journal.flush(120.0)
    status = stores.journal.status()
    figures = {
        "appended": status.appended,
        "written": status.written,
        "spooled": status.spooled,
        "quarantined": status.quarantined,
        "flushed": int(flushed),
    }
    for table, count in _row_counts(stores).items():
        figures[f"ch_{table}"] = count - rows_before.get(table, 0)
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
    charts: bool = True,
    store_mode: StoresMode = "process",
    secrets: Secrets = NO_SECRETS,
    log: Callable[[str], None] = print,
) -> JobResult:
    inputs = inputs or prepare_inputs(config, data=data, until_ns=until_ns)
    earlier, trade_from_ns = resume_point(state_dir, inputs)  # checked before a run folder exists
    run_dir = run_dir or new_run_dir(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    own_stores = state_dir is None
    state_dir = state_dir or run_dir / "stores"
    try:
        stores = open_node_stores(config, state_dir, mode=store_mode, secrets=secrets)
    except Exception as exc:
        _remove_if_unfinished(run_dir)
        raise StoreOpenError(f"cannot open stores in {state_dir}: {exc}") from exc
    try:
        if earlier is not None:
            after = pd.Timestamp(earlier.stopped_at_ns, tz="UTC").isoformat()
            log(f"dolphin backtest: continuing {state_dir}: trading after {after}")
        run = run_backtest(
            config,
            run_dir=run_dir,
            stores=stores,
            until_ns=until_ns,
            inputs=inputs,
            html_report=html_report,
            charts=charts,
            log=log,
            trade_from_ns=trade_from_ns,
        )
        if not own_stores:
            write_progress(state_dir, inputs, earlier)
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
