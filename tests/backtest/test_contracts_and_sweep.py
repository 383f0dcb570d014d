"""Contract specs from the snapshot (and its refresh from a venue), and a parameter sweep on a local Dask cluster."""

from __future__ import annotations

import asyncio
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
from dolphin_nautilus.launch.backtest_sweep import SweepError, run_sweep

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
