"""One backtest job, start to finish: checked inputs -> run folder -> stores -> engine run -> compact facts.

The CLI and every sweep worker go through `run_job`, and `run_job` is the only place that calls the engine
assembly (`run_backtest`). By default the run folder keeps its reports and a Parquet export of its facts and
drops the embedded stores (chDB is ~120 MB per run); `keep_store=True` keeps them, and a caller-given
`state_dir` is never removed (a later run continues from it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dolphin_nautilus.backtest.facts_export import export_facts
from dolphin_nautilus.backtest.inputs import RunInputs, prepare_inputs
from dolphin_nautilus.backtest.report import RunSummary
from dolphin_nautilus.backtest.runner import new_run_dir, run_backtest
from dolphin_nautilus.config import Config
from dolphin_nautilus.node.stores import Stores


class StoreOpenError(RuntimeError):
    pass


@dataclass(frozen=True)
class JobResult:
    summary: RunSummary
    run_dir: Path
    folder_bytes: int


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_job(config: Config, *, data: str | None = None, inputs: RunInputs | None = None,
            until_ns: int | None = None, run_dir: Path | None = None, state_dir: Path | None = None,
            keep_store: bool = False, html_report: bool = True, store_mode: str = "process",
            log: Callable[[str], None] = print) -> JobResult:
    inputs = inputs or prepare_inputs(config, data=data, until_ns=until_ns)
    run_dir = run_dir or new_run_dir(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    own_stores = state_dir is None
    state_dir = state_dir or run_dir / "stores"
    try:
        stores = Stores(config, state_dir, mode=store_mode)
    except Exception as exc:  # noqa: BLE001 - a store that cannot open is an operator problem, say it plainly
        _remove_if_unfinished(run_dir)
        raise StoreOpenError(f"cannot open stores in {state_dir}: {exc}") from exc
    try:
        run = run_backtest(config, run_dir=run_dir, stores=stores, until_ns=until_ns, inputs=inputs,
                           html_report=html_report, log=log)
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
