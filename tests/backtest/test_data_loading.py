"""Own data: interval inference, epoch units, gaps, tick rounding, bad values named by file and line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dolphin_nautilus.backtest.catalogue import spec_for
from dolphin_nautilus.backtest.data import BarDataError, load_bars

from .conftest import candles

XRP = "XRP-USDT-PERP.BINGX"


def _specs(iid: str = XRP):
    return {iid: spec_for(iid)}


def test_iso_file_reports_interval_format_and_no_gaps(xrp_csv: Path):
    loaded = load_bars(str(xrp_csv), _specs(), 5)
    report = loaded.report
    assert report.bar_minutes == 5 and report.timestamp_format == "ISO-8601"
    (xrp,) = report.instruments
    assert (xrp.bars, xrp.gaps, xrp.missing_bars, xrp.off_tick_rows) == (600, 0, 0, 0)
    bars = loaded.bars[XRP]
    # Open time + one interval: Nautilus stamps bars at their close.
    assert bars[0].ts_event == pd.Timestamp("2026-01-05T00:05:00Z").value


def test_interval_mismatch_names_both(xrp_csv: Path):
    with pytest.raises(BarDataError, match=r"5 minute\(s\) apart but strategy.bar_minutes = 1"):
        load_bars(str(xrp_csv), _specs(), 1)


@pytest.mark.parametrize(
    ("unit", "scale", "label"),
    [
        ("s", 10**9, "epoch seconds"),
        ("ms", 10**6, "epoch milliseconds"),
        ("us", 10**3, "epoch microseconds"),
        ("ns", 1, "epoch nanoseconds"),
    ],
)
def test_epoch_units_are_detected(tmp_path: Path, unit: str, scale: int, label: str):
    frame = candles(100)
    frame["timestamp"] = frame["timestamp"].dt.as_unit("ns").astype("int64") // scale
    path = tmp_path / f"epoch_{unit}.csv"
    frame.to_csv(path, index=False)
    loaded = load_bars(str(path), _specs(), 1)
    assert loaded.report.timestamp_format == label
    assert loaded.report.instruments[0].first_bar_open == "2026-01-05T00:00:00Z"


def test_gaps_are_counted(tmp_path: Path):
    frame = candles(200).drop(index=[10, 11, 12, 50]).reset_index(drop=True)
    path = tmp_path / "gappy.csv"
    frame.to_csv(path, index=False)
    info = load_bars(str(path), _specs(), 1).report.instruments[0]
    assert (info.gaps, info.missing_bars, info.largest_gap_bars) == (2, 4, 3)


def test_off_tick_prices_are_rounded_and_counted(tmp_path: Path):
    frame = candles(100, decimals=6)  # XRP's tick is 0.0001
    path = tmp_path / "fine.csv"
    frame.to_csv(path, index=False)
    loaded = load_bars(str(path), _specs(), 1)
    info = loaded.report.instruments[0]
    assert 0 < info.off_tick_rows <= 100 and 0 < info.max_tick_rounding_pct < 1
    assert all(round(b.close.as_double(), 4) == b.close.as_double() for b in loaded.bars[XRP])


def test_prices_the_tick_would_wreck_are_an_error(tmp_path: Path):
    frame = candles(50, price=0.0016, decimals=8)  # a BTC-quoted altcoin on BTC-USDT (tick 0.1)
    path = tmp_path / "altbtc.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(BarDataError, match=r"altbtc.csv: 50 row\(s\) of BTC-USDT-PERP.BINGX .* first at line 2"):
        load_bars(str(path), _specs("BTC-USDT-PERP.BINGX"), 1)


@pytest.mark.parametrize(
    ("bad", "problem"), [("1e308", "largest price"), ("NaN", "not a finite number"), ("-3", "is not > 0")]
)
def test_bad_prices_name_file_and_line(tmp_path: Path, bad: str, problem: str):
    frame = candles(20)
    frame["close"] = frame["close"].astype(object)
    frame.loc[7, "close"] = bad
    frame.loc[7, "high"] = 1e308 if bad == "1e308" else frame.loc[7, "high"]
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(BarDataError) as err:
        load_bars(str(path), _specs(), 1)
    assert str(path) in str(err.value) and "line 9" in str(err.value) and problem in str(err.value)


def test_until_before_the_data_is_an_error(xrp_csv: Path):
    with pytest.raises(BarDataError, match="before the first bar"):
        load_bars(str(xrp_csv), _specs(), 5, until_ns=pd.Timestamp("2020-01-01", tz="UTC").value)


def test_file_without_instrument_column_needs_one_instrument(xrp_csv: Path):
    with pytest.raises(BarDataError, match="--instrument"):
        load_bars(str(xrp_csv), {XRP: spec_for(XRP), "BTC-USDT-PERP.BINGX": spec_for("BTC-USDT-PERP.BINGX")}, 5)
