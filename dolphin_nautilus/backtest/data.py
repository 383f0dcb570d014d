"""Load 1-minute OHLCV bars from CSV or Parquet and build Nautilus bars.

Bars are built with `Bar.from_raw_arrays_to_list`, not `BarDataWrangler`, which fails under pandas 3
(nautilus.md §13). Input timestamps are bar OPEN times (how exchanges and our sample stamp them); Nautilus
stamps a bar at its CLOSE, so one bar interval is added.

A malformed file is a `BarDataError` naming the file, the row and what is wrong; nothing is half-loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.model.data import Bar, BarType

from dolphin_nautilus.contracts.topics import bar_type_name
from dolphin_nautilus.domain.instruments import InstrumentSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PATH = REPO_ROOT / "backtests" / "data" / "sample_1m.parquet"
PRICE_COLUMNS = ("open", "high", "low", "close")
REQUIRED_COLUMNS = ("timestamp", *PRICE_COLUMNS, "volume")


class BarDataError(ValueError):
    pass


def read_frame(source: str, default_instrument: str | None = None) -> pd.DataFrame:
    """Read and validate a bar file. Without an `instrument_id` column, every row belongs to
    `default_instrument` (the only configured instrument)."""
    path = SAMPLE_PATH if source == "sample" else Path(source)
    if not path.is_file():
        hint = " (regenerate it: .venv/bin/python backtests/generate_sample.py)" if source == "sample" else ""
        raise BarDataError(f"{path}: no such file{hint}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a malformed file for the operator
        raise BarDataError(f"{path}: cannot be read as {'Parquet' if path.suffix.lower() in ('.parquet', '.pq') else 'CSV'}: {exc}") from None
    return _validate(df, path, default_instrument)


def _validate(df: pd.DataFrame, path: Path, default_instrument: str | None) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise BarDataError(f"{path}: missing column(s) {missing}; expected {list(REQUIRED_COLUMNS)} "
                           f"and optionally 'instrument_id'")
    if df.empty:
        raise BarDataError(f"{path}: no rows")
    if "instrument_id" not in df.columns:
        if default_instrument is None:
            raise BarDataError(f"{path}: no 'instrument_id' column and more than one instrument configured")
        df = df.assign(instrument_id=default_instrument)
    df = df.copy()
    stamps = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    _fail_on_rows(path, stamps.isna(), "timestamp", "is not a date/time")
    df["timestamp"] = stamps
    for column in (*PRICE_COLUMNS, "volume"):
        values = pd.to_numeric(df[column], errors="coerce")
        _fail_on_rows(path, values.isna() | ~np.isfinite(values), column, "is not a finite number")
        df[column] = values.astype("float64")
    _fail_on_rows(path, df[list(PRICE_COLUMNS)].le(0).any(axis=1), "open/high/low/close", "is not > 0")
    _fail_on_rows(path, df["volume"] < 0, "volume", "is negative")
    _fail_on_rows(path, df["high"] < df[["open", "close", "low"]].max(axis=1), "high", "is below open/close/low")
    _fail_on_rows(path, df["low"] > df[["open", "close"]].min(axis=1), "low", "is above open/close")
    df = df.reset_index(drop=True)
    order = df.sort_values(["instrument_id", "timestamp"], kind="stable")
    dup = order.duplicated(["instrument_id", "timestamp"], keep="first")
    _fail_on_rows(path, dup.reindex(df.index, fill_value=False), "timestamp", "repeats an earlier bar of the same instrument")
    return order.reset_index(drop=True)


def _fail_on_rows(path: Path, bad: pd.Series, column: str, problem: str) -> None:
    if bool(bad.any()):
        rows = bad[bad].index[:5].tolist()
        # +2: the header line, and 1-based line numbers as an editor shows them (CSV); index for Parquet.
        where = ", ".join(str(r + 2) for r in rows) if path.suffix.lower() == ".csv" else ", ".join(map(str, rows))
        label = "line" if path.suffix.lower() == ".csv" else "row"
        raise BarDataError(f"{path}: {int(bad.sum())} bad value(s) in '{column}' ({problem}); first at {label} {where}")


def build_bars(df: pd.DataFrame, specs: dict[str, InstrumentSpec], minutes: int) -> dict[str, list[Bar]]:
    """One list of bars per configured instrument; rows of instruments not configured are ignored."""
    bars: dict[str, list[Bar]] = {}
    for instrument_id, group in df.groupby("instrument_id", sort=True):
        if instrument_id not in specs:
            continue
        spec = specs[instrument_id]
        ts = np.array(group["timestamp"].dt.as_unit("ns").astype("int64").to_numpy() + minutes * 60_000_000_000,
                      dtype=np.uint64)
        col = lambda name: np.array(group[name].to_numpy(dtype=np.float64), copy=True)  # noqa: E731 - writable copies
        bars[instrument_id] = Bar.from_raw_arrays_to_list(
            BarType.from_str(bar_type_name(instrument_id, minutes)), spec.price_precision, spec.size_precision,
            col("open"), col("high"), col("low"), col("close"), col("volume"), ts, ts.copy(),
        )
    missing = sorted(set(specs) - set(bars))
    if missing:
        raise BarDataError(f"no bars for configured instrument(s) {missing}")
    return bars
