"""Backtest statistics from plain facts: the standard ones through NautilusTrader's `PortfolioAnalyzer`, and the
tables a researcher reads first (per instrument, per exit reason), drawdown duration and capital deployed.

Inputs are the run's facts (closed trades, entries, exit legs) and its USDT equity curve (the account's
realized balance, one point per balance change); nothing here touches the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec
import pandas as pd
from nautilus_trader.analysis import (
    CAGR,
    AvgLoser,
    AvgWinner,
    CalmarRatio,
    Expectancy,
    MaxDrawdown,
    MaxLoser,
    MaxWinner,
    PortfolioAnalyzer,
    ProfitFactor,
    ReturnsVolatility,
    SharpeRatio,
    SortinoRatio,
)
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.objects import Money

from dolphin_nautilus.domain.facts import TradeClosed, TradeEntry, TradeExitLeg

TRADING_DAYS = 365  # crypto trades every day: annualise over 365, not 252


class GroupStats(msgspec.Struct, kw_only=True):
    key: str
    trades: int
    wins: int
    win_rate: float
    avg_net_pnl: float
    total_net_pnl: float
    total_gross_pnl: float
    fees: float
    avg_duration: str  # e.g. "3h 05m"
    avg_duration_s: float
    avg_bars_held: float


class DrawdownStats(msgspec.Struct, kw_only=True):
    max_drawdown: float  # USDT, peak to trough of the equity curve
    max_drawdown_pct: float  # of the peak
    max_drawdown_duration: str  # longest time below a previous peak (to recovery, or to the end)
    max_drawdown_duration_s: float


class RunStatistics(msgspec.Struct, kw_only=True):
    # Names as NautilusTrader's PortfolioAnalyzer and tearsheet label them (annualised over 365 days).
    nautilus: dict[str, float]
    sharpe_ratio: float | None
    sortino_ratio: float | None
    cagr: float | None
    profit_factor: float | None  # sum of winning / |sum of losing| trade net PnL (freqtrade's definition)
    expectancy: float | None  # mean net PnL per trade, USDT
    drawdown: DrawdownStats
    daily_returns: int  # how many daily returns the ratios rest on


def format_duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return f"{days}d {hours:02d}h {mins:02d}m" if days else f"{hours}h {mins:02d}m"


def group_stats(trades: Iterable[TradeClosed], key: Callable[[TradeClosed], str]) -> list[GroupStats]:
    groups: dict[str, list[TradeClosed]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    out = []
    for name, rows in sorted(groups.items()):
        n = len(rows)
        wins = sum(1 for t in rows if t.net_pnl > 0)
        net = float(sum((t.net_pnl for t in rows), Decimal(0)))
        durations = [(t.ts - t.opened_ts) / 1e9 for t in rows]
        avg_s = sum(durations) / n
        out.append(
            GroupStats(
                key=name,
                trades=n,
                wins=wins,
                win_rate=round(wins / n, 4),
                avg_net_pnl=round(net / n, 6),
                total_net_pnl=round(net, 6),
                total_gross_pnl=round(float(sum((t.realized_pnl for t in rows), Decimal(0))), 6),
                fees=round(float(sum((t.fees for t in rows), Decimal(0))), 6),
                avg_duration=format_duration(avg_s),
                avg_duration_s=round(avg_s, 1),
                avg_bars_held=round(sum(t.bars_held for t in rows) / n, 2),
            )
        )
    return out


def equity_series(
    equity: list[tuple[int, Decimal]], *, start_ns: int, end_ns: int, starting_balance: Decimal
) -> pd.Series:
    """The account's USDT balance over the run, from the starting balance at the start to the end."""
    points = [(start_ns, float(starting_balance)), *((ts, float(v)) for ts, v in equity)]
    last = points[-1][1]
    points.append((max(end_ns, points[-1][0]), last))
    series = pd.Series([v for _, v in points], index=pd.to_datetime([t for t, _ in points], unit="ns", utc=True))
    return series.groupby(level=0).last()


