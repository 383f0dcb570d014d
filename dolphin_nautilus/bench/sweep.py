"""Sweep throughput: the same grid on 1 Dask worker and on all cores, runs per minute, their ratio and verdict.

    python -m dolphin_nautilus.bench.sweep [--runs 12] [--days 2] [--rounds 2] [--json]

Data: the first `--days` of the bundled sample, two instruments; grid: `--runs` combinations of the reference
signal's fast/slow windows and entry threshold. Each round runs the sweep on 1 worker and on all cores, in the
order 1, N, N, 1, ... so a change of the machine's load during the bench weighs on both alike.

Throughput (the verdict) is runs per minute while every worker is busy: each worker's runs over the sum of
its runs' wall times, added up over the workers. Also printed: whole sweeps (the tail where the last runs of
a finite grid leave a worker idle included; a sweep of hundreds of runs hardly has one), whole sweeps with the
cluster start (the workers load the engine before the first run), and the CPU-normalised ratio. Target
(issue 14): all cores >= 1.8x one worker on a 2-core machine. Per run it prints the CPU seconds the worker
process spent (all its threads) against the run's wall time.

Shared machines: with the kernel's autogroup scheduling on, CPU time is shared fairly between sessions, not
processes, so workers left in the bench's session share one session's part of a busy machine however many
there are, and the ratio says nothing of the sweep. The bench therefore puts each local worker in a session
of its own (`--shared-session` leaves them in this one); on an idle machine that changes nothing. On a busy
one, N sessions among G other busy ones get at most N(G+1)/(G+N) times one session's CPU, below N.
`--json` prints the checks as a JSON list as the last line.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pandas as pd

from dolphin_nautilus.backtest.data import SAMPLE_PATH
from dolphin_nautilus.bench.verdicts import Check, at_least, print_checks, reported
from dolphin_nautilus.config import Config, load_config
from dolphin_nautilus.launch.backtest_sweep import SweepResult, run_sweep

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = ["BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"]
GRID_VALUES = {
    "strategy.reference.fast_bars": [20, 30, 45, 60],
    "strategy.reference.slow_bars": [120, 240],
    "strategy.reference.enter_above": [0.5, 0.6, 0.7],
}
TARGET = 1.8
BENCH = "sweep"


@dataclass
class Tally:
    """Every sweep of one worker count, added up."""

    workers: int = 0
    runs: int = 0
    run_seconds: float = 0.0
    startup_seconds: float = 0.0
    job_seconds: float = 0.0
    job_cpu_seconds: float = 0.0
    sweeps: list[float] = field(default_factory=list)  # runs/min of each
    steady: list[float] = field(default_factory=list)  # runs/min of each while every worker is busy

    def add(self, result: SweepResult) -> None:
        self.workers = result.workers
        self.runs += result.runs
        self.run_seconds += result.wall_seconds
        self.startup_seconds += result.startup_seconds
        self.job_seconds += float(result.table["job_seconds"].sum())
        self.job_cpu_seconds += float(result.table["job_cpu_seconds"].sum())
        self.sweeps.append(result.runs_per_minute)
        # Each worker's runs over its busy time, added up: the sweep's rate without the tail where the last
        # runs leave workers idle (a finite grid ends unevenly; a long sweep hardly has a tail).
        per_worker = result.table.groupby("worker")["job_seconds"].agg(["count", "sum"])
        self.steady.append(float((per_worker["count"] / per_worker["sum"]).sum() * 60))

    @property
    def runs_per_minute(self) -> float:
        return self.runs / self.run_seconds * 60

    @property
    def steady_runs_per_minute(self) -> float:
        return sum(self.steady) / len(self.steady)

    @property
    def runs_per_minute_with_startup(self) -> float:
        return self.runs / (self.run_seconds + self.startup_seconds) * 60

    @property
    def cores_per_run(self) -> float:
        return self.job_cpu_seconds / self.job_seconds

    def line(self) -> str:
        each = ", ".join(f"{x:.1f}" for x in self.sweeps)
        return (
            f"{self.workers} worker(s): {self.runs} runs in {self.run_seconds:.1f} s = {self.runs_per_minute:.2f} "
            f"runs/min (sweeps: {each}), {self.steady_runs_per_minute:.2f} while all workers are busy; "
            f"cluster start {self.startup_seconds / len(self.sweeps):.1f} s per sweep; "
            f"{self.job_cpu_seconds / self.runs:.2f} CPU-s per run, {self.cores_per_run:.2f} cores busy per run"
        )


def bench_inputs(root: Path, days: int) -> tuple[Config, Path, Path]:
    frame = pd.read_parquet(SAMPLE_PATH)
    start = frame["timestamp"].min()
    frame = frame[frame.instrument_id.isin(INSTRUMENTS) & (frame.timestamp < start + pd.Timedelta(days=days))]
    data = root / "bars.parquet"
    frame.to_parquet(data)
    grid = root / "grid.toml"
    grid.write_text("[grid]\n" + "".join(f'"{k}" = {v}\n' for k, v in GRID_VALUES.items()))
    config = load_config(REPO / "configs" / "backtest.toml")
    config = msgspec.structs.replace(
        config,
        strategy=msgspec.structs.replace(config.strategy, instruments=INSTRUMENTS),
        backtest=msgspec.structs.replace(config.backtest, progress=False),
    )
    return config, data, grid


def autogroup() -> bool:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def measure(runs: int, days: int, rounds: int, *, worker_sessions: bool) -> tuple[Tally, Tally]:
    cores = os.cpu_count() or 1
    tallies = {1: Tally(), cores: Tally()}
    order = [w for r in range(rounds) for w in ((1, cores) if r % 2 == 0 else (cores, 1))]
    with tempfile.TemporaryDirectory(prefix="dolphin-bench-sweep-") as tmp:
        root = Path(tmp)
        config, data, grid = bench_inputs(root, days)
        for i, workers in enumerate(order):
            result = run_sweep(
                config,
                grid_path=grid,
                data=str(data),
                sample=runs,
                seed=7,
                workers=workers,
                out_dir=root / f"sweep-{i}-w{workers}",
                worker_sessions=worker_sessions,
            )
            if result.failed:
                raise SystemExit(f"sweep runs failed:\n{result.table[['run', 'error']].to_string()}")
            tallies[workers].add(result)
            print(
                f"  sweep {i + 1}/{len(order)}: {workers} worker(s), {result.runs_per_minute:.2f} runs/min, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    return tallies[1], tallies[cores]


def checks(one: Tally, all_cores: Tally, sessions: str) -> list[Check]:
    cores = all_cores.workers
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    note = f"{cores} cores, load average {load} after the runs; worker sessions: {sessions}"
    return [
        reported(BENCH, "1 worker, while busy (runs/min)", round(one.steady_runs_per_minute, 2)),
        reported(BENCH, f"{cores} workers, while busy (runs/min)", round(all_cores.steady_runs_per_minute, 2)),
        at_least(
            BENCH,
            f"throughput all cores / 1 worker ({cores} cores)",
            round(all_cores.steady_runs_per_minute / one.steady_runs_per_minute, 3),
            TARGET,
            note,
        ),
        reported(
            BENCH,
            "whole sweeps all cores / 1 worker (tail included)",
            round(all_cores.runs_per_minute / one.runs_per_minute, 3),
        ),
        reported(
            BENCH,
            "whole sweeps, cluster start included",
            round(all_cores.runs_per_minute_with_startup / one.runs_per_minute_with_startup, 3),
        ),
        reported(
            BENCH,
            "CPU-normalised: N x CPU-s per run on 1 / on N",
            round(cores * (one.job_cpu_seconds / one.runs) / (all_cores.job_cpu_seconds / all_cores.runs), 3),
            "the ratio if every worker had its own core",
        ),
        reported(BENCH, "cores busy per run on 1 worker", round(one.cores_per_run, 3), "CPU-s / wall-s of the job"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=12, help="grid points per sweep")
    parser.add_argument("--days", type=int, default=2, help="days of the sample per run")
    parser.add_argument("--rounds", type=int, default=2, help="sweeps per worker count (order 1, N, N, 1, ...)")
    parser.add_argument(
        "--shared-session",
        action="store_true",
        help="leave the workers in this command's session (see the docstring: autogroup scheduling)",
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON as the last line")
    args = parser.parse_args()
    sessions = "shared" if args.shared_session else "one per worker"
    print(
        f"load average before: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
        f"autogroup scheduling {'on' if autogroup() else 'off'}; worker sessions: {sessions}"
    )
    one, all_cores = measure(args.runs, args.days, args.rounds, worker_sessions=not args.shared_session)
    print(one.line())
    print(all_cores.line())
    found = checks(one, all_cores, sessions)
    print_checks(found, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
