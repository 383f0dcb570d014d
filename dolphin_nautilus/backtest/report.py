"""End-of-run summary and report files for a backtest run folder.

The summary is computed from the trade facts the book emitted (the same rows the journal persisted), so the
printed figures and the ClickHouse tables tell one story.
"""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import msgspec

from dolphin_nautilus.domain.facts import TradeClosed, TradeExitLeg


class RunSummary(msgspec.Struct, kw_only=True):
    bars: int
    instruments: list[str]
    trades: int
    wins: int
    win_rate: float
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    max_drawdown: Decimal  # largest peak-to-trough fall of the equity curve, in USDT
    max_drawdown_pct: float
    exits_by_reason: dict[str, int]
    partial_retracts: int
    dust_full_closes: int
    max_hold_exits: int
    exit_rejects_handled: int
    entry_rejects_handled: int
    diagnostics: dict[str, int]
    journal: dict[str, int]
    wall_seconds: float
    bars_per_second: float
    run_dir: str


def summarize(*, trades: list[TradeClosed], legs: list[TradeExitLeg], equity: list[tuple[int, Decimal]],
              diagnostics: Counter, journal: dict[str, int], bars: int, instruments: list[str],
              wall_seconds: float, run_dir: Path) -> RunSummary:
    wins = sum(1 for t in trades if t.net_pnl > 0)
    gross = sum((t.realized_pnl for t in trades), Decimal(0))
    fees = sum((t.fees for t in trades), Decimal(0))
    dd, dd_pct = _max_drawdown(equity)
    return RunSummary(
        bars=bars,
        instruments=instruments,
        trades=len(trades),
        wins=wins,
        win_rate=(wins / len(trades)) if trades else 0.0,
        gross_pnl=gross,
        fees=fees,
        net_pnl=gross - fees,
        max_drawdown=dd,
        max_drawdown_pct=dd_pct,
        exits_by_reason=dict(sorted(Counter(t.exit_reason for t in trades).items())),
        partial_retracts=sum(1 for leg in legs if not leg.is_final),
        dust_full_closes=diagnostics.get("RETRACT_DUST_FULL_CLOSE", 0),
        max_hold_exits=sum(1 for t in trades if t.exit_reason == "MAX_HOLD"),
        exit_rejects_handled=diagnostics.get("EXIT_ORDER_REJECTED", 0),
        entry_rejects_handled=diagnostics.get("ORDER_REJECTED", 0),
        diagnostics=dict(sorted(diagnostics.items())),
        journal=journal,
        wall_seconds=round(wall_seconds, 2),
        bars_per_second=round(bars / wall_seconds, 1) if wall_seconds > 0 else 0.0,
        run_dir=str(run_dir),
    )


def _max_drawdown(equity: list[tuple[int, Decimal]]) -> tuple[Decimal, float]:
    peak, worst, worst_pct = None, Decimal(0), 0.0
    for _, value in equity:
        peak = value if peak is None or value > peak else peak
        if peak - value > worst:
            worst = peak - value
            worst_pct = float(worst / peak) if peak else 0.0
    return worst, worst_pct


def render(summary: RunSummary) -> str:
    lines = [
        "",
        "=== dolphin backtest summary ===",
        f"bars processed      {summary.bars:,} ({', '.join(summary.instruments)})",
        f"wall time           {summary.wall_seconds:.1f} s ({summary.bars_per_second:,.0f} bars/s)",
        f"trades              {summary.trades}  (win rate {summary.win_rate:.1%})",
        f"gross PnL           {summary.gross_pnl:,.4f} USDT",
        f"fees                {summary.fees:,.4f} USDT",
        f"net PnL             {summary.net_pnl:,.4f} USDT",
        f"max drawdown        {summary.max_drawdown:,.4f} USDT ({summary.max_drawdown_pct:.2%})",
        "exits by reason     " + (", ".join(f"{k}={v}" for k, v in summary.exits_by_reason.items()) or "none"),
        f"partial retracts    {summary.partial_retracts}",
        f"dust -> full closes {summary.dust_full_closes}",
        f"max-hold exits      {summary.max_hold_exits}",
        f"exit rejects        {summary.exit_rejects_handled} handled (entry rejects {summary.entry_rejects_handled})",
        "journal             " + ", ".join(f"{k}={v}" for k, v in summary.journal.items()),
        f"run folder          {summary.run_dir}",
    ]
    return "\n".join(lines)


def write_reports(run_dir: Path, *, summary: RunSummary, trades: list[TradeClosed], legs: list[TradeExitLeg],
                  fills_df, positions_df, equity: list[tuple[int, Decimal]]) -> list[Path]:
    written = [
        _write_frame(fills_df, run_dir / "fills.csv"),
        _write_frame(positions_df, run_dir / "positions.csv"),
        _write_structs(trades, run_dir / "trades.csv"),
        _write_structs(legs, run_dir / "exit_legs.csv"),
    ]
    summary_path = run_dir / "summary.json"
    summary_path.write_bytes(msgspec.json.format(msgspec.json.encode(summary)))
    written.append(summary_path)
    written.append(_plot_equity(equity, run_dir / "equity.png"))
    return written


def _write_frame(df, path: Path) -> Path:
    if df is None or len(df) == 0:
        path.write_text("")
    else:
        df.to_csv(path)
    return path


def _write_structs(rows: list[msgspec.Struct], path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        if rows:
            fields = ["row_id", *rows[0].__struct_fields__]
            writer = csv.writer(handle)
            writer.writerow(fields)
            for row in rows:
                writer.writerow([row.row_id, *(getattr(row, f) for f in fields[1:])])
    return path


def _plot_equity(equity: list[tuple[int, Decimal]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots(figsize=(10, 4), dpi=110)
    if equity:
        stamps = pd.to_datetime([ts for ts, _ in equity], unit="ns", utc=True)
        ax.step(stamps, [float(v) for _, v in equity], where="post", color="#1f5fa8", linewidth=1.2)
    ax.set_title("Account equity (realized, USDT)")
    ax.set_ylabel("USDT")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

