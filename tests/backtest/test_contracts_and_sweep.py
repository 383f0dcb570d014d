"""Contract specs from the snapshot (and its refresh from a venue), and a parameter sweep on a local Dask cluster."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from dolphin_nautilus.backtest.contracts_snapshot import (
    UnknownInstrument,
    load_contracts_snapshot,
    refresh_contracts_snapshot,
)
from dolphin_nautilus.config import load_config
from dolphin_nautilus.launch.backtest_run import run_job
from dolphin_nautilus.launch.backtest_sweep import SweepError, apply_params, run_sweep

from .conftest import write_config

XRP = "XRP-USDT-PERP.BINGX"


def test_bundled_snapshot_is_dated_and_serves_any_listed_contract():
    snapshot = load_contracts_snapshot()
    assert snapshot.header.taken_at and snapshot.header.sources
    ltc = snapshot.spec("LTC-USDT-PERP.BINGX")  # not one of the old hand-written six
    assert (ltc.price_increment, ltc.size_increment, ltc.min_notional) == (
        Decimal("0.01"),
        Decimal("0.1"),
        Decimal("2"),
    )
    with pytest.raises(UnknownInstrument, match=re.escape("nearest: XRP-USDT-PERP.BINGX")):
        snapshot.spec("XPR-USDT-PERP.BINGX")


def test_refresh_writes_the_venues_list(bingx_emulator, tmp_path: Path):
    path = tmp_path / "contracts.json"
    asyncio.run(refresh_contracts_snapshot(bingx_emulator.rest_url, path))
    snapshot = load_contracts_snapshot(path)
    assert snapshot.header.complete and bingx_emulator.rest_url in snapshot.header.sources[0]
    assert "BTC-USDT-PERP.BINGX" in snapshot.contracts
    assert snapshot.spec("BTC-USDT-PERP.BINGX").price_increment > 0


def test_sweep_runs_the_grid_in_parallel_and_ranks_it(tmp_path: Path, xrp_csv: Path):
    config = load_config(write_config(tmp_path / "bt.toml", instruments=[XRP], bar_minutes=5))
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\n"strategy.reference.fast_bars" = [5, 10]\n"strategy.reference.enter_above" = [0.5, 0.7]\n')
    result = run_sweep(config, grid_path=grid, data=str(xrp_csv), sample=3, workers=2, out_dir=tmp_path / "sweep")
    assert result.failed == 0, result.table.to_string()
    assert result.runs == 3 and result.workers == 2 and result.runs_per_minute > 0
    table = pd.read_csv(result.table_path)
    assert list(table["rank"]) == [1, 2, 3]
    assert table["net_pnl"].is_monotonic_decreasing
    assert {"strategy.reference.fast_bars", "sharpe_ratio", "max_drawdown", "run_dir"} <= set(table.columns)
    for run_dir in table["run_dir"]:
        assert (Path(run_dir) / "summary.json").is_file() and not (Path(run_dir) / "stores").exists()


def test_sweep_rejects_a_grid_key_that_is_not_a_setting(tmp_path: Path, xrp_csv: Path):
    config = load_config(write_config(tmp_path / "bt.toml", instruments=[XRP], bar_minutes=5))
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\n"strategy.reference.fast_barz" = [5]\n')
    with pytest.raises(
        SweepError, match=re.escape("grid.toml: grid key 'strategy.reference.fast_barz' is not a config setting")
    ):
        run_sweep(config, grid_path=grid, data=str(xrp_csv), workers=1, out_dir=tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()


SWEEP_ONLY_FIELDS = ("wall_seconds", "bars_per_second", "run_dir")  # the run's timing and folder
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TABLES = ("trades.csv", "exit_legs.csv", "fills.csv", "positions.csv")


def test_sweep_runs_give_the_same_results_as_plain_runs(tmp_path: Path, xrp_csv: Path):
    """A sweep run (inline stores, the journal in one batch, no charts, bars cached in the worker) is the
    plain backtest with the same parameters: the same summary, statistics, journal rows, tables and facts."""
    config = load_config(write_config(tmp_path / "bt.toml", instruments=[XRP], bar_minutes=5))
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\n"strategy.reference.fast_bars" = [5, 8]\n"strategy.reference.enter_above" = [0.5]\n')
    # One worker runs both points: the second reuses the bars the first read.
    result = run_sweep(config, grid_path=grid, data=str(xrp_csv), workers=1, out_dir=tmp_path / "sweep")
    assert result.failed == 0, result.table.to_string()
    for row in result.table.to_dict("records"):
        params = {key: row[key] for key in ("strategy.reference.fast_bars", "strategy.reference.enter_above")}
        plain = run_job(
            apply_params(config, params, grid), data=str(xrp_csv), run_dir=tmp_path / f"plain-{row['run']}", log=print
        )
        swept = Path(row["run_dir"])
        assert plain.summary.trades > 0 and row["trades"] == plain.summary.trades
        assert row["net_pnl"] == float(plain.summary.net_pnl)
        assert row["sharpe_ratio"] == plain.summary.statistics.sharpe_ratio
        assert _summary(swept) == _summary(plain.run_dir)
        for name in TABLES:
            assert _without_uuids(swept / name) == _without_uuids(plain.run_dir / name), name
        assert sorted(p.name for p in (swept / "facts").iterdir()) == sorted(
            p.name for p in (plain.run_dir / "facts").iterdir()
        )
        for part in (swept / "facts").iterdir():
            pd.testing.assert_frame_equal(pd.read_parquet(part), pd.read_parquet(plain.run_dir / "facts" / part.name))
        assert (plain.run_dir / "equity.png").is_file() and not (swept / "equity.png").exists()


def _without_uuids(path: Path) -> str:
    """The file's text with the engine's random event ids (a fresh UUID4 per event in every run) masked."""
    return UUID.sub("<uuid>", path.read_text())


def _summary(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    return {key: value for key, value in summary.items() if key not in SWEEP_ONLY_FIELDS}
