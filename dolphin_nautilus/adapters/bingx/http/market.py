"""Public market data endpoints (docs/reference/bingx_api.md §4). Unsigned, IP group 1."""

from __future__ import annotations

from typing import Any

from dolphin_nautilus.adapters.bingx.constants import DEPTH_LIMITS, KLINE_INTERVALS, KLINE_MAX_LIMIT
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.schemas.market import (
    BingXBookTicker,
    BingXBookTickerData,
    BingXContract,
    BingXDepth,
    BingXKline,
    BingXTicker,
    BingXTradingRule,
)


class BingXMarketHttpAPI:
    def __init__(self, client: BingXHttpClient) -> None:
        self.client = client

    async def contracts(self, symbol: str | None = None) -> list[BingXContract]:
        return await self.client.call(
            "GET", "/openApi/swap/v2/quote/contracts", {"symbol": symbol}, list[BingXContract], signed=False
        )

    async def trading_rules(self, symbol: str | None = None) -> list[BingXTradingRule]:
        """v1/tradingRules (added 2025-09). The docs do not say whether one symbol yields an object or a
        one-row list; both are accepted."""
        data: list[BingXTradingRule] | BingXTradingRule = await self.client.call(
            "GET",
            "/openApi/swap/v1/tradingRules",
            {"symbol": symbol},
            list[BingXTradingRule] | BingXTradingRule,
            signed=False,
        )
        return data if isinstance(data, list) else [data]

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> list[BingXKline]:
        """v3 klines sorted by open time ascending (venue ordering is undocumented,
        docs/reference/bingx_api.md §4.5)."""
        if interval not in KLINE_INTERVALS:
            raise ValueError(f"kline interval must be one of {KLINE_INTERVALS}, got {interval!r}")
        if limit is not None and not 1 <= limit <= KLINE_MAX_LIMIT:
            raise ValueError(f"kline limit must be 1..{KLINE_MAX_LIMIT}, got {limit}")
        params = {"symbol": symbol, "interval": interval, "startTime": start_ms, "endTime": end_ms, "limit": limit}
        rows: list[BingXKline] = await self.client.call(
            "GET", "/openApi/swap/v3/quote/klines", params, list[BingXKline], signed=False
        )
        return sorted(rows, key=lambda k: k.time)

    async def depth(self, symbol: str, limit: int = 20) -> BingXDepth:
        """Order book snapshot; `limit` is rounded up to an allowed value (limit=1 fails at the venue)."""
        allowed = next((x for x in DEPTH_LIMITS if x >= limit), DEPTH_LIMITS[-1])
        return await self.client.call(
            "GET", "/openApi/swap/v2/quote/depth", {"symbol": symbol, "limit": allowed}, BingXDepth, signed=False
        )

    async def book_ticker(self, symbol: str) -> BingXBookTicker:
        data: BingXBookTickerData = await self.client.call(
            "GET", "/openApi/swap/v2/quote/bookTicker", {"symbol": symbol}, BingXBookTickerData, signed=False
        )
        return data.book_ticker

    async def ticker(self, symbol: str) -> BingXTicker:
        return await self.client.call(
            "GET", "/openApi/swap/v2/quote/ticker", {"symbol": symbol}, BingXTicker, signed=False
        )

    async def tickers(self) -> list[BingXTicker]:
        return await self.client.call("GET", "/openApi/swap/v2/quote/ticker", None, list[BingXTicker], signed=False)

    async def server_time_ms(self) -> int:
        data: dict[str, Any] = await self.client.call("GET", "/openApi/swap/v2/server/time", None, dict, signed=False)
        return int(data["serverTime"])
