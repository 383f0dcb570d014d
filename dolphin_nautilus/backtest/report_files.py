"""The files of a backtest run folder: trades.csv, exit_legs.csv, Nautilus's fills.csv and positions.csv,
summary.json, and the pictures (`report_plots`).

Files a spreadsheet reads directly: ISO-8601 UTC timestamps, prices and quantities at the instrument's
precision, money as a plain number with its currency in its own column.
"""

from __future__ import annotations

import csv
import math
import re
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd

from dolphin_nautilus.backtest.facts_export import RunFacts
from dolphin_nautilus.backtest.report import (
    CURRENCY,
    MONEY_DECIMALS,
    EngineOutputs,
    RunSummary,
    fmt_places,
    iso_utc,
    money_text,
)
from dolphin_nautilus.backtest.report_plots import plot_html, plot_png
from dolphin_nautilus.domain.facts import TradeClosed, TradeExitLeg
from dolphin_nautilus.domain.instruments import InstrumentSpec


def write_reports(
    run_dir: Path,
    *,
    summary: RunSummary,
    facts: RunFacts,
    outputs: EngineOutputs,
    equity: pd.Series,
    specs: dict[str, InstrumentSpec],
    html: bool = True,
    charts: bool = True,
) -> list[Path]:
    """The CSVs, summary.json and, with `charts`, the pictures (equity.png; report.html unless `html` is
    False). `charts=False` skips the plotting libraries altogether (a sweep's many runs)."""
    written = [
        _write_csv(engine_report_frame(outputs.fills, specs), run_dir / "fills.csv"),
        _write_csv(engine_report_frame(outputs.positions, specs), run_dir / "positions.csv"),
        _write_csv(trades_frame(facts.trades, specs), run_dir / "trades.csv"),
        _write_csv(legs_frame(facts.legs, specs), run_dir / "exit_legs.csv"),
    ]
    summary_path = run_dir / "summary.json"
    summary_path.write_bytes(msgspec.json.format(msgspec.json.encode(summary)))
    written.append(summary_path)
    if not charts:
        return written
    written.append(plot_png(equity, facts.trades, run_dir / "equity.png"))
    if html:
        written.append(plot_html(summary, equity, facts.trades, run_dir / "report.html"))
    return written


def trades_frame(trades: list[TradeClosed], specs: dict[str, InstrumentSpec]) -> pd.DataFrame:
    rows = []
    for t in trades:
        spec = specs.get(t.instrument_id)
        px, qty = (spec.price_precision, spec.size_precision) if spec else (MONEY_DECIMALS, MONEY_DECIMALS)
        rows.append(
            {
                "trade_id": t.trade_id,
                "instrument_id": t.instrument_id,
                "side": t.side,
                "opened": iso_utc(t.opened_ts),
                "closed": iso_utc(t.ts),
                "duration_min": round((t.ts - t.opened_ts) / 6e10, 2),
                "bars_held": t.bars_held,
                "quantity": fmt_places(t.quantity, qty),
                "entry_avg_px": fmt_places(t.entry_avg_px, px),
                "exit_avg_px": fmt_places(t.exit_avg_px, px),
                "realized_pnl": money_text(t.realized_pnl),
                "fees": money_text(t.fees),
                "net_pnl": money_text(t.net_pnl),
                "currency": CURRENCY,
                "legs": t.legs,
                "exit_reason": t.exit_reason,
                "row_id": t.row_id,
            }
        )
    return pd.DataFrame(rows)


def legs_frame(legs: list[TradeExitLeg], specs: dict[str, InstrumentSpec]) -> pd.DataFrame:
    rows = []
    for leg in legs:
        spec = specs.get(leg.instrument_id)
        px, qty = (spec.price_precision, spec.size_precision) if spec else (MONEY_DECIMALS, MONEY_DECIMALS)
        rows.append(
            {
                "ts": iso_utc(leg.ts),
                "trade_id": leg.trade_id,
                "instrument_id": leg.instrument_id,
                "leg_no": leg.leg_no,
                "reason": leg.reason,
                "quantity": fmt_places(leg.quantity, qty),
                "price": fmt_places(leg.price, px),
                "notional": money_text(leg.notional),
                "realized_pnl": money_text(leg.realized_pnl),
                "fee": money_text(leg.fee),
                "currency": CURRENCY,
                "remaining_quantity": fmt_places(leg.remaining_quantity, qty),
                "is_final": leg.is_final,
                "client_order_id": leg.client_order_id,
                "venue_trade_id": leg.venue_trade_id,
                "row_id": leg.row_id,
            }
        )
    return pd.DataFrame(rows)


