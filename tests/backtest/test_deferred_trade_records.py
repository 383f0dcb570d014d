"""The portfolio analyzer of the backtest engine and the live node (`DeferredTradeRecords`) reads back exactly
what NautilusTrader's own analyzer does for the same per-trade records, including records arriving after a read
and after a reset."""

from __future__ import annotations

import pandas as pd
from nautilus_trader.analysis.analyzer import PortfolioAnalyzer
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.objects import Money

from dolphin_nautilus.portfolio_records import DeferredTradeRecords


def _deferred() -> PortfolioAnalyzer:
    return DeferredTradeRecords.adopt(PortfolioAnalyzer())


def _record(analyzers, start: int, count: int) -> None:
    for i in range(start, start + count):
        for analyzer in analyzers:
            analyzer.record_trade(
                PositionId(f"BTC-USDT-PERP.BINGX-{i % 7:012x}"),
                Money(i * 0.37 - 5, USDT),
                None if i % 5 == 0 else 1_700_000_000_000_000_000 + i,
            )
            if i % 4 == 0:
                analyzer.record_trade(PositionId(f"P-{i}"), Money(i * 0.001, BTC), i)


def _same(stock: PortfolioAnalyzer, deferred: PortfolioAnalyzer) -> None:
    for currency in (USDT, BTC, None):
        expected, got = stock.realized_pnls(currency), deferred.realized_pnls(currency)
        if expected is None:
            assert got is None
        else:
            pd.testing.assert_series_equal(got, expected)
    # NautilusTrader 1.231 has no public reader of the recorded timestamps; they must be the same too.
    for currency in (USDT, BTC):
        pd.testing.assert_series_equal(
            deferred._recorded_realized_pnl_timestamps[currency],  # noqa: SLF001
            stock._recorded_realized_pnl_timestamps[currency],  # noqa: SLF001
        )


def test_deferred_records_read_back_as_the_stock_analyzer_s():
    stock, deferred = PortfolioAnalyzer(), _deferred()
    _record((stock, deferred), 0, 40)
    _same(stock, deferred)
    _record((stock, deferred), 40, 25)  # records after a read join the ones already built
    _same(stock, deferred)
    stock.reset()
    deferred.reset()
    assert deferred.realized_pnls() is None and stock.realized_pnls() is None
    _record((stock, deferred), 100, 9)
    _same(stock, deferred)
