"""The Dask side of a sweep: the cluster (local or existing), its warm-up, and one grid point in a worker.

A sweep run is the CLI's `run_job` tuned so that one run keeps one core busy and N workers scale:

* stores inline (chDB and the journal in the worker process, no store-service child per run);
* the journal writes the run's facts in one batch when the run ends (the run folder's stores are deleted
  afterwards; the facts are exported to Parquet from the in-process tally either way);
* no charts (the PNG was about a third of a short run's CPU; the sweep's result is its table);
* bars and contract specs read once per worker and kept for the runs that follow.

The statistics are the same as a plain run's with the same parameters (tests/backtest checks that).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from dolphin_nautilus.config import Config
from dolphin_nautilus.launch.backtest_inputs import RunInputs, prepare_inputs

# The journal's batch size and wait, for a run whose facts are written once at its end (the flush on stop).
ONE_BATCH_FACTS = 1 << 30
ONE_BATCH_WAIT_S = 24 * 3600.0
_INPUTS_KEPT = 4  # distinct data sets a worker keeps (a grid seldom varies the data or the instruments)
_inputs_cache: dict[tuple, RunInputs] = {}


def sweep_run_config(config: Config) -> Config:
    """The config a sweep run uses: the same strategy and venue, the journal written in one batch at the end."""
    journal = msgspec.structs.replace(config.journal, batch_size=ONE_BATCH_FACTS, flush_interval_s=ONE_BATCH_WAIT_S)
    return msgspec.structs.replace(config, journal=journal)


def cached_inputs(config: Config, data: str | None) -> RunInputs:
    """`prepare_inputs` once per worker for each data set: keyed by what it reads (the file and its stamp,
    the instruments, the bar interval and the backtest section), so a grid over strategy values reuses it."""
    source = Path(data or config.backtest.data)
    stat = source.stat() if source.is_file() else None
    key = (
        str(source),
        (stat.st_mtime_ns, stat.st_size) if stat else None,
        tuple(config.strategy.instruments),
        config.strategy.bar_minutes,
        msgspec.json.encode(config.backtest),
    )
    inputs = _inputs_cache.get(key)
    if inputs is None:
        if len(_inputs_cache) >= _INPUTS_KEPT:
            _inputs_cache.clear()
        inputs = _inputs_cache[key] = prepare_inputs(config, data=data)
    return inputs


def run_sweep_task(config_builtins: dict, data: str | None, run_dir: str, params: dict[str, Any]) -> dict[str, Any]:
    """One grid point, in a worker process: the CLI's job on inline stores, without charts."""
    from dolphin_nautilus.launch.backtest_run import run_job  # imported in the worker (the engine is heavy to load)

    config = sweep_run_config(msgspec.convert(config_builtins, Config))
    row: dict[str, Any] = {"run": Path(run_dir).name, **params, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        result = run_job(
            config,
            inputs=cached_inputs(config, data),
            run_dir=Path(run_dir),
            html_report=False,
            charts=False,
            store_mode="inline",
            log=lambda _: None,
        )
    except Exception as exc:  # noqa: BLE001 - one failed grid point is a row with its error, not a dead sweep
        return {**row, "error": f"{type(exc).__name__}: {exc}", "run_dir": run_dir}
    s = result.summary
    st = s.statistics
    row.update(
        trades=s.trades,
        win_rate=s.win_rate,
        net_pnl=float(s.net_pnl),
        fees=float(s.fees),
        max_drawdown=float(s.max_drawdown),
        max_drawdown_pct=s.max_drawdown_pct,
        return_on_account_pct=s.return_on_account_pct,
        return_on_deployed_pct=s.return_on_deployed_pct,
        unrealized_pnl=s.unrealized_pnl,
        open_positions=len(s.open_positions),
        sharpe_ratio=st.sharpe_ratio,
        sortino_ratio=st.sortino_ratio,
        profit_factor=st.profit_factor,
        expectancy=st.expectancy,
        cagr=st.cagr,
        wall_seconds=s.wall_seconds,
        # The whole job in the worker and the worker process's CPU over it (all its threads): about equal when
        # a run keeps one core busy.
        job_seconds=round(time.perf_counter() - started, 3),
        job_cpu_seconds=round(time.process_time() - started_cpu, 3),
        error="",
        run_dir=run_dir,
    )
    return row


def warm_worker() -> int:
    """Load the engine, the stores and their native libraries once per worker, before the first run."""
    import chdb  # noqa: F401 - the embedded ClickHouse library, loaded now rather than in the first run

    import dolphin_nautilus.launch.backtest_run  # noqa: F401 - Nautilus, the strategy, the stores

    return os.getpid()


@dataclass(frozen=True)
class DaskRun:
    rows: list[dict]
    workers: int
    startup_seconds: float  # cluster start (or connect) and warm-up
    run_seconds: float  # from the first task submitted to the last row back


def own_session() -> int:
    """Move this worker process into a session of its own. With the kernel's autogroup scheduling on (most
    desktop Linux kernels), CPU time is shared fairly between sessions, not processes: local workers that stay
    in the sweep's session share that one session's share of a busy machine, however many there are."""
    os.setsid()
    return os.getsid(0)


def run_on_dask(
    tasks: list[tuple], *, workers: int | None, cluster: str | None, worker_sessions: bool = True
) -> DaskRun:
    """Run `run_sweep_task` over `tasks` on a LocalCluster (one single-threaded process per core, started
    once for the whole sweep) or on the cluster whose scheduler is at `cluster`. `worker_sessions` (the default
    for every sweep, not only the bench): each local worker in a session of its own (`own_session`), so that
    on a busy machine with autogroup scheduling N workers get N sessions' share of the CPU, not one."""
    from distributed import Client, LocalCluster  # loaded only when a sweep runs

    started = time.perf_counter()
    local = None
    if cluster:
        client = Client(cluster)
    else:
        n = workers or os.cpu_count() or 1
        # A backtest holds the GIL: processes, one thread each, give one run per core.
        local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40)
        client = Client(local)
    try:
        if worker_sessions and local is not None:
            client.run(own_session)
        client.run(warm_worker)
        used = len(client.scheduler_info()["workers"])
        ready = time.perf_counter()
        futures = [
            client.submit(run_sweep_task, *task, pure=False, key=f"dolphin-run-{i}") for i, task in enumerate(tasks)
        ]
        rows = client.gather(futures)
        done = time.perf_counter()
    finally:
        client.close()
        if local is not None:
            local.close()
    return DaskRun(rows=rows, workers=used, startup_seconds=ready - started, run_seconds=done - ready)
