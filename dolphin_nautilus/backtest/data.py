"""Load OHLCV bars from CSV or Parquet, check them against the contracts, and build Nautilus bars.

What a researcher's own file may look like, and what we do about it:
- timestamps: ISO-8601 text (no zone = UTC), epoch seconds / milliseconds / microseconds / nanoseconds
  (numbers or digit strings; the unit is detected from the magnitude), or a datetime column (Parquet);
- one instrument without an `instrument_id` column (the run names it), or several with one;
- the bar interval is inferred from the most common spacing and must equal `strategy.bar_minutes`;
- gaps (missing bars) are counted; prices off the contract's tick are rounded to it and counted, and a
  rounding that moves a price by more than `MAX_TICK_ROUNDING` is an error (wrong contract for the data).

Bars are built with `Bar.from_raw_arrays_to_list`, not `BarDataWrangler`, which fails under pandas 3
(docs/reference/nautilus.md §13). Input timestamps are bar OPEN times; Nautilus stamps a bar at its CLOSE, so one bar
interval is added. A malformed file is a `BarDataError` naming the file, the row and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.objects import PRICE_MAX, QUANTITY_MAX

from dolphin_nautilus.contracts.topics import bar_type_name
from dolphin_nautilus.domain.instruments import InstrumentSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PATH = REPO_ROOT / "backtests" / "data" / "sample_1m.parquet"
PRICE_COLUMNS = ("open", "high", "low", "close")
REQUIRED_COLUMNS = ("timestamp", *PRICE_COLUMNS, "volume")
NS_PER_MINUTE = 60_000_000_000
MAX_TICK_ROUNDING = 0.01  # a price moved by more than 1 % by the tick is not data for this contract

# Epoch units by the order of magnitude of a 1990..2100 timestamp.
_EPOCH_UNITS = (
    ("s", "epoch seconds", 6.3e8, 4.2e9),
    ("ms", "epoch milliseconds", 6.3e11, 4.2e12),
    ("us", "epoch microseconds", 6.3e14, 4.2e15),
    ("ns", "epoch nanoseconds", 6.3e17, 4.2e18),
)


class BarDataError(ValueError):
    pass


class InstrumentData(msgspec.Struct, kw_only=True):
    instrument_id: str
    bars: int
    first_bar_open: str  # ISO-8601 UTC
    last_bar_open: str
    gaps: int  # places where one or more bars are missing
    missing_bars: int
    largest_gap_bars: int
    off_tick_rows: int  # rows with at least one price off the contract's tick (rounded to it)
    max_tick_rounding_pct: float


class DataReport(msgspec.Struct, kw_only=True):
    source: str
    rows: int
    timestamp_format: str
    bar_minutes: int
    instruments: list[InstrumentData]
    ignored_instruments: list[str]  # in the file, not in the run
    bars_after_until: int  # bars dropped by --until

    def lines(self) -> list[str]:
        out = [
            f"data                {self.source}: {self.rows:,} rows, timestamps as {self.timestamp_format}, "
            f"{self.bar_minutes}-minute bars"
        ]
        for d in self.instruments:
            gaps = (
                f"{d.gaps} gap(s), {d.missing_bars:,} missing bar(s) (largest {d.largest_gap_bars})"
                if d.gaps
                else "no gaps"
            )
            tick = (
                f"; {d.off_tick_rows:,} row(s) off the tick, rounded (max {d.max_tick_rounding_pct:.4f} %)"
                if d.off_tick_rows
                else ""
            )
            out.append(f"  {d.instrument_id:<22} {d.bars:,} bars {d.first_bar_open} .. {d.last_bar_open}, {gaps}{tick}")
        if self.ignored_instruments:
            out.append(f"  ignored (not in the run): {', '.join(self.ignored_instruments)}")
        if self.bars_after_until:
            out.append(f"  {self.bars_after_until:,} bar(s) after --until not used")
        return out


@dataclass(frozen=True)
class LoadedBars:
    bars: dict[str, list[Bar]]  # per instrument, closing at or before `until`
    report: DataReport
    first_close_ns: int
    last_close_ns: int


def resolve_source(source: str) -> Path:
    path = SAMPLE_PATH if source == "sample" else Path(source)
    if not path.is_file():
        hint = " (regenerate it: .venv/bin/python backtests/generate_sample.py)" if source == "sample" else ""
        raise BarDataError(f"{path}: no such file{hint}")
    return path


def read_frame(source: str, default_instrument: str | None = None) -> pd.DataFrame:
    """Read and validate a bar file. Without an `instrument_id` column, every row belongs to
    `default_instrument`. Adds `ts_open_ns` (int64) and the attribute `timestamp_format`."""
    path = resolve_source(source)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        df = pd.read_parquet(path) if parquet else pd.read_csv(path, dtype={"timestamp": str, "instrument_id": str})
    except Exception as exc:  # noqa: BLE001 - any reader failure is a malformed file for the operator
        raise BarDataError(f"{path}: cannot be read as {'Parquet' if parquet else 'CSV'}: {exc}") from None
    return _validate(df, path, default_instrument)


def _validate(df: pd.DataFrame, path: Path, default_instrument: str | None) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise BarDataError(
            f"{path}: missing column(s) {missing}; expected {list(REQUIRED_COLUMNS)} and optionally 'instrument_id'"
        )
    if df.empty:
        raise BarDataError(f"{path}: no rows")
    # A frame this module wrote back out (benchmarks do) carries our helper columns: they are derived again.
    df = df.drop(columns=["file_row", "ts_open_ns"], errors="ignore").reset_index(drop=True).copy()
    if "instrument_id" not in df.columns:
        if default_instrument is None:
            raise BarDataError(
                f"{path}: no 'instrument_id' column, so the file is one instrument: name it with "
                f"--instrument ID (e.g. --instrument XRP-USDT-PERP.BINGX)"
            )
        df["instrument_id"] = default_instrument
    df["ts_open_ns"], fmt = _parse_timestamps(df["timestamp"], path)
    for column in (*PRICE_COLUMNS, "volume"):
        values = pd.to_numeric(df[column], errors="coerce")
        _fail_on_rows(path, values.isna() | ~np.isfinite(values), column, "is not a finite number")
        df[column] = values.astype("float64")
    _fail_on_rows(path, df[list(PRICE_COLUMNS)].le(0).any(axis=1), "open/high/low/close", "is not > 0")
    _fail_on_rows(
        path,
        df[list(PRICE_COLUMNS)].ge(PRICE_MAX).any(axis=1),
        "open/high/low/close",
        f"is beyond the largest price NautilusTrader can hold ({PRICE_MAX:,.0f})",
    )
    _fail_on_rows(path, df["volume"] < 0, "volume", "is negative")
    _fail_on_rows(path, df["volume"] >= QUANTITY_MAX, "volume", f"is beyond {QUANTITY_MAX:,.0f}")
    _fail_on_rows(path, df["high"] < df[["open", "close", "low"]].max(axis=1), "high", "is below open/close/low")
    _fail_on_rows(path, df["low"] > df[["open", "close"]].min(axis=1), "low", "is above open/close")
    order = df.sort_values(["instrument_id", "ts_open_ns"], kind="stable")
    dup = order.duplicated(["instrument_id", "ts_open_ns"], keep="first")
    _fail_on_rows(
        path, dup.reindex(df.index, fill_value=False), "timestamp", "repeats an earlier bar of the same instrument"
    )
    out = order.reset_index(names="file_row")
    out["timestamp"] = pd.to_datetime(out["ts_open_ns"], unit="ns", utc=True)
    out.attrs["timestamp_format"] = fmt
    return out


def _parse_timestamps(column: pd.Series, path: Path) -> tuple[pd.Series, str]:
    """Timestamps as int64 UTC nanoseconds, and how they were written."""
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")
        return stamps.dt.as_unit("ns").astype("int64"), "datetime values (from the file's column type)"
    text = column.astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce") if column.dtype == object else pd.to_numeric(column, errors="coerce")
    if numeric.notna().all():
        return _epoch(numeric, path)
    if numeric.notna().any():
        _fail_on_rows(path, numeric.notna(), "timestamp", "is a number while other rows are dates")
    stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    _fail_on_rows(path, stamps.isna(), "timestamp", "is not an ISO-8601 date/time or an epoch number")
    zoned = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    fmt = "ISO-8601" + ("" if zoned.all() else " (no zone given: read as UTC)")
    return stamps.dt.as_unit("ns").astype("int64"), fmt


def _epoch(values: pd.Series, path: Path) -> tuple[pd.Series, str]:
    magnitude = float(values.abs().median())
    for unit, label, low, high in _EPOCH_UNITS:
        if low <= magnitude < high:
            scale = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
            out_of_range = (values.abs() < low) | (values.abs() >= high)
            _fail_on_rows(path, out_of_range, "timestamp", f"is not in the same unit ({label}) as the other rows")
            if (values % 1 != 0).any():  # fractional seconds/ms: through float, exact enough below ns
                return (values.astype("float64") * scale).round().astype("int64"), label
            return values.astype("int64") * scale, label
    raise BarDataError(
        f"{path}: 'timestamp' holds numbers ({values.iloc[0]} ...) that are not epoch seconds, "
        "milliseconds, microseconds or nanoseconds of a date between 1990 and 2100"
    )


def _fail_on_rows(path: Path, bad: pd.Series, column: str, problem: str) -> None:
    if bool(bad.any()):
        rows = bad[bad].index[:5].tolist()
        raise BarDataError(
            f"{path}: {int(bad.sum())} bad value(s) in '{column}' ({problem}); first at {_where(path, rows)}"
        )


def _where(path: Path, rows: list[int]) -> str:
    # CSV: 1-based line numbers as an editor shows them (+1 header line); Parquet: 0-based row index.
    if path.suffix.lower() == ".csv":
        return "line " + ", ".join(str(r + 2) for r in rows)
    return "row " + ", ".join(map(str, rows))


def infer_bar_minutes(df: pd.DataFrame, path: Path) -> int:
    """The most common spacing between consecutive bars of one instrument, in whole minutes."""
    steps = df.groupby("instrument_id", sort=False)["ts_open_ns"].diff().dropna()
    if steps.empty:
        raise BarDataError(f"{path}: one bar per instrument; the bar interval cannot be inferred")
    step = int(steps.mode().iloc[0])
    if step % NS_PER_MINUTE:
        raise BarDataError(f"{path}: bars are {step / 1e9:g} s apart; only whole-minute bars are supported")
    return step // NS_PER_MINUTE


def load_bars(
    source: str,
    specs: dict[str, InstrumentSpec],
    minutes: int,
    *,
    until_ns: int | None = None,
    minutes_key: str = "strategy.bar_minutes",
) -> LoadedBars:
    """Read, check and convert `source` for the instruments in `specs` (bar closes <= `until_ns`)."""
    path = resolve_source(source)
    frame = read_frame(source, default_instrument=next(iter(specs)) if len(specs) == 1 else None)
    in_file = sorted(frame["instrument_id"].unique())
    wanted = [iid for iid in in_file if iid in specs]
    missing = sorted(set(specs) - set(in_file))
    if missing:
        raise BarDataError(f"{path}: no bars for instrument(s) {missing} of the run; the file has {in_file}")
    frame = frame[frame["instrument_id"].isin(wanted)]
    inferred = infer_bar_minutes(frame, path)
    if inferred != minutes:
        raise BarDataError(
            f"{path}: the bars are {inferred} minute(s) apart but {minutes_key} = {minutes}; "
            f"set it to {inferred} or resample the data"
        )
    step_ns = minutes * NS_PER_MINUTE
    bars: dict[str, list[Bar]] = {}
    per_instrument: list[InstrumentData] = []
    dropped = 0
    for instrument_id, group in frame.groupby("instrument_id", sort=True):
        spec = specs[instrument_id]
        info, prices = _check_instrument(group, spec, step_ns, path)
        per_instrument.append(info)
        close_ns = group["ts_open_ns"].to_numpy(dtype=np.int64) + step_ns
        keep = close_ns <= until_ns if until_ns is not None else np.ones(len(close_ns), dtype=bool)
        dropped += int((~keep).sum())
        if not keep.any():
            first = pd.Timestamp(int(close_ns[0]), tz="UTC").isoformat()
            raise BarDataError(
                f"--until {pd.Timestamp(until_ns, tz='UTC').isoformat()} is before the first bar "
                f"of {instrument_id} in {path} (it closes {first})"
            )
        ts = np.ascontiguousarray(close_ns[keep].astype(np.uint64))
        bars[instrument_id] = Bar.from_raw_arrays_to_list(
            BarType.from_str(bar_type_name(instrument_id, minutes)),
            spec.price_precision,
            spec.size_precision,
            _kept_float64(prices["open"], keep),
            _kept_float64(prices["high"], keep),
            _kept_float64(prices["low"], keep),
            _kept_float64(prices["close"], keep),
            _kept_float64(group["volume"].to_numpy(), keep),
            ts,
            ts.copy(),
        )
    report = DataReport(
        source=str(path),
        rows=len(frame),
        timestamp_format=frame.attrs["timestamp_format"],
        bar_minutes=inferred,
        instruments=per_instrument,
        ignored_instruments=sorted(set(in_file) - set(wanted)),
        bars_after_until=dropped,
    )
    return LoadedBars(
        bars=bars,
        report=report,
        first_close_ns=min(int(s[0].ts_event) for s in bars.values()),
        last_close_ns=max(int(s[-1].ts_event) for s in bars.values()),
    )


def _kept_float64(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept rows as a new float64 array: Nautilus wants writable copies, not views of the frame."""
    return np.array(values[keep], dtype=np.float64, copy=True)


