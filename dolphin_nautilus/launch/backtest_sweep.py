"""Parameter sweeps on Dask: the cartesian grid (or a seeded sample of it) of config values, each combination one
backtest job over the same data, ranked in one table.

Why Dask (`distributed`): it is pure Python (about 2.5 MB of wheels for Python 3.13, against about 80 MB for
Ray's), a `LocalCluster` over all cores starts inside the command with nothing to install or run first, and
the same code runs on an existing cluster given its scheduler address (`--cluster tcp://host:8786`; the data
file and the output folder must then be on a filesystem the workers share).

Grid file (TOML): each key under `[grid]` is a dotted config key, its value the list of values to try:

    [grid]
    "strategy.reference.fast_bars" = [20, 60]
    "strategy.reference.enter_above" = [0.5, 0.6, 0.7]
"""

from __future__ import annotations

import itertools
import random
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd

from dolphin_nautilus.config import Config, resolve_path
from dolphin_nautilus.launch.backtest_inputs import prepare_inputs
from dolphin_nautilus.launch.sweep_cluster import run_on_dask

RESULT_COLUMNS = (
    "trades",
    "win_rate",
    "net_pnl",
    "fees",
    "max_drawdown",
    "max_drawdown_pct",
    "return_on_account_pct",
    "return_on_deployed_pct",
    "unrealized_pnl",
    "open_positions",
    "sharpe_ratio",
    "sortino_ratio",
    "profit_factor",
    "expectancy",
    "cagr",
    "wall_seconds",
)


class SweepError(ValueError):
    pass


@dataclass
class SweepResult:
    out_dir: Path
    table_path: Path
    table: pd.DataFrame
    runs: int
    failed: int
    wall_seconds: float  # the runs, from the first submitted to the last done
    startup_seconds: float  # starting (or connecting to) the cluster and loading the engine in each worker
    workers: int
    rank_by: str
    notes: list[str] = field(default_factory=list)

    @property
    def runs_per_minute(self) -> float:
        return self.runs / self.wall_seconds * 60 if self.wall_seconds > 0 else 0.0

    @property
    def runs_per_minute_with_startup(self) -> float:
        total = self.startup_seconds + self.wall_seconds
        return self.runs / total * 60 if total > 0 else 0.0

    def render(self) -> str:
        shown = self.table.head(10).to_string(index=False, max_colwidth=40)
        return "\n".join(
            [
                "",
                f"=== dolphin sweep: {self.runs} runs ({self.failed} failed) on {self.workers} worker(s) ===",
                f"runs {self.wall_seconds:.1f} s = {self.runs_per_minute:.2f} runs/min; cluster start and warm-up "
                f"{self.startup_seconds:.1f} s ({self.runs_per_minute_with_startup:.2f} runs/min with it)",
                f"ranked by {self.rank_by} (top 10 of {len(self.table)}):",
                shown,
                f"table               {self.table_path}",
                f"run folders         {self.out_dir}",
                *self.notes,
            ]
        )


def read_grid(path: Path) -> dict[str, list[Any]]:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SweepError(f"{path}: no such grid file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML: {exc}") from None
    grid = raw.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise SweepError(f"{path}: expected a [grid] table of 'section.key' = [values, ...]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{path}: grid key '{key}' must be a non-empty list of values")
    return grid


def combinations(grid: dict[str, list[Any]], sample: int | None, seed: int) -> list[dict[str, Any]]:
    keys = list(grid)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]
    if sample is not None:
        if sample < 1:
            raise SweepError(f"--sample {sample}: must be >= 1")
        combos = random.Random(seed).sample(combos, min(sample, len(combos)))
    return combos


def apply_params(config: Config, params: dict[str, Any], grid_path: Path) -> Config:
    """The config with the grid's values set; a key that does not exist or a bad value names the grid file."""
    raw = msgspec.to_builtins(config)
    for dotted, value in params.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise SweepError(
                    f"{grid_path}: grid key '{dotted}' is not a config setting ('{part}' is not a section)"
                )
            node = node[part]
        if leaf not in node:
            raise SweepError(f"{grid_path}: grid key '{dotted}' is not a config setting")
        node[leaf] = value
    try:
        return msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise SweepError(f"{grid_path}: a grid value does not fit the config: {exc}") from None


def sweep_dir(config: Config) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = resolve_path(config, config.node.output_dir)
    out = base / f"sweep-{config.node.namespace}-{stamp}"
    suffix = 1
    while out.exists():
        suffix += 1
        out = out.with_name(f"sweep-{config.node.namespace}-{stamp}~{suffix}")
    return out


def run_sweep(
    config: Config,
    *,
    grid_path: Path,
    data: str | None = None,
    sample: int | None = None,
    seed: int = 1,
    workers: int | None = None,
    cluster: str | None = None,
    rank_by: str = "net_pnl",
    out_dir: Path | None = None,
    worker_sessions: bool = True,
) -> SweepResult:
    grid = read_grid(grid_path)
    combos = combinations(grid, sample, seed)
    configs = [apply_params(config, params, grid_path) for params in combos]  # every bad value before any run
    if rank_by.lstrip("-") not in RESULT_COLUMNS:
        raise SweepError(f"--rank-by {rank_by!r}: one of {', '.join(RESULT_COLUMNS)} (prefix '-' for ascending)")
    data = str(Path(data).resolve()) if data else None
    prepare_inputs(configs[0], data=data)  # the data file fits the run: say so now, not once per worker
    out_dir = (out_dir or sweep_dir(config)).resolve()
    out_dir.mkdir(parents=True)
    (out_dir / "grid.toml").write_text(grid_path.read_text())
    tasks = [
        (msgspec.to_builtins(c), data, str(out_dir / f"run-{i:04d}"), p)
        for i, (c, p) in enumerate(zip(configs, combos, strict=True), start=1)
    ]
    done = run_on_dask(tasks, workers=workers, cluster=cluster, worker_sessions=worker_sessions)
    table = pd.DataFrame(done.rows)
    key = rank_by.lstrip("-")
    if key in table:
        table = table.sort_values(key, ascending=rank_by.startswith("-"), na_position="last", kind="stable")
    table.insert(0, "rank", range(1, len(table) + 1))
    table_path = out_dir / "results.csv"
    table.to_csv(table_path, index=False)
    failed = int((table.get("error", pd.Series(dtype=str)).fillna("") != "").sum())
    return SweepResult(
        out_dir=out_dir,
        table_path=table_path,
        table=table,
        runs=len(done.rows),
        failed=failed,
        wall_seconds=done.run_seconds,
        startup_seconds=done.startup_seconds,
        workers=done.workers,
        rank_by=rank_by,
    )
