"""Sweep throughput: the same grid on 1 Dask worker and on all cores, runs per minute and their ratio.

    python -m dolphin_nautilus.bench.sweep [--runs 8] [--days 2]

Data: the first `--days` of the bundled sample, two instruments; grid: `--runs` combinations of the reference
signal's fast/slow windows and entry threshold. Wall time includes starting the local cluster, as a user
sees it. Target (issue 14): all cores >= 1.8 x one worker on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import msgspec
import pandas as pd

from dolphin_nautilus.backtest.data import SAMPLE_PATH
from dolphin_nautilus.config import load_config
from dolphin_nautilus.launch.backtest_sweep import run_sweep

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = ["BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"]
GRID_VALUES = {
    "strategy.reference.fast_bars": [20, 30, 45, 60],
    "strategy.reference.slow_bars": [120, 240],
    "strategy.reference.enter_above": [0.5, 0.6, 0.7],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="dolphin-bench-sweep-") as tmp:
        root = Path(tmp)
        frame = pd.read_parquet(SAMPLE_PATH)
        start = frame["timestamp"].min()
        frame = frame[frame.instrument_id.isin(INSTRUMENTS) & (frame.timestamp < start + pd.Timedelta(days=args.days))]
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
        results = {}
        for workers in (1, cores):
            result = run_sweep(
                config,
                grid_path=grid,
                data=str(data),
                sample=args.runs,
                seed=7,
                workers=workers,
                out_dir=root / f"w{workers}",
            )
            assert result.failed == 0, result.table[["run", "error"]].to_string()
            results[workers] = result
            print(
                f"{workers} worker(s): {result.runs} runs in {result.wall_seconds:.1f} s = "
                f"{result.runs_per_minute:.2f} runs/min",
                flush=True,
            )
    # The cores are shared: a load above the core count means other work took part of them during the runs.
    print(
        f"load average (1/5/15 min) after the runs: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} on {cores} cores"
    )
    ratio = results[cores].runs_per_minute / results[1].runs_per_minute
    print(f"all cores ({cores}) / 1 worker: {ratio:.2f}x (target >= 1.8x on 2 cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