def _check_instrument(
    group: pd.DataFrame, spec: InstrumentSpec, step_ns: int, path: Path
) -> tuple[InstrumentData, dict[str, np.ndarray]]:
    stamps = group["ts_open_ns"].to_numpy(dtype=np.int64)
    steps = np.diff(stamps)
    off_grid = steps % step_ns != 0
    if off_grid.any():
        row = int(group["file_row"].iloc[int(np.argmax(off_grid)) + 1])
        raise BarDataError(
            f"{path}: bar at {_where(path, [row])} of {spec.instrument_id} is off the "
            f"{step_ns // NS_PER_MINUTE}-minute grid of the bars before it"
        )
    missing_per_gap = steps // step_ns - 1
    tick = float(spec.price_increment)
    prices: dict[str, np.ndarray] = {}
    off_any = np.zeros(len(group), dtype=bool)
    worst = np.zeros(len(group))
    for column in PRICE_COLUMNS:
        raw = group[column].to_numpy(dtype=np.float64)
        rounded = np.round(np.round(raw / tick) * tick, spec.price_precision)
        moved = np.abs(rounded - raw) / raw
        off_any |= moved > 1e-12
        worst = np.maximum(worst, moved)
        prices[column] = rounded
    too_far = worst > MAX_TICK_ROUNDING
    if too_far.any():
        i = int(np.argmax(too_far))
        row = int(group["file_row"].iloc[i])
        raise BarDataError(
            f"{path}: {int(too_far.sum())} row(s) of {spec.instrument_id} have prices the contract's tick "
            f"({spec.price_increment}) moves by more than {MAX_TICK_ROUNDING:.0%}, first at {_where(path, [row])} "
            f"(e.g. close {float(group['close'].iloc[i])!r} -> {float(prices['close'][i])!r}); "
            "is this data quoted in another currency or for another contract?"
        )
    iso = lambda ns: pd.Timestamp(int(ns), tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    info = InstrumentData(
        instrument_id=spec.instrument_id,
        bars=len(group),
        first_bar_open=iso(stamps[0]),
        last_bar_open=iso(stamps[-1]),
        gaps=int((missing_per_gap > 0).sum()),
        missing_bars=int(missing_per_gap.sum()),
        largest_gap_bars=int(missing_per_gap.max()) if len(missing_per_gap) else 0,
        off_tick_rows=int(off_any.sum()),
        max_tick_rounding_pct=round(float(worst.max()) * 100, 6),
    )
    return info, prices


def build_bars(frame: pd.DataFrame, specs: dict[str, InstrumentSpec], minutes: int) -> dict[str, list[Bar]]:
    """Bars of an already read frame (benchmarks): one list per instrument in `specs`, prices at the tick."""
    step_ns = minutes * NS_PER_MINUTE
    bars: dict[str, list[Bar]] = {}
    for instrument_id, group in frame[frame["instrument_id"].isin(list(specs))].groupby("instrument_id"):
        spec = specs[instrument_id]
        _, prices = _check_instrument(group, spec, step_ns, Path("frame"))
        ts = np.ascontiguousarray(group["ts_open_ns"].to_numpy(dtype=np.int64).astype(np.uint64) + np.uint64(step_ns))
        bars[instrument_id] = Bar.from_raw_arrays_to_list(
            BarType.from_str(bar_type_name(instrument_id, minutes)),
            spec.price_precision,
            spec.size_precision,
            *(np.array(prices[c], copy=True) for c in PRICE_COLUMNS),
            np.array(group["volume"].to_numpy(dtype=np.float64), copy=True),
            ts,
            ts.copy(),
        )
    return bars
