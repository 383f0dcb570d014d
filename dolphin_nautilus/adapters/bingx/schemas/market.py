"""Public market data payloads (docs/reference/bingx_api.md §4)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from dolphin_nautilus.adapters.bingx.schemas.common import Num


class BingXServerTime(msgspec.Struct):
    server_time: int = msgspec.field(name="serverTime")


class BingXContract(msgspec.Struct, rename="camel"):
    """`quote/contracts` row. Precisions are decimal places; quantities are in base coin."""

    symbol: str
    price_precision: int
    quantity_precision: int
    trade_min_quantity: Num = Num(0)
    trade_min_usdt: Num = msgspec.field(default=Num(0), name="tradeMinUSDT")
    maker_fee_rate: Num = Num(0)
    taker_fee_rate: Num = Num(0)
    max_long_leverage: int = 0
    max_short_leverage: int = 0
    currency: str = "USDT"
    asset: str = ""
    status: int = 1  # 1 online, 0 offline, 5 pre-online, 25 open forbidden
    api_state_open: bool = True
    api_state_close: bool = True
    launch_time: int = 0
    maintain_time: int = 0
    off_time: int = 0
    display_name: str = ""

    @property
    def price_increment(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_precision)

    @property
    def size_increment(self) -> Decimal:
        return Decimal(1).scaleb(-self.quantity_precision)

    @property
    def is_tradable(self) -> bool:
        return self.status == 1 and self.api_state_open and self.api_state_close


class BingXTradingRule(msgspec.Struct, rename="camel"):
    """`v1/tradingRules` row (added 2025-09). Price bands are ratios of the current price."""

    symbol: str
    min_size_coin: Num = Num(0)
    min_size_usd: Num = Num(0)
    max_mum_order: Num = Num(0)  # venue spelling: max number of open orders
    buy_max_price: Num = Num(0)
    buy_min_price: Num = Num(0)
    sell_max_price: Num = Num(0)
    sell_min_price: Num = Num(0)
    market_ratio: Num = Num(0)


class BingXKline(msgspec.Struct):
    """v3 kline; `time` is the candle OPEN time (ms)."""

    time: int
    open: Num
    high: Num
    low: Num
    close: Num
    volume: Num


class BingXDepth(msgspec.Struct):
    """REST depth. The venue sends asks high->low (best LAST); `best_first()` fixes that."""

    bids: list[list[Num]]
    asks: list[list[Num]]
    ts: int = msgspec.field(default=0, name="T")

    def best_first(self) -> tuple[list[tuple[Num, Num]], list[tuple[Num, Num]]]:
        """(bids high->low, asks low->high) as (price, qty) pairs."""
        bids = sorted(((lvl[0], lvl[1]) for lvl in self.bids), key=lambda x: x[0], reverse=True)
        asks = sorted(((lvl[0], lvl[1]) for lvl in self.asks), key=lambda x: x[0])
        return bids, asks


class BingXBookTicker(msgspec.Struct):
    symbol: str
    bid_price: Num
    bid_qty: Num
    ask_price: Num
    ask_qty: Num
    time: int = 0


class BingXBookTickerData(msgspec.Struct):
    book_ticker: BingXBookTicker


class BingXTicker(msgspec.Struct, rename="camel"):
    symbol: str
    last_price: Num = Num(0)
    last_qty: Num = Num(0)
    high_price: Num = Num(0)
    low_price: Num = Num(0)
    open_price: Num = Num(0)
    volume: Num = Num(0)
    quote_volume: Num = Num(0)
    price_change: Num = Num(0)
    price_change_percent: Num = Num(0)
    bid_price: Num = Num(0)
    bid_qty: Num = Num(0)
    ask_price: Num = Num(0)
    ask_qty: Num = Num(0)
    open_time: int = 0
    close_time: int = 0
