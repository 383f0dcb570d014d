"""`dolphin-backtest` as a user runs it (real CLI in a subprocess, real engine, embedded stores)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from .conftest import REPO, write_config

XRP = "XRP-USDT-PERP.BINGX"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dolphin_nautilus.launch.backtest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_single_instrument_file_runs_to_a_small_folder_with_the_reports(tmp_path: Path, xrp_csv: Path):
    # Simulated exit rejects on here: this run also exercises the reject path.
    config = write_config(
        tmp_path / "bt.toml",
        instruments=["BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"],
        bar_minutes=5,
        extra="reject_exit_every = 3\nprogress = true".replace("progress = true", ""),
    )
    text = config.read_text().replace("progress = false", "progress = true")
    config.write_text(text)
    done = cli("--config", str(config), "--data", str(xrp_csv), "--instrument", "XRP-USDT")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[100.0%]" in done.stderr  # the progress line reaches the end
    assert "timestamps as ISO-8601, 5-minute bars" in done.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert not (run_dir / "stores").exists()  # the embedded stores are dropped by default
    for name in (
        "summary.json",
        "trades.csv",
        "exit_legs.csv",
        "fills.csv",
        "positions.csv",
        "equity.png",
        "report.html",
        "facts/trades.parquet",
        "facts/orders.parquet",
    ):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["instruments"] == [XRP] and summary["trades"] > 0
    assert summary["data"]["bar_minutes"] == 5
    assert [row["key"] for row in summary["by_instrument"]] == [XRP]
    assert sum(row["trades"] for row in summary["by_exit_reason"]) == summary["trades"]
    assert {"sharpe_ratio", "sortino_ratio", "cagr", "profit_factor", "expectancy", "drawdown"} <= set(
        summary["statistics"]
    )
    assert "max_drawdown_duration" in summary and "return_on_deployed_pct" in summary
    assert (
        summary["simulated_exit_rejects"] > 0 and summary["exit_rejects_handled"] == summary["simulated_exit_rejects"]
    )
    orders = pd.read_parquet(run_dir / "facts" / "orders.parquet")
    assert orders.loc[orders.event == "REJECTED", "reason"].str.startswith("SIMULATED exit reject").all()
    trades = pd.read_csv(run_dir / "trades.csv", dtype=str)
    assert trades["opened"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert (trades["currency"] == "USDT").all()
    assert trades["entry_avg_px"].str.match(r"^\d+\.\d{4}$").all()  # XRP's price precision
    fills = (run_dir / "fills.csv").read_text()
    assert "[" not in fills and " USDT" not in fills and "commission_currency" in fills
    assert "+00:00" not in (run_dir / "positions.csv").read_text()
    assert 'src="http' not in (run_dir / "report.html").read_text()[:2000]  # plotly.js embedded: works offline


@pytest.mark.parametrize(
    ("args", "config_extra", "expected"),
    [
        (("--until", "garbage"), "", "--until 'garbage': not a date/time"),
        (("--until", "2020-01-01"), "", "is before the first bar"),
        (("--instrument", "ALT-BTC-PERP.BINGX"), "", "expected a BingX USDT-M perpetual"),
        (("--instrument", "XPR-USDT"), "", "nearest: XRP-USDT-PERP.BINGX"),
        ((), '[strategy]\ntrade_notional_usdt = "NaN"\n', "key 'strategy.trade_notional_usdt' has bad value 'NaN'"),
        ((), '[strategy]\ntrade_notional_usdt = "1e308"\n', "key 'strategy.trade_notional_usdt' has bad value '1e308'"),
        ((), "[strategy]\nbar_minutes = 1\n", "5 minute(s) apart but strategy.bar_minutes"),
    ],
)
def test_bad_inputs_exit_2_with_one_message_and_no_run_folder(
    tmp_path: Path, xrp_csv: Path, args, config_extra, expected
):
    config = write_config(tmp_path / "bt.toml", instruments=[XRP], bar_minutes=5)
    if config_extra:
        text = config.read_text()
        key, value = config_extra.splitlines()[1].split(" = ")
        text = "\n".join(f"{key} = {value}" if line.startswith(f"{key} =") else line for line in text.splitlines())
        config.write_text(text)
    done = cli("--config", str(config), "--data", str(xrp_csv), *args)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_bad_price_in_the_file_names_file_and_line(tmp_path: Path, xrp_csv: Path):
    frame = pd.read_csv(xrp_csv)
    frame = frame.astype({"high": object, "close": object})
    frame.loc[41, ["high", "close"]] = "1e308"
    frame.to_csv(xrp_csv, index=False)
    config = write_config(tmp_path / "bt.toml", instruments=[XRP], bar_minutes=5)
    done = cli("--config", str(config), "--data", str(xrp_csv))
    assert done.returncode == 2
    assert f"{xrp_csv}: 1 bad value(s)" in done.stderr and "line 43" in done.stderr
    assert not (tmp_path / "runs").exists()
