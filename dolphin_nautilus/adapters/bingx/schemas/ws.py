"""WebSocket payloads (docs/reference/bingx_api.md §9). Market frames: `{"code":0,"dataType":"<topic>","data":...}`.

User-stream events are decoded by their `e` field into one of the event Structs below. Executions keep
the venue trade id (`o.td`) and cumulative filled quantity (`o.z`) so the consumer can dedupe repeated
messages (docs/reference/bingx_api.md §11.8): dedupe is the consumer's job.
"""

from __future__ import annotations

import msgspec

from dolphin_nautilus.adapters.bingx.common.enums import (
    BingXExecutionType,
    BingXOrderStatus,
    parse_execution_type,
    parse_order_status,
)
from dolphin_nautilus.adapters.bingx.schemas.common import Num

# ---- market stream ---------------------------------------------------------------------------------


class WsFrame(msgspec.Struct):
    """Any market-stream frame: a subscription ack/error (has `id`) or data (has `dataType`)."""

    code: int = 0
    msg: str = ""
    id: str = ""
    data_type: str = msgspec.field(default="", name="dataType")
    data: msgspec.Raw = msgspec.Raw(b"null")
    ts: int = 0
    s: str = ""


class WsTrade(msgspec.Struct):
    """`<sym>@trade` rows (arrive as an array). No trade id on the public stream (docs/reference/bingx_api.md §11.9)."""

    price: Num = msgspec.field(name="p")
    quantity: Num = msgspec.field(name="q")
    ts: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(default=False, name="m")
    symbol: str = msgspec.field(default="", name="s")


class WsDepth(msgspec.Struct):
    """`<sym>@depth<N>@<ms>`: full snapshot each push, asks high->low as on REST."""

    bids: list[list[Num]]
    asks: list[list[Num]]

    def best_first(self) -> tuple[list[tuple[Num, Num]], list[tuple[Num, Num]]]:
        bids = sorted(((lvl[0], lvl[1]) for lvl in self.bids), key=lambda x: x[0], reverse=True)
        asks = sorted(((lvl[0], lvl[1]) for lvl in self.asks), key=lambda x: x[0])
        return bids, asks


class WsKline(msgspec.Struct):
    """`<sym>@kline_<int>` rows (array). `open_time` = candle OPEN; final once a later one arrives."""

    open: Num = msgspec.field(name="o")
    high: Num = msgspec.field(name="h")
    low: Num = msgspec.field(name="l")
    close: Num = msgspec.field(name="c")
    volume: Num = msgspec.field(name="v")
    open_time: int = msgspec.field(name="T")


class WsBookTicker(msgspec.Struct):
    symbol: str = msgspec.field(name="s")
    bid_price: Num = msgspec.field(name="b")
    bid_qty: Num = msgspec.field(name="B")
    ask_price: Num = msgspec.field(name="a")
    ask_qty: Num = msgspec.field(name="A")
    update_id: int = msgspec.field(default=0, name="u")
    event_time: int = msgspec.field(default=0, name="E")
    ts: int = msgspec.field(default=0, name="T")


class WsPrice(msgspec.Struct):
    """`@markPrice` (`p`) and `@lastPrice` (`c`)."""

    symbol: str = msgspec.field(name="s")
    event_time: int = msgspec.field(default=0, name="E")
    mark_price: Num | None = msgspec.field(default=None, name="p")
    last_price: Num | None = msgspec.field(default=None, name="c")


class WsTicker(msgspec.Struct):
    symbol: str = msgspec.field(name="s")
    event_time: int = msgspec.field(default=0, name="E")
    last_price: Num = msgspec.field(default=Num(0), name="c")
    bid_price: Num = msgspec.field(default=Num(0), name="B")
    bid_qty: Num = msgspec.field(default=Num(0), name="b")
    ask_price: Num = msgspec.field(default=Num(0), name="A")
    ask_qty: Num = msgspec.field(default=Num(0), name="a")
    volume: Num = msgspec.field(default=Num(0), name="v")
    quote_volume: Num = msgspec.field(default=Num(0), name="q")


class MarketUpdate(msgspec.Struct, frozen=True):
    """What the market stream hands its handler: the topic, its symbol, and the typed payload."""

    data_type: str
    symbol: str
    payload: object  # list[WsTrade] | WsDepth | list[WsKline] | WsBookTicker | WsTicker | WsPrice | raw dict
    ts: int = 0


# ---- user data stream ------------------------------------------------------------------------------


class WsEventHeader(msgspec.Struct):
    event: str = msgspec.field(default="", name="e")


