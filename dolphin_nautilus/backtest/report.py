"""End-of-run summary of a backtest: what the report takes from the engine, the `RunSummary` and its text.

The summary is computed from the trade facts the book emitted (the same rows the journal persisted), so the
printed figures, the CSVs and the exported facts tell one story. The files of a run folder are written by
`report_files` (CSVs, summary.json), the pictures drawn by `report_plots` (report.html, equity.png).
"""

from __future__ import annotations

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
                avg_entry_price=fmt_places(Decimal(str(position.avg_px_open)), specs[iid].price_precision),
                last_price=str(price),
                unrealized_pnl=round(position.unrealized_pnl(price).as_double(), MONEY_DECIMALS),
                currency=CURRENCY,
                opened=iso_utc(position.ts_opened),
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
        period_start=iso_utc(start_ns),
        period_end=iso_utc(end_ns),
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


def num_or_na(value: float | None, fmt: str = ".3f") -> str:
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
        f"sharpe / sortino    {num_or_na(st.sharpe_ratio)} / {num_or_na(st.sortino_ratio)} (daily, 365 days; "
        f"{st.daily_returns} daily returns)",
        f"CAGR                {num_or_na(None if st.cagr is None else st.cagr * 100, '.3f')} %",
        f"profit factor       {num_or_na(st.profit_factor)}",
        f"expectancy          {num_or_na(st.expectancy, '.4f')} {s.currency} per trade",
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


def iso_utc(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def fmt_places(value: Decimal, places: int) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def money_text(value: Decimal) -> str:
    return fmt_places(Decimal(value), MONEY_DECIMALS)
