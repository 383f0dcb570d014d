"""The pictures of a backtest run: `report.html`, a self-contained plotly page (works offline), and
`equity.png`, the same picture for a quick look (equity with trade exits, drawdown, PnL per instrument).
The plotting libraries load only when a picture is drawn.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dolphin_nautilus.backtest.report import RunSummary, num_or_na
from dolphin_nautilus.domain.facts import TradeClosed


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
        ("profit factor", num_or_na(s.statistics.profit_factor)),
        ("open at end", f"{len(s.open_positions)}, unrealized {s.unrealized_pnl:,.4f} {s.currency}"),
    ]
    rows += [(k, f"{v:.6g}") for k, v in s.statistics.nautilus.items()]
    return rows