def drawdown_stats(series: pd.Series) -> DrawdownStats:
    peak = series.cummax()
    dd = peak - series
    worst = float(dd.max()) if len(dd) else 0.0
    worst_pct = float((dd / peak).max()) if len(dd) else 0.0
    longest = pd.Timedelta(0)
    under_since = None
    for stamp, value, top in zip(series.index, series.to_numpy(), peak.to_numpy(), strict=True):
        if value < top:
            under_since = under_since or stamp
        elif under_since is not None:
            longest, under_since = max(longest, stamp - under_since), None
    if under_since is not None:
        longest = max(longest, series.index[-1] - under_since)
    seconds = longest.total_seconds()
    return DrawdownStats(
        max_drawdown=round(worst, 6),
        max_drawdown_pct=round(worst_pct, 6),
        max_drawdown_duration=format_duration(seconds),
        max_drawdown_duration_s=seconds,
    )


def daily_returns(series: pd.Series) -> pd.Series:
    daily = series.resample("D").last().ffill()
    return daily.pct_change().dropna()


def run_statistics(trades: list[TradeClosed], equity: pd.Series) -> RunStatistics:
    analyzer = PortfolioAnalyzer()
    for stat in (
        SharpeRatio(TRADING_DAYS),
        SortinoRatio(TRADING_DAYS),
        CAGR(TRADING_DAYS),
        CalmarRatio(TRADING_DAYS),
        ReturnsVolatility(TRADING_DAYS),
        MaxDrawdown(),
        ProfitFactor(),
        Expectancy(),
        AvgWinner(),
        AvgLoser(),
        MaxWinner(),
        MaxLoser(),
    ):
        # Nautilus types the parameter as its Python PortfolioStatistic base; these Rust statistics (which its own
        # Portfolio registers too) only share that base's interface.
        analyzer.register_statistic(stat)  # type: ignore[arg-type]
    for trade in trades:
        analyzer.add_trade(PositionId(trade.trade_id), Money(trade.net_pnl, USDT), trade.ts)
    returns = daily_returns(equity)
    for stamp, value in returns.items():
        analyzer.add_return(stamp.to_pydatetime(), float(value))
    figures: dict[str, float] = {}
    if trades:
        figures.update(analyzer.get_performance_stats_pnls(USDT))
    if len(returns) >= 2:
        figures.update(analyzer.get_performance_stats_returns())
    figures = {k: round(float(v), 6) for k, v in figures.items() if isinstance(v, (int, float)) and v == v}
    wins = sum((t.net_pnl for t in trades if t.net_pnl > 0), Decimal(0))
    losses = -sum((t.net_pnl for t in trades if t.net_pnl < 0), Decimal(0))
    return RunStatistics(
        nautilus=figures,
        sharpe_ratio=figures.get(f"Sharpe Ratio ({TRADING_DAYS} days)"),
        sortino_ratio=figures.get(f"Sortino Ratio ({TRADING_DAYS} days)"),
        cagr=figures.get(f"CAGR ({TRADING_DAYS} days)"),
        profit_factor=round(float(wins / losses), 6) if losses > 0 else None,
        expectancy=figures.get("Expectancy"),
        drawdown=drawdown_stats(equity),
        daily_returns=len(returns),
    )


def peak_open_notional(entries: list[TradeEntry], legs: list[TradeExitLeg]) -> Decimal:
    """The largest total entry notional open at once (capital the strategy had at work, before leverage).
    Trades restored from an earlier run have no entry in this run; their exits are left out."""
    entry_px = {e.trade_id: e.price for e in entries}
    events = [(e.ts, 0, e.notional) for e in entries]
    events += [(leg.ts, 1, -(leg.quantity * entry_px[leg.trade_id])) for leg in legs if leg.trade_id in entry_px]
    open_notional = peak = Decimal(0)
    for _, _, change in sorted(events, key=lambda e: (e[0], e[1])):
        open_notional += change
        peak = max(peak, open_notional)
    return peak
