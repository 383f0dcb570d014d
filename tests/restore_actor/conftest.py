"""Restore-actor fixtures: small bar data (few days, two instruments) and a backtest config, written per
session; backtests run in child processes because chDB allows one data path per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dolphin_nautilus.backtest.data import SAMPLE_PATH

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = ["BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"]
DATA_END = pd.Timestamp("2026-09-04", tz="UTC")  # three days of the sample
CONFIG = f"""
[node]
environment = "backtest"
namespace = "rtest"
log_level = "ERROR"
[strategy]
instruments = {json.dumps(INSTRUMENTS)}
trade_notional_usdt = "250"
[strategy.reference]
fast_bars = 20
slow_bars = 120
[backtest]
reject_exit_every = 0
progress = false
"""


@pytest.fixture(scope="session")
def bt_files(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("restore_actor_bt")
    frame = pd.read_parquet(SAMPLE_PATH)
    frame = frame[frame.instrument_id.isin(INSTRUMENTS) & (frame.timestamp < DATA_END)]
    data = root / "bars.parquet"
    frame.to_parquet(data)
    config = root / "backtest.toml"
    config.write_text(CONFIG)
    return config, data


def start_backtest(config: Path, data: Path, state_dir: Path, run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.restore_actor.backtest_child",
            str(config),
            str(state_dir),
            str(data),
            str(run_dir),
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-3000:]
    return json.loads(out)