class WsOrderUpdate(msgspec.Struct):
    """`ORDER_TRADE_UPDATE.o`. `last_qty`/`last_price` (`l`/`L`) may be absent; then the consumer derives
    the execution from the change in `cum_filled_qty` (`z`), never by summing `q`."""

    symbol: str = msgspec.field(name="s")
    order_id: int = msgspec.field(name="i")
    side: str = msgspec.field(name="S")
    order_type: str = msgspec.field(name="o")
    execution_type: str = msgspec.field(name="x")
    status: str = msgspec.field(name="X")
    client_order_id_raw: str = msgspec.field(default="", name="c")
    quantity: Num = msgspec.field(default=Num(0), name="q")
    price: Num = msgspec.field(default=Num(0), name="p")
    stop_price: Num = msgspec.field(default=Num(0), name="sp")
    avg_price: Num = msgspec.field(default=Num(0), name="ap")
    cum_filled_qty: Num = msgspec.field(default=Num(0), name="z")
    last_qty: Num | None = msgspec.field(default=None, name="l")
    last_price: Num | None = msgspec.field(default=None, name="L")
    fee_asset: str = msgspec.field(default="", name="N")
    fee: Num = msgspec.field(default=Num(0), name="n")  # negative = paid
    trade_time: int = msgspec.field(default=0, name="T")
    position_side: str = msgspec.field(default="BOTH", name="ps")
    realized_pnl: Num = msgspec.field(default=Num(0), name="rp")
    reduce_only: bool = msgspec.field(default=False, name="ro")
    trade_id: int = msgspec.field(default=0, name="td")  # 0 when absent
    trade_value: Num = msgspec.field(default=Num(0), name="tv")
    working_type: str = msgspec.field(default="", name="wt")

    @property
    def client_order_id(self) -> str:
        return self.client_order_id_raw.lower()

    @property
    def order_status(self) -> BingXOrderStatus:
        return parse_order_status(self.status)

    @property
    def execution(self) -> BingXExecutionType:
        return parse_execution_type(self.execution_type)

    @property
    def is_fill(self) -> bool:
        return self.execution is BingXExecutionType.TRADE


class OrderTradeUpdate(msgspec.Struct):
    event_time: int = msgspec.field(name="E")
    order: WsOrderUpdate = msgspec.field(name="o")
    transaction_time: int = msgspec.field(default=0, name="T")


class WsBalanceChange(msgspec.Struct):
    asset: str = msgspec.field(name="a")
    wallet_balance: Num = msgspec.field(default=Num(0), name="wb")
    cross_wallet_balance: Num = msgspec.field(default=Num(0), name="cw")
    balance_change: Num = msgspec.field(default=Num(0), name="bc")


class WsPositionChange(msgspec.Struct):
    symbol: str = msgspec.field(name="s")
    position_amt: Num = msgspec.field(name="pa")  # signed when position_side == BOTH
    position_side: str = msgspec.field(default="BOTH", name="ps")
    entry_price: Num = msgspec.field(default=Num(0), name="ep")
    unrealized_pnl: Num = msgspec.field(default=Num(0), name="up")
    margin_type: str = msgspec.field(default="", name="mt")
    isolated_wallet: Num = msgspec.field(default=Num(0), name="iw")
    realized_pnl: Num = msgspec.field(default=Num(0), name="cr")


class WsAccountData(msgspec.Struct):
    reason: str = msgspec.field(default="", name="m")
    balances: list[WsBalanceChange] = msgspec.field(default_factory=list, name="B")
    positions: list[WsPositionChange] = msgspec.field(default_factory=list, name="P")


class AccountUpdate(msgspec.Struct):
    event_time: int = msgspec.field(name="E")
    account: WsAccountData = msgspec.field(name="a")
    transaction_time: int = msgspec.field(default=0, name="T")


class WsAccountConfig(msgspec.Struct):
    symbol: str = msgspec.field(name="s")
    long_leverage: int = msgspec.field(default=0, name="l")
    short_leverage: int = msgspec.field(default=0, name="S")
    margin_type: str = msgspec.field(default="", name="mt")


class AccountConfigUpdate(msgspec.Struct):
    event_time: int = msgspec.field(name="E")
    config: WsAccountConfig = msgspec.field(name="ac")


class ListenKeyExpired(msgspec.Struct):
    event_time: int = msgspec.field(default=0, name="E")
    listen_key: str = msgspec.field(default="", name="listenKey")


class UserStreamReconnected(msgspec.Struct, frozen=True):
    """Emitted by our client (not the venue) after every (re)connection: events may have been missed,
    so the consumer should reconcile over REST (docs/reference/bingx_api.md §11.4,
    docs/reference/bingx_api.md §11.20)."""

    listen_key_renewed: bool
    attempt: int


UserEvent = OrderTradeUpdate | AccountUpdate | AccountConfigUpdate | ListenKeyExpired | UserStreamReconnected