_MONEY_TEXT = re.compile(r"^(-?\d+(?:\.\d+)?) ([A-Z][A-Z0-9]{1,9})$")
_PRICE_COLUMNS = {"price", "avg_px", "avg_px_open", "avg_px_close", "last_px", "trigger_price"}
_QTY_COLUMNS = {"quantity", "filled_qty", "leaves_qty", "peak_qty", "signed_qty"}


def engine_report_frame(frame: pd.DataFrame | None, specs: dict[str, InstrumentSpec]) -> pd.DataFrame:
    """A NautilusTrader fills/positions report made spreadsheet-ready: ISO-8601 UTC times, prices and quantities
    at the instrument's precision, money split into a number and a `<column>_currency` column, lists flattened."""
    if frame is None or len(frame) == 0:
        return pd.DataFrame()
    df = frame.reset_index()
    px_places = (
        df["instrument_id"].map(lambda i: specs[str(i)].price_precision if str(i) in specs else None)
        if "instrument_id" in df
        else None
    )
    qty_places = (
        df["instrument_id"].map(lambda i: specs[str(i)].size_precision if str(i) in specs else None)
        if "instrument_id" in df
        else None
    )
    out: dict[str, pd.Series] = {}
    for column in df.columns:
        values = df[column]
        if column == "duration_ns":
            out["duration_s"] = values.map(lambda v: "" if pd.isna(v) else f"{float(v) / 1e9:.0f}")
        elif (
            isinstance(values.dtype, pd.DatetimeTZDtype)
            or pd.api.types.is_datetime64_any_dtype(values)
            or values.map(lambda v: isinstance(v, pd.Timestamp)).any()
        ):
            out[column] = values.map(lambda v: "" if pd.isna(v) else iso_utc(pd.Timestamp(v).value))
        elif column.startswith("ts_") and pd.api.types.is_integer_dtype(values):
            out[column] = values.map(lambda v: iso_utc(v) if v else "")
        elif pd.api.types.is_timedelta64_dtype(values):
            out[column] = values.map(lambda v: "" if pd.isna(v) else f"{v.total_seconds():.0f}")
            out = {**out, f"{column}_s": out.pop(column)}
        elif values.map(lambda v: isinstance(v, (list, tuple))).any():
            _split_money_list(column, values, out)
        elif values.map(lambda v: isinstance(v, str) and bool(_MONEY_TEXT.match(v))).all() and len(values):
            split = values.map(_money_parts)
            out[column] = split.map(lambda p: p[0])
            out[f"{column}_currency"] = split.map(lambda p: p[1])
        elif column in _PRICE_COLUMNS and px_places is not None:
            out[column] = _at_places(values, px_places)
        elif column in _QTY_COLUMNS and qty_places is not None:
            out[column] = _at_places(values, qty_places)
        else:
            out[column] = values
    return pd.DataFrame(out)


def _money_parts(text: str) -> tuple[str, str]:
    """`'0.0125 USDT'` -> `('0.0125', 'USDT')`, for a cell already checked to match."""
    match = _MONEY_TEXT.match(text)
    if match is None:
        raise ValueError(f"not an amount with a currency: {text!r}")
    return match.group(1), match.group(2)


def _split_money_list(column: str, values: pd.Series, out: dict[str, pd.Series]) -> None:
    """`['0.0125 USDT']` -> `0.0125` and `USDT` (several currencies would be summed per currency: we have one)."""

    def parts(cell) -> tuple[str, str]:
        items = [_MONEY_TEXT.match(str(x)) for x in (cell or [])]
        amounts = [Decimal(m.group(1)) for m in items if m]
        currencies = sorted({m.group(2) for m in items if m})
        return (f"{sum(amounts, Decimal(0)):f}" if amounts else "0"), "/".join(currencies)

    split = values.map(parts)
    name = column[:-1] if column.endswith("s") else column
    out[name] = split.map(lambda p: p[0])
    out[f"{name}_currency"] = split.map(lambda p: p[1])


def _at_places(values: pd.Series, places: pd.Series) -> pd.Series:
    def one(v, p):
        if v is None or (isinstance(v, float) and math.isnan(v)) or p is None or pd.isna(p):
            return v
        try:
            return fmt_places(Decimal(str(v)), int(p))
        except ArithmeticError:
            return v

    return pd.Series([one(v, p) for v, p in zip(values, places, strict=True)], index=values.index)


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    if frame.empty:
        path.write_text("")
    else:
        frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path
