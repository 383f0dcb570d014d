"""The portfolio analyzer's per-trade records in O(1), for the backtest engine and the live node alike.

NautilusTrader 1.231's portfolio records every closed position in its analyzer (even with `run_analysis=False`)
by concatenating a one-row pandas Series onto all rows so far, twice, on the thread that handles the fill: ~1 ms
per trade early, ~2 ms by the 2,000th, and it keeps growing for as long as a live node runs.
"""

from __future__ import annotations

from typing import cast

import pandas as pd
from nautilus_trader.analysis.analyzer import PortfolioAnalyzer


class DeferredTradeRecords(PortfolioAnalyzer):
    """The portfolio analyzer with `record_trade` in O(1): the records wait in a list and become the same two
    Series (PnL and timestamp), in the same order, when the analyzer is read. In 1.231 only
    `realized_pnls` reads them (and `reset` drops them): both are covered below. An upstream fix is to append
    to lists in `PortfolioAnalyzer._append_pnl_record`."""

    _pending: list

    @classmethod
    def adopt(cls, analyzer: PortfolioAnalyzer) -> DeferredTradeRecords:
        """Make `analyzer` one of these in place (the engine's own is already wired into its portfolio)."""
        analyzer.__class__ = cls
        deferred = cast(DeferredTradeRecords, analyzer)  # it is one now: its class was just set
        deferred.start_deferring()
        return deferred

    def start_deferring(self) -> None:
        """From now on records wait in a list; those recorded before stay where the stock analyzer put them."""
        self._pending = []

    def _append_pnl_record(self, pnls, timestamps, position_id, realized_pnl, ts_event) -> None:
        self._pending.append((pnls, timestamps, position_id.value, realized_pnl, ts_event))

    def _materialize(self) -> None:
        groups: dict[tuple[int, object], tuple[dict, dict, list, list, list]] = {}
        for pnls, timestamps, position_id, realized_pnl, ts_event in self._pending:
            key = (id(pnls), realized_pnl.currency)
            _, _, ids, values, stamps = groups.setdefault(key, (pnls, timestamps, [], [], []))
            ids.append(position_id)
            values.append(realized_pnl.as_double())
            stamps.append(int(ts_event) if ts_event is not None else None)
        self._pending = []
        for (_, currency), (pnls, timestamps, ids, values, stamps) in groups.items():
            for target, new in (
                (pnls, pd.Series(values, index=ids, dtype="float64")),
                (timestamps, pd.Series(stamps, index=ids, dtype=object)),
            ):
                existing = target.get(currency)
                target[currency] = new if existing is None else pd.concat([existing, new])

    def realized_pnls(self, currency=None):
        self._materialize()
        return super().realized_pnls(currency)

    def reset(self) -> None:
        self._pending = []
        super().reset()
