"""The report writer's files, with and without the pictures (`charts=False`: what a sweep's many runs use)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from dolphin_nautilus.backtest.facts_export import RunFacts
from dolphin_nautilus.backtest.report import EngineOutputs, summarize
from dolphin_nautilus.backtest.report_files import write_reports

PICTURES = {"equity.png", "report.html"}
TABLES = {"fills.csv", "positions.csv", "trades.csv", "exit_legs.csv", "summary.json"}


@pytest.mark.parametrize("charts", [True, False])
def test_charts_false_writes_every_table_and_no_picture(tmp_path: Path, charts: bool):
    start = pd.Timestamp("2026-01-05T00:00:00Z").value
    facts = RunFacts()
    outputs = EngineOutputs(
        fills=pd.DataFrame(), positions=pd.DataFrame(), open_positions=[], account_balance=Decimal(1000)
    )
    summary, equity = summarize(
        facts=facts,
        outputs=outputs,
        diagnostics=Counter(),
        journal={},
        bars=10,
        instruments=["XRP-USDT-PERP.BINGX"],
        start_ns=start,
        end_ns=start + 600_000_000_000,
        starting_balance=Decimal(1000),
        leverage=Decimal(10),
        wall_seconds=1.0,
        run_dir=tmp_path,
    )
    written = write_reports(
        tmp_path, summary=summary, facts=facts, outputs=outputs, equity=equity, specs={}, charts=charts
    )
    names = {p.name for p in written}
    assert names == (TABLES | PICTURES if charts else TABLES)
    assert {p.name for p in tmp_path.iterdir()} == names
