"""End-of-run summary and the report files of a backtest run folder.

The summary is computed from the trade facts the book emitted (the same rows the journal persisted), so the
printed figures, the CSVs and the exported facts tell one story. Files a spreadsheet reads directly:
ISO-8601 UTC timestamps, prices and quantities at the instrument's precision, money as a plain number with its
currency in its own column. `report.html` is a self-contained plotly page (works offline), `equity.png` the same
picture for a quick look.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd

from dolphin_nautilus.backtest.data import DataReport
from dolphin_nautilus.backtest.facts_export import RunFacts
from dolphin_nautilus.backtest.stats import (
    GroupStats,
    RunStatistics,
    equity_series,
    group_stats,
    peak_open_notional,
    run_statistics,
)
from dolphin_nautilus.domain.facts import TradeClosed, TradeExitLeg
from dolphin_nautilus.domain.instruments import InstrumentSpec

MONEY_DECIMALS = 8  # USDT as NautilusTrader holds it
CURRENCY = "USDT"


class OpenPositionRow(msgspec.Struct, kw_only=True):
    instrument_id: str
    side: str
    quantity: str
    avg_entry_price: str
    last_price: str
    unrealized_pnl: float
    currency: str
    opened: str  # ISO-8601 UTC


@dataclass(frozen=True)
class EngineOutputs:
    """What the report takes from the engine after the run (see `collect_engine_outputs`)."""

    fills: pd.DataFrame
    positions: pd.DataFrame
    open_positions: list[OpenPositionRow]
    account_balance: Decimal  # realized, USDT


class RunSummary(msgspec.Struct, kw_only=True):
    bars: int
    instruments: list[str]
    period_start: str
    period_end: str
    trades: int
    wins: int
    win_rate: float
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    currency: str
    starting_balance: Decimal
    ending_balance: Decimal  # realized
    unrealized_pnl: float  # of the positions still open at the end
    ending_equity: float  # balance + unrealized
    return_on_account_pct: float  # (ending equity - starting balance) / starting balance
    peak_open_notional: Decimal  # capital deployed: the largest entry notional open at once
    peak_margin: Decimal  # the same at the run's leverage
    return_on_deployed_pct: float  # net PnL / peak open notional
    max_drawdown: Decimal  # largest peak-to-trough fall of the realized equity curve, in USDT
    max_drawdown_pct: float
    max_drawdown_duration: str
    statistics: RunStatistics
    by_instrument: list[GroupStats]
    by_exit_reason: list[GroupStats]
    open_positions: list[OpenPositionRow]
    exits_by_reason: dict[str, int]
    partial_retracts: int
    dust_full_closes: int
    max_hold_exits: int
    exit_rejects_handled: int
    entry_rejects_handled: int
    simulated_exit_rejects: int
    diagnostics: dict[str, int]
    journal: dict[str, int]
    data: DataReport | None
    contracts: str  # the contract snapshot the specs came from
    wall_seconds: float
    bars_per_second: float
    run_dir: str


def collect_engine_outputs(engine, specs: dict[str, InstrumentSpec]) -> EngineOutputs:
    """Read fills, positions, open positions (marked at the last bar's close) and the account from a finished
    BacktestEngine. Call before `engine.dispose()`."""
    from nautilus_trader.model.currencies import USDT  # the engine's types, only where the engine is read
    from nautilus_trader.model.identifiers import Venue

    cache = engine.kernel.cache
    open_rows = []
    for position in cache.positions_open():
        iid = position.instrument_id.value
        bar = next(
            (b for b in (cache.bar(bt) for bt in cache.bar_types(instrument_id=position.instrument_id)) if b), None
        )
        last = bar.close if bar is not None else position.avg_px_open
        instrument = cache.instrument(position.instrument_id)
        price = instrument.make_price(float(last))
        open_rows.append(
            OpenPositionRow(
                instrument_id=iid,
                side=position.side.name,
                quantity=str(position.quantity),
                avg_entry_price=_fmt(Decimal(str(position.avg_px_open)), specs[iid].price_precision),
                last_price=str(price),
                unrealized_pnl=round(position.unrealized_pnl(price).as_double(), MONEY_DECIMALS),
                currency=CURRENCY,
                opened=_iso(position.ts_opened),
            )
        )
    account = engine.portfolio.account(Venue("BINGX"))
    balance = account.balance_total(USDT).as_decimal() if account is not None else Decimal(0)
    return EngineOutputs(
        fills=engine.trader.generate_order_fills_report(),
        positions=engine.trader.generate_positions_report(),
        open_positions=open_rows,
        account_balance=balance,
    )


def summarize(
    *,
    facts: RunFacts,
    outputs: EngineOutputs,
    diagnostics: Counter,
    journal: dict[str, int],
    bars: int,
    instruments: list[str],
    start_ns: int,
    end_ns: int,
    starting_balance: Decimal,
    leverage: Decimal,
    wall_seconds: float,
    run_dir: Path,
    data: DataReport | None = None,
    contracts: str = "",
    simulated_exit_rejects: int = 0,
) -> tuple[RunSummary, pd.Series]:
    """The run's summary and its equity curve (account balance over time)."""
    trades = facts.trades
    wins = sum(1 for t in trades if t.net_pnl > 0)
    gross = sum((t.realized_pnl for t in trades), Decimal(0))
    fees = sum((t.fees for t in trades), Decimal(0))
    equity = equity_series(facts.equity, start_ns=start_ns, end_ns=end_ns, starting_balance=starting_balance)
    stats = run_statistics(trades, equity)
    unrealized = round(sum(p.unrealized_pnl for p in outputs.open_positions), MONEY_DECIMALS)
    ending_balance = Decimal(str(equity.iloc[-1])) if len(equity) else starting_balance
    ending_equity = float(ending_balance) + unrealized
    peak = peak_open_notional(facts.entries, facts.legs)
    net = gross - fees
    return RunSummary(
        bars=bars,
        instruments=instruments,
        period_start=_iso(start_ns),
        period_end=_iso(end_ns),
        trades=len(trades),
        wins=wins,
        win_rate=round(wins / len(trades), 4) if trades else 0.0,
        gross_pnl=gross,
        fees=fees,
        net_pnl=net,
        currency=CURRENCY,
        starting_balance=starting_balance,
        ending_balance=ending_balance,
        unrealized_pnl=unrealized,
        ending_equity=round(ending_equity, MONEY_DECIMALS),
        return_on_account_pct=round((ending_equity - float(starting_balance)) / float(starting_balance) * 100, 6),
        peak_open_notional=peak,
        peak_margin=(peak / leverage).quantize(Decimal("0.00000001")),
        return_on_deployed_pct=round(float(net / peak) * 100, 6) if peak > 0 else 0.0,
        max_drawdown=Decimal(str(stats.drawdown.max_drawdown)),
        max_drawdown_pct=stats.drawdown.max_drawdown_pct,
        max_drawdown_duration=stats.drawdown.max_drawdown_duration,
        statistics=stats,
        by_instrument=group_stats(trades, lambda t: t.instrument_id),
        by_exit_reason=group_stats(trades, lambda t: t.exit_reason),
        open_positions=outputs.open_positions,
        exits_by_reason=dict(sorted(Counter(t.exit_reason for t in trades).items())),
        partial_retracts=sum(1 for leg in facts.legs if not leg.is_final),
        dust_full_closes=diagnostics.get("RETRACT_DUST_FULL_CLOSE", 0),
        max_hold_exits=sum(1 for t in trades if t.exit_reason == "MAX_HOLD"),
        exit_rejects_handled=diagnostics.get("EXIT_ORDER_REJECTED", 0),
        entry_rejects_handled=diagnostics.get("ORDER_REJECTED", 0),
        simulated_exit_rejects=simulated_exit_rejects,
        diagnostics=dict(sorted(diagnostics.items())),
        journal=journal,
        data=data,
        contracts=contracts,
        wall_seconds=round(wall_seconds, 2),
        bars_per_second=round(bars / wall_seconds, 1) if wall_seconds > 0 else 0.0,
        run_dir=str(run_dir),
    ), equity


def _table(rows: list[GroupStats], title: str) -> list[str]:
    if not rows:
        return [f"{title:<20}none"]
    out = [title, f"  {'':<22}{'trades':>7}{'win %':>8}{'avg net':>12}{'total net':>13}{'avg held':>14}"]
    out += [
        f"  {r.key:<22}{r.trades:>7}{r.win_rate:>8.1%}{r.avg_net_pnl:>12.4f}{r.total_net_pnl:>13.4f}"
        f"{r.avg_duration:>14}"
        for r in rows
    ]
    return out


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "n/a" if value is None else format(value, fmt)


def render(summary: RunSummary) -> str:
    s, st = summary, summary.statistics
    lines = ["", "=== dolphin backtest summary ==="]
    if s.data is not None:
        lines += s.data.lines()
    lines += [
        f"contracts           {s.contracts}",
        f"period              {s.period_start} .. {s.period_end}",
        f"bars processed      {s.bars:,} ({', '.join(s.instruments)})",
        f"wall time           {s.wall_seconds:.1f} s ({s.bars_per_second:,.0f} bars/s)",
        f"trades              {s.trades}  (win rate {s.win_rate:.1%})",
        f"gross PnL           {s.gross_pnl:,.4f} {s.currency}",
        f"fees                {s.fees:,.4f} {s.currency}",
        f"net PnL             {s.net_pnl:,.4f} {s.currency}",
        f"open at the end     {len(s.open_positions)} position(s), unrealized {s.unrealized_pnl:,.4f} {s.currency}",
    ]
    lines += [
        f"  {p.instrument_id:<22} {p.side:<5} {p.quantity} @ {p.avg_entry_price}, last {p.last_price}, "
        f"unrealized {p.unrealized_pnl:,.4f} {p.currency}, since {p.opened}"
        for p in s.open_positions
    ]
    lines += [
        f"return on account   {s.return_on_account_pct:.4f} % of {s.starting_balance:,} {s.currency} "
        f"(equity {s.ending_equity:,.4f})",
        f"return on deployed  {s.return_on_deployed_pct:.4f} % of the peak open notional {s.peak_open_notional:,.2f} "
        f"{s.currency} (margin {s.peak_margin:,.2f})",
        f"max drawdown        {s.max_drawdown:,.4f} {s.currency} ({s.max_drawdown_pct:.2%}), "
        f"longest {s.max_drawdown_duration}",
        f"sharpe / sortino    {_num(st.sharpe_ratio)} / {_num(st.sortino_ratio)} (daily, 365 days; "
        f"{st.daily_returns} daily returns)",
        f"CAGR                {_num(None if st.cagr is None else st.cagr * 100, '.3f')} %",
        f"profit factor       {_num(st.profit_factor)}",
        f"expectancy          {_num(st.expectancy, '.4f')} {s.currency} per trade",
    ]
    lines += _table(s.by_instrument, "by instrument")
    lines += _table(s.by_exit_reason, "by exit reason")
    lines += [
        f"partial retracts    {s.partial_retracts}",
        f"dust -> full closes {s.dust_full_closes}",
        f"max-hold exits      {s.max_hold_exits}",
        f"exit rejects        {s.exit_rejects_handled} handled (entry rejects {s.entry_rejects_handled}; "
        f"simulated by the venue {s.simulated_exit_rejects})",
        "journal             " + ", ".join(f"{k}={v}" for k, v in s.journal.items()),
        f"run folder          {s.run_dir}",
    ]
    return "\n".join(lines)


# ---- files -------------------------------------------------------------------------------------------------


def write_reports(
    run_dir: Path,
    *,
    summary: RunSummary,
    facts: RunFacts,
    outputs: EngineOutputs,
    equity: pd.Series,
    specs: dict[str, InstrumentSpec],
    html: bool = True,
) -> list[Path]:
    written = [
        _write_csv(engine_report_frame(outputs.fills, specs), run_dir / "fills.csv"),
        _write_csv(engine_report_frame(outputs.positions, specs), run_dir / "positions.csv"),
        _write_csv(trades_frame(facts.trades, specs), run_dir / "trades.csv"),
        _write_csv(legs_frame(facts.legs, specs), run_dir / "exit_legs.csv"),
    ]
    summary_path = run_dir / "summary.json"
    summary_path.write_bytes(msgspec.json.format(msgspec.json.encode(summary)))
    written.append(summary_path)
    written.append(plot_png(equity, facts.trades, run_dir / "equity.png"))
    if html:
        written.append(plot_html(summary, equity, facts.trades, run_dir / "report.html"))
    return written


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _fmt(value: Decimal, places: int) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def _money(value: Decimal) -> str:
    return _fmt(Decimal(value), MONEY_DECIMALS)


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
                "opened": _iso(t.opened_ts),
                "closed": _iso(t.ts),
                "duration_min": round((t.ts - t.opened_ts) / 6e10, 2),
                "bars_held": t.bars_held,
                "quantity": _fmt(t.quantity, qty),
                "entry_avg_px": _fmt(t.entry_avg_px, px),
                "exit_avg_px": _fmt(t.exit_avg_px, px),
                "realized_pnl": _money(t.realized_pnl),
                "fees": _money(t.fees),
                "net_pnl": _money(t.net_pnl),
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
                "ts": _iso(leg.ts),
                "trade_id": leg.trade_id,
                "instrument_id": leg.instrument_id,
                "leg_no": leg.leg_no,
                "reason": leg.reason,
                "quantity": _fmt(leg.quantity, qty),
                "price": _fmt(leg.price, px),
                "notional": _money(leg.notional),
                "realized_pnl": _money(leg.realized_pnl),
                "fee": _money(leg.fee),
                "currency": CURRENCY,
                "remaining_quantity": _fmt(leg.remaining_quantity, qty),
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
            out[column] = values.map(lambda v: "" if pd.isna(v) else _iso(pd.Timestamp(v).value))
        elif column.startswith("ts_") and pd.api.types.is_integer_dtype(values):
            out[column] = values.map(lambda v: _iso(v) if v else "")
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
            return _fmt(Decimal(str(v)), int(p))
        except ArithmeticError:
            return v

    return pd.Series([one(v, p) for v, p in zip(values, places, strict=True)], index=values.index)


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    if frame.empty:
        path.write_text("")
    else:
        frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


# ---- pictures ----------------------------------------------------------------------------------------------


def _instrument_pnl(trades: list[TradeClosed]) -> dict[str, pd.Series]:
    out = {}
    for iid in sorted({t.instrument_id for t in trades}):
        rows = sorted((t.ts, float(t.net_pnl)) for t in trades if t.instrument_id == iid)
        out[iid] = pd.Series(
            [v for _, v in rows], index=pd.to_datetime([ts for ts, _ in rows], unit="ns", utc=True)
        ).cumsum()
    return out


def plot_png(equity: pd.Series, trades: list[TradeClosed], path: Path) -> Path:
    import matplotlib  # plotting libraries load only when a report is written

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    fig, (ax_eq, ax_dd, ax_inst) = plt.subplots(
        3, 1, figsize=(11, 8), dpi=100, sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 2]}
    )
    plain = ScalarFormatter(useOffset=False)
    plain.set_scientific(False)
    if len(equity):
        ax_eq.step(equity.index, equity.to_numpy(), where="post", color="#1f5fa8", linewidth=1.1)
        closes = pd.to_datetime([t.ts for t in trades], unit="ns", utc=True)
        if len(closes):
            marks = equity.reindex(closes, method="ffill")
            won = [t.net_pnl > 0 for t in trades]
            ax_eq.scatter(closes[won], marks[won], s=8, color="#2a9d3a", label="winning exit", zorder=3)
            ax_eq.scatter(
                closes[[not w for w in won]],
                marks[[not w for w in won]],
                s=8,
                color="#c0392b",
                label="losing exit",
                zorder=3,
            )
            ax_eq.legend(loc="upper left", fontsize=8)
        drawdown = (equity / equity.cummax() - 1) * 100
        ax_dd.fill_between(drawdown.index, drawdown.to_numpy(), 0, step="post", color="#c0392b", alpha=0.4)
    for iid, series in _instrument_pnl(trades).items():
        ax_inst.step(series.index, series.to_numpy(), where="post", linewidth=1, label=iid.removesuffix("-PERP.BINGX"))
    if trades:
        ax_inst.legend(loc="upper left", fontsize=8, ncol=4)
    ax_eq.set_title("Account equity (realized, USDT) with trade exits")
    ax_eq.set_ylabel("USDT")
    ax_dd.set_ylabel("drawdown %")
    ax_inst.set_ylabel("net PnL by instrument (USDT)")
    for ax in (ax_eq, ax_dd, ax_inst):
        ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
        ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_html(summary: RunSummary, equity: pd.Series, trades: list[TradeClosed], path: Path) -> Path:
    """One self-contained page (plotly.js embedded, no network): statistics, equity with trade markers,
    drawdown, per-instrument PnL, and the per-instrument / per-exit-reason tables."""
    import plotly.graph_objects as go  # plotting libraries load only when a report is written
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=5,
        cols=1,
        shared_xaxes=False,
        vertical_spacing=0.05,
        row_heights=[0.16, 0.32, 0.14, 0.22, 0.16],
        specs=[[{"type": "table"}], [{}], [{}], [{}], [{"type": "table"}]],
        subplot_titles=(
            "Statistics",
            "Equity (realized USDT) and trade exits",
            "Drawdown %",
            "Net PnL by instrument (USDT)",
            "By instrument / by exit reason",
        ),
    )
    stats = _stat_rows(summary)
    fig.add_trace(
        go.Table(
            header={"values": ["statistic", "value"]}, cells={"values": [[k for k, _ in stats], [v for _, v in stats]]}
        ),
        row=1,
        col=1,
    )
    if len(equity):
        fig.add_trace(
            go.Scatter(x=equity.index, y=equity.to_numpy(), mode="lines", line_shape="hv", name="equity"), row=2, col=1
        )
        closes = pd.to_datetime([t.ts for t in trades], unit="ns", utc=True)
        if len(closes):
            marks = equity.reindex(closes, method="ffill").to_numpy()
            text = [f"{t.instrument_id} {t.side} {t.exit_reason} net {float(t.net_pnl):.4f}" for t in trades]
            colors = ["#2a9d3a" if t.net_pnl > 0 else "#c0392b" for t in trades]
            fig.add_trace(
                go.Scatter(
                    x=closes,
                    y=marks,
                    mode="markers",
                    marker={"size": 5, "color": colors},
                    text=text,
                    hoverinfo="text+x",
                    name="trade exits",
                ),
                row=2,
                col=1,
            )
        drawdown = (equity / equity.cummax() - 1) * 100
        fig.add_trace(
            go.Scatter(
                x=drawdown.index,
                y=drawdown.to_numpy(),
                fill="tozeroy",
                line_shape="hv",
                line={"color": "#c0392b"},
                name="drawdown %",
            ),
            row=3,
            col=1,
        )
    for iid, series in _instrument_pnl(trades).items():
        fig.add_trace(
            go.Scatter(
                x=series.index, y=series.to_numpy(), mode="lines", line_shape="hv", name=iid.removesuffix("-PERP.BINGX")
            ),
            row=4,
            col=1,
        )
    groups = [("instrument", g) for g in summary.by_instrument] + [("exit reason", g) for g in summary.by_exit_reason]
    fig.add_trace(
        go.Table(
            header={"values": ["by", "key", "trades", "win %", "avg net", "total net", "avg held"]},
            cells={
                "values": [
                    [k for k, _ in groups],
                    [g.key for _, g in groups],
                    [g.trades for _, g in groups],
                    [f"{g.win_rate:.1%}" for _, g in groups],
                    [f"{g.avg_net_pnl:.4f}" for _, g in groups],
                    [f"{g.total_net_pnl:.4f}" for _, g in groups],
                    [g.avg_duration for _, g in groups],
                ]
            },
        ),
        row=5,
        col=1,
    )
    fig.update_layout(
        template="plotly_white", height=1700, title=f"dolphin backtest {Path(summary.run_dir).name}", showlegend=True
    )
    fig.write_html(path, include_plotlyjs=True, full_html=True)  # embedded JS: opens without network
    return path


def _stat_rows(s: RunSummary) -> list[tuple[str, str]]:
    rows = [
        ("period", f"{s.period_start} .. {s.period_end}"),
        ("trades", f"{s.trades} (win {s.win_rate:.1%})"),
        ("net PnL", f"{s.net_pnl:,.4f} {s.currency}"),
        ("fees", f"{s.fees:,.4f} {s.currency}"),
        ("return on account", f"{s.return_on_account_pct:.4f} %"),
        ("return on deployed", f"{s.return_on_deployed_pct:.4f} %"),
        ("max drawdown", f"{s.max_drawdown:,.4f} {s.currency} ({s.max_drawdown_pct:.2%}), {s.max_drawdown_duration}"),
        ("profit factor", _num(s.statistics.profit_factor)),
        ("open at end", f"{len(s.open_positions)}, unrealized {s.unrealized_pnl:,.4f} {s.currency}"),
    ]
    rows += [(k, f"{v:.6g}") for k, v in s.statistics.nautilus.items()]
    return rows
