"""Trading endpoints (docs/reference/bingx_api.md §5): place, cancel, cancel all, query, open orders, history, fills.

Client order ids are lowercased before sending because the venue lowercases them (docs/reference/bingx_api.md §3.3); the
id in every
returned Struct is the lowercased one, so lookups by client id round-trip. Ids are sent as `clientOrderId`
(the spelling the docs use since 2025-04).
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from dolphin_nautilus.adapters.bingx.common.enums import (
    BingXOrderSide,
    BingXOrderType,
    BingXPositionSide,
    BingXTimeInForce,
)
from dolphin_nautilus.adapters.bingx.constants import CLIENT_ORDER_ID_MAX_LEN
from dolphin_nautilus.adapters.bingx.errors import Operation
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.schemas.common import fmt_decimal
from dolphin_nautilus.adapters.bingx.schemas.trade import (
    BingXCancelAllResult,
    BingXFill,
    BingXFillHistoryData,
    BingXFillOrder,
    BingXFillOrdersData,
    BingXOrder,
    BingXOrderAck,
    BingXOrderAckData,
    BingXOrderData,
    BingXOrdersData,
)

_V2 = "/openApi/swap/v2"
_ORDER = f"{_V2}/trade/order"


def normalize_client_order_id(client_order_id: str) -> str:
    """Lowercase and validate (1-40 chars, printable ASCII without spaces)."""
    cid = client_order_id.lower()
    if not 1 <= len(cid) <= CLIENT_ORDER_ID_MAX_LEN:
        raise ValueError(
            f"clientOrderId must be 1-{CLIENT_ORDER_ID_MAX_LEN} chars, got {len(cid)}: {client_order_id!r}"
        )
    if not cid.isascii() or not cid.isprintable() or " " in cid:
        raise ValueError(f"clientOrderId must be printable ASCII without spaces: {client_order_id!r}")
    return cid


def _as[E: Enum](enum: type[E], value: object) -> E:
    """`value` as a member of `enum` (a member already is one: no lookup on the order path)."""
    return value if type(value) is enum else enum(value)


def _order_ref(order_id: int | None, client_order_id: str | None) -> dict[str, object]:
    if order_id is None and not client_order_id:
        raise ValueError("give order_id or client_order_id")
    if order_id is not None:
        return {"orderId": int(order_id)}
    return {"clientOrderId": normalize_client_order_id(client_order_id or "")}


class BingXTradeHttpAPI:
    def __init__(self, client: BingXHttpClient) -> None:
        self.client = client

    async def place_order(
        self,
        *,
        symbol: str,
        side: BingXOrderSide,
        order_type: BingXOrderType,
        quantity: Decimal,
        price: Decimal | None = None,
        position_side: BingXPositionSide = BingXPositionSide.BOTH,
        reduce_only: bool = False,
        client_order_id: str | None = None,
        time_in_force: BingXTimeInForce | None = None,
    ) -> BingXOrderAck:
        """MARKET or LIMIT. One-way accounts use position_side BOTH (reduce_only closes); hedge accounts
        reject reduceOnly (docs/reference/bingx_api.md §11.2), so reduce_only with LONG/SHORT is refused here.

        Raises BingXError; on UNKNOWN_OUTCOME query by client_order_id before sending anything else."""
        params = self._order_params(
            symbol, side, order_type, quantity, price, position_side, reduce_only, client_order_id, time_in_force
        )
        op = Operation.PLACE_EXIT if reduce_only else Operation.PLACE
        data = await self.client.call("POST", _ORDER, params, BingXOrderAckData, operation=op)
        return data.order

    @staticmethod
    def _order_params(
        symbol: str,
        side: BingXOrderSide,
        order_type: BingXOrderType,
        quantity: Decimal,
        price: Decimal | None,
        position_side: BingXPositionSide,
        reduce_only: bool,
        client_order_id: str | None,
        time_in_force: BingXTimeInForce | None,
    ) -> dict[str, object]:
        """The order's params as the exact texts they are signed and sent as (`param_value`'s texts, made here
        once: this runs on every order; `_value_` is the member's plain attribute, `.value` a property call)."""
        order_type = _as(BingXOrderType, order_type)
        if order_type is not BingXOrderType.MARKET and order_type is not BingXOrderType.LIMIT:
            raise ValueError(f"only MARKET and LIMIT orders are supported, got {order_type}")
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
            raise ValueError(f"quantity must be a positive Decimal, got {quantity!r}")
        if order_type is BingXOrderType.LIMIT:
            if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
                raise ValueError(f"LIMIT order needs a positive Decimal price, got {price!r}")
        elif price is not None:
            raise ValueError("MARKET order must not carry a price")
        position_side = _as(BingXPositionSide, position_side)
        if reduce_only and position_side is not BingXPositionSide.BOTH:
            raise ValueError("reduceOnly is only valid in one-way mode (positionSide BOTH); hedge mode rejects it")
        params: dict[str, object] = {
            "symbol": symbol,
            "side": _as(BingXOrderSide, side)._value_,
            "type": order_type._value_,
            # never omit: empty means LONG at the venue (docs/reference/bingx_api.md §11.3)
            "positionSide": position_side._value_,
            "quantity": fmt_decimal(quantity),
        }
        if price is not None:
            params["price"] = fmt_decimal(price)
        if reduce_only:
            params["reduceOnly"] = "true"
        if client_order_id:
            params["clientOrderId"] = normalize_client_order_id(client_order_id)
        if time_in_force is not None:
            params["timeInForce"] = _as(BingXTimeInForce, time_in_force)._value_
        return params

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> BingXOrder:
        """Cancel by orderId or clientOrderId. A second cancel within 1 s gives 109201 (UNKNOWN_OUTCOME:
        re-query, do not resend)."""
        params = {"symbol": symbol, **_order_ref(order_id, client_order_id)}
        data: BingXOrderData = await self.client.call(
            "DELETE", _ORDER, params, BingXOrderData, operation=Operation.CANCEL
        )
        return data.order

    async def cancel_all_orders(self, symbol: str | None = None) -> BingXCancelAllResult:
        return await self.client.call(
            "DELETE",
            f"{_V2}/trade/allOpenOrders",
            {"symbol": symbol},
            BingXCancelAllResult,
            operation=Operation.CANCEL,
        )

    async def query_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> BingXOrder:
        """Any order, open or finished, by orderId OR clientOrderId alone (Nautilus in-flight checks need
        the latter). Raises BingXOrderNotFoundError when the venue does not know it."""
        params = {"symbol": symbol, **_order_ref(order_id, client_order_id)}
        data: BingXOrderData = await self.client.call("GET", _ORDER, params, BingXOrderData)
        return data.order

    async def open_orders(self, symbol: str | None = None) -> list[BingXOrder]:
        data: BingXOrdersData = await self.client.call(
            "GET", f"{_V2}/trade/openOrders", {"symbol": symbol}, BingXOrdersData
        )
        return data.orders

    async def order_history(
        self,
        symbol: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
        from_order_id: int | None = None,
    ) -> list[BingXOrder]:
        """Finished orders (allOrders). Range at most 7 days (venue rule); `limit` is required, max 1000."""
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be 1..1000, got {limit}")
        if start_ms is not None and end_ms is not None and end_ms - start_ms > 7 * 86_400_000:
            raise ValueError("allOrders range must be at most 7 days")
        params = {"symbol": symbol, "startTime": start_ms, "endTime": end_ms, "limit": limit, "orderId": from_order_id}
        data: BingXOrdersData = await self.client.call("GET", f"{_V2}/trade/allOrders", params, BingXOrdersData)
        return data.orders

    async def fill_history(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        last_fill_id: int | None = None,
        page_size: int = 1000,
    ) -> list[BingXFill]:
        """Executions with venue trade ids (fillHistory). The venue returns nothing when only startTs is
        given (docs/reference/bingx_api.md §11.11), so a start without an end is refused here."""
        if start_ms is not None and end_ms is None:
            raise ValueError("fill_history with start_ms needs end_ms too (venue returns nothing otherwise)")
        params = {
            "symbol": symbol,
            "orderId": order_id,
            "startTs": start_ms,
            "endTs": end_ms,
            "lastFillId": last_fill_id,
            "pageSize": page_size,
        }
        data: BingXFillHistoryData = await self.client.call(
            "GET", f"{_V2}/trade/fillHistory", params, BingXFillHistoryData
        )
        return data.fill_history_orders or []

    async def fill_orders(
        self, start_ms: int, end_ms: int, *, symbol: str | None = None, order_id: int | None = None
    ) -> list[BingXFillOrder]:
        """allFillOrders (no trade id). The venue ignores `symbol`, so rows are filtered here."""
        params = {
            "symbol": symbol,
            "orderId": order_id,
            "startTs": start_ms,
            "endTs": end_ms,
            "tradingUnit": "COIN",
        }
        data: BingXFillOrdersData = await self.client.call(
            "GET", f"{_V2}/trade/allFillOrders", params, BingXFillOrdersData
        )
        rows = data.fill_orders or []
        return [
            r for r in rows if (symbol is None or r.symbol == symbol) and (order_id is None or r.order_id == order_id)
        ]
