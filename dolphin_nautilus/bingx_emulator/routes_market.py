"""REST handlers of the emulated venue's public market data: server time, contracts and trading rules,
depth, trades, klines, tickers, prices, premium index, funding rates and open interest.
"""

from __future__ import annotations

from collections.abc import Callable

from . import book
from . import market as M
from . import wire as W
from .config import EmulatorConfig
from .engine import Engine
from .rest_params import param_int, required_param


class MarketRoutes:
    """The public market-data endpoints (IP group 1, unsigned)."""

    # Set up by EmulatorServer (server.py).
    config: EmulatorConfig
    engine: Engine
    server_ms: Callable[[], int]

    async def server_time(self, params: dict[str, str]) -> object:
        return {"serverTime": self.server_ms()}

    def _symbols(self, params: dict[str, str]) -> list:
        symbol = params.get("symbol")
        return [self.engine.contract(symbol)] if symbol else list(self.engine.contracts.values())

    async def contracts(self, params: dict[str, str]) -> object:
        return [M.contract_object(c) for c in self._symbols(params)]

    async def trading_rules(self, params: dict[str, str]) -> object:
        return [M.trading_rules_object(c) for c in self._symbols(params)]

    async def depth(self, params: dict[str, str]) -> object:
        contract = self.engine.contract(required_param(params, "symbol"))
        bids, asks = M.depth_levels(contract, M.check_depth_limit(params.get("limit")))
        return {"T": self.server_ms(), "bids": bids, "asks": asks, "bidsCoin": bids, "asksCoin": asks}

    async def trades(self, params: dict[str, str]) -> object:
        symbol = self.engine.contract(required_param(params, "symbol")).symbol
        limit = min(param_int(params, "limit", 500) or 500, 1000)
        rows = self.engine.public_trades[symbol][-limit:]
        return [
            {
                "time": t.time,
                "isBuyerMaker": t.buyer_maker,
                "price": W.dec(t.price),
                "qty": W.dec(t.qty),
                "quoteQty": W.dec(t.price * t.qty, 2),
            }
            for t in rows
        ]

    async def klines(self, params: dict[str, str]) -> object:
        symbol = self.engine.contract(required_param(params, "symbol")).symbol
        limit = min(param_int(params, "limit", 500) or 500, 1440)
        bars = M.klines(
            self.engine.public_trades[symbol],
            required_param(params, "interval"),
            param_int(params, "startTime"),
            param_int(params, "endTime"),
            limit,
        )
        rows = [M.rest_kline(b) for b in bars]
        return rows[::-1] if self.config.kline_newest_first else rows

    async def ticker(self, params: dict[str, str]) -> object:
        rows = [M.ticker(self.engine, c) for c in self._symbols(params)]
        return rows[0] if params.get("symbol") else rows

    async def book_ticker(self, params: dict[str, str]) -> object:
        contract = self.engine.contract(required_param(params, "symbol"))
        (bid, bid_qty), (ask, ask_qty) = book.best_bid_ask(contract)
        return {
            "book_ticker": {
                "symbol": contract.symbol,
                "bid_price": float(bid),
                "bid_qty": float(bid_qty),
                "ask_price": float(ask),
                "ask_qty": float(ask_qty),
                "time": self.server_ms(),
            }
        }

    async def price(self, params: dict[str, str]) -> object:
        rows = [{"symbol": c.symbol, "price": W.dec(c.price), "time": self.server_ms()} for c in self._symbols(params)]
        return rows[0] if params.get("symbol") else rows

    async def premium_index(self, params: dict[str, str]) -> object:
        rows = [
            {
                "symbol": c.symbol,
                "markPrice": W.dec(c.price),
                "indexPrice": W.dec(c.price),
                "lastFundingRate": W.dec(self.engine.funding_rate, 8),
                "nextFundingTime": self.engine.next_funding_ms,
                "fundingIntervalHours": self.config.funding_interval_h,
                "updateTime": self.server_ms(),
            }
            for c in self._symbols(params)
        ]
        return rows[0] if params.get("symbol") else rows

    async def funding_rate(self, params: dict[str, str]) -> object:
        """Settled funding rates, newest first: the emulator's own settlements, then the configured rate
        at the earlier funding times (the venue has history from before this process started)."""
        symbol = self.engine.contract(required_param(params, "symbol")).symbol
        limit = min(param_int(params, "limit", 100) or 100, 1000)
        interval = self.config.funding_interval_h * 3_600_000
        settled = list(reversed(self.engine.funding_history[symbol]))
        oldest = settled[-1][0] if settled else self.engine.next_funding_ms
        settled += [(oldest - i * interval, self.engine.funding_rate) for i in range(1, 4)]
        return [{"symbol": symbol, "fundingRate": W.dec(rate, 8), "fundingTime": ms} for ms, rate in settled[:limit]]

    async def open_interest(self, params: dict[str, str]) -> object:
        contract = self.engine.contract(required_param(params, "symbol"))
        return {"openInterest": "1000000.00", "symbol": contract.symbol, "time": self.server_ms()}
