"""Order and fill payloads (docs/reference/bingx_api.md §5). Order ids are int (64-bit snowflakes, > 2^53); never
floats.

The venue spells the client id `clientOrderId` in order objects but `clientOrderID` in the place-order
echo and fill rows (docs/reference/bingx_api.md §3.3). Structs accept both and expose one `client_order_id` property.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from dolphin_nautilus.adapters.bingx.common.enums import (
    BingXOrderSide,
    BingXOrderStatus,
    BingXOrderType,
    parse_order_side,
    parse_order_status,
    parse_order_type,
)
from dolphin_nautilus.adapters.bingx.schemas.common import Num


class _ClientIdMixin:
    client_order_id_camel: str
    client_order_id_caps: str

    @property
    def client_order_id(self) -> str:
        """Lower case, as the venue stores it; "" when the order has none."""
        return (self.client_order_id_camel or self.client_order_id_caps).lower()


class BingXOrderAck(msgspec.Struct, _ClientIdMixin, rename="camel"):
    """`POST trade/order` echo: numbers where order objects have strings; may lack status and fills."""

    order_id: int
    symbol: str
    side: str
    type: str
    position_side: str = "BOTH"
    price: Num = Num(0)
    quantity: Num = Num(0)
    status: str = ""
    avg_price: Num = Num(0)
    executed_qty: Num = Num(0)
    time_in_force: str = ""
    reduce_only: bool = False
    client_order_id_camel: str = msgspec.field(default="", name="clientOrderId")
    client_order_id_caps: str = msgspec.field(default="", name="clientOrderID")


class BingXOrder(msgspec.Struct, _ClientIdMixin, rename="camel"):
    """Full order object (query / cancel / openOrders / allOrders)."""

    order_id: int
    symbol: str
    side: str
    type: str
    status: str
    position_side: str = "BOTH"
    orig_qty: Num = Num(0)
    price: Num = Num(0)
    executed_qty: Num = Num(0)
    avg_price: Num = Num(0)
    cum_quote: Num = Num(0)
    stop_price: Num = Num(0)
    profit: Num = Num(0)
    commission: Num = Num(0)  # negative = paid
    time: int = 0
    update_time: int = 0
    working_type: str = ""
    time_in_force: str = ""
    reduce_only: bool = False
    post_only: bool = False
    client_order_id_camel: str = msgspec.field(default="", name="clientOrderId")
    client_order_id_caps: str = msgspec.field(default="", name="clientOrderID")

    @property
    def order_status(self) -> BingXOrderStatus:
        return parse_order_status(self.status)

    @property
    def order_side(self) -> BingXOrderSide:
        return parse_order_side(self.side)

    @property
    def order_type(self) -> BingXOrderType:
        return parse_order_type(self.type)


class BingXOrderData(msgspec.Struct):
    order: BingXOrder


class BingXOrderAckData(msgspec.Struct):
    order: BingXOrderAck


class BingXOrdersData(msgspec.Struct):
    orders: list[BingXOrder] = []


class BingXCancelFailure(msgspec.Struct, rename="camel"):
    order_id: int = 0
    client_order_id: str = ""
    error_code: int = 0
    error_message: str = ""


class BingXCancelAllResult(msgspec.Struct):
    success: list[BingXOrder] | None = None
    failed: list[BingXCancelFailure] | None = None


def _venue_time_ms(text: str) -> int:
    """`2023-12-16T20:58:36.000+0800` -> epoch ms. Use `filledTime`, never `filledTm` (UTC+8 mislabelled Z)."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000) if text else 0


class BingXFill(msgspec.Struct, rename="camel"):
    """`trade/fillHistory` row: one execution, with a venue trade id (prefer this to allFillOrders)."""

    order_id: int
    symbol: str
    trade_id: str = ""
    price: Num = Num(0)
    volume: Num = Num(0)  # base quantity
    quote_qty: Num = Num(0)
    commission: Num = Num(0)  # negative = paid
    commission_asset: str = "USDT"
    filled_time: str = ""
    role: str = ""  # maker | taker
    side: str = ""  # lower case here
    position_side: str = ""

    @property
    def ts_ms(self) -> int:
        return _venue_time_ms(self.filled_time)

    @property
    def is_maker(self) -> bool:
        return self.role.lower() == "maker"


class BingXFillHistoryData(msgspec.Struct):
    fill_history_orders: list[BingXFill] | None = None
    total: int = 0


class BingXFillOrder(msgspec.Struct, _ClientIdMixin, rename="camel"):
    """`trade/allFillOrders` row: no trade id; the symbol filter is ignored by the venue (filter client-side)."""

    order_id: int
    symbol: str
    price: Num = Num(0)
    volume: Num = Num(0)
    amount: Num = Num(0)
    commission: Num = Num(0)
    currency: str = "USDT"
    filled_time: str = ""
    side: str = ""
    position_side: str = ""
    client_order_id_camel: str = msgspec.field(default="", name="clientOrderId")
    client_order_id_caps: str = msgspec.field(default="", name="clientOrderID")

    @property
    def ts_ms(self) -> int:
        return _venue_time_ms(self.filled_time)


class BingXFillOrdersData(msgspec.Struct):
    fill_orders: list[BingXFillOrder] | None = None
