"""REST handlers of the emulated venue's trading endpoints: place (single, batch, test), query, cancel (single,
batch, all, after a timeout), open and historical orders, fills, amend, cancel-replace, close positions and
liquidation orders.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from . import errors as E
from . import wire as W
from .config import EmulatorConfig
from .engine import Engine
from .errors import VenueReject
from .model import Order, OrderRequest
from .rest_params import client_order_id_param, order_request, param_decimal, param_int, required_param, wire_text


class TradingRoutes:
    """The signed trading endpoints."""

    # Set up by EmulatorServer (server.py).
    config: EmulatorConfig
    engine: Engine
    server_ms: Callable[[], int]
    _cancel_all_after: asyncio.TimerHandle | None

    async def place_order(self, params: dict[str, str]) -> object:
        return {"order": W.order_echo(self.engine.place(order_request(params)))}

    async def test_order(self, params: dict[str, str]) -> object:
        _, order = self.engine.validate(order_request(params))
        return {"order": W.order_echo(order)}

    def _find(self, params: dict[str, str], symbol_required: bool = True) -> Order:
        symbol = required_param(params, "symbol") if symbol_required else params.get("symbol")
        order_id, client_id = param_int(params, "orderId"), client_order_id_param(params)
        if order_id is None and not client_id:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:orderId or clientOrderId is required")
        return self.engine.find(symbol, order_id, client_id)

    async def query_order(self, params: dict[str, str]) -> object:
        return {"order": W.order_object(self._find(params))}

    async def open_order(self, params: dict[str, str]) -> object:
        order = self._find(params)
        if not order.is_open:
            raise VenueReject(E.ORDER_NOT_EXIST)
        return {"order": W.order_object(order)}

    async def cancel_order(self, params: dict[str, str]) -> object:
        symbol = required_param(params, "symbol")
        order_id, client_id = param_int(params, "orderId"), client_order_id_param(params)
        if order_id is None and not client_id:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:orderId or clientOrderId is required")
        return {"order": W.order_object(self.engine.cancel(symbol, order_id, client_id))}

    async def batch_place(self, params: dict[str, str]) -> object:
        try:
            orders = json.loads(required_param(params, "batchOrders"))
        except ValueError as exc:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:batchOrders Syntax error") from exc
        if not isinstance(orders, list) or not 1 <= len(orders) <= 5:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:batchOrders must hold 1-5 orders")
        placed = []
        for item in orders:  # per-order failure shape is UNCONFIRMED: failed ones carry code/msg
            try:
                placed.append(
                    W.order_echo(self.engine.place(order_request({k: wire_text(v) for k, v in item.items()})))
                )
            except VenueReject as reject:
                placed.append({"code": reject.error.code(self.config.error_generation), "msg": reject.msg})
        return {"orders": placed}

    async def batch_cancel(self, params: dict[str, str]) -> object:
        symbol = required_param(params, "symbol")
        ids = json.loads(params.get("orderIdList") or "[]")
        cids = json.loads(params.get("clientOrderIDList") or params.get("clientOrderIdList") or "[]")
        if not ids and not cids:
            raise VenueReject(E.INVALID_PARAM, "orderIdList & clientOrderIDList are both empty")
        if len(ids) > 10 or len(cids) > 10:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:at most 10 ids")
        success, failed = [], []
        for order_id, cid in [(int(i), None) for i in ids] + [(None, str(c)) for c in cids]:
            try:
                success.append(W.order_object(self.engine.cancel(symbol, order_id, cid)))
            except VenueReject as reject:
                failed.append(
                    {
                        "orderId": order_id or 0,
                        "clientOrderId": cid or "",
                        "errorCode": reject.error.code(self.config.error_generation),
                        "errorMessage": reject.msg,
                    }
                )
        return {"success": success, "failed": failed or None}

    async def cancel_all(self, params: dict[str, str]) -> object:
        cancelled = self.engine.cancel_all(params.get("symbol"), params.get("type"))
        return {"success": [W.order_object(o) for o in cancelled], "failed": None}

    async def open_orders(self, params: dict[str, str]) -> object:
        orders = self.engine.open_orders(params.get("symbol"))
        if params.get("type"):
            orders = [o for o in orders if o.type == params["type"]]
        return {"orders": [W.order_object(o) for o in orders]}

    def _history(self, params: dict[str, str], finished_only: bool) -> list[Order]:
        end = param_int(params, "endTime", self.server_ms())
        start = param_int(params, "startTime", end - 7 * 86_400_000)
        if end - start > 7 * 86_400_000:
            raise VenueReject(E.INVALID_PARAM, "the query range is more than seven days")
        limit = param_int(params, "limit", 500) or 500
        if limit > 1000:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:limit max 1000")
        after = param_int(params, "orderId")
        symbol = params.get("symbol")
        rows = [
            o
            for o in self.engine.account.orders.values()
            if (not symbol or o.symbol == symbol)
            and start <= o.time <= end
            and (not finished_only or not o.is_open)
            and (after is None or o.order_id >= after)
        ]
        return sorted(rows, key=lambda o: o.order_id)[:limit]

    async def force_orders(self, params: dict[str, str]) -> object:
        """Liquidation orders (autoCloseType LIQUIDATION; ADL is not emulated)."""
        symbol, kind = params.get("symbol"), params.get("autoCloseType")
        limit = min(param_int(params, "limit", 50) or 50, 100)
        rows = [
            o
            for o in self.engine.force_orders
            if (not symbol or o.symbol == symbol) and kind in (None, "", "LIQUIDATION")
        ]
        return {"orders": [W.order_object(o) for o in rows[-limit:]]}

    async def all_orders(self, params: dict[str, str]) -> object:
        return {"orders": [W.order_object(o) for o in self._history(params, finished_only=True)]}

    async def full_orders(self, params: dict[str, str]) -> object:
        return {"orders": [W.order_object(o) for o in self._history(params, finished_only=False)]}

    async def all_fill_orders(self, params: dict[str, str]) -> object:
        required_param(params, "tradingUnit")
        start, end = int(required_param(params, "startTs")), int(required_param(params, "endTs"))
        order_id = param_int(params, "orderId")
        # documented pitfall: the venue ignores `symbol` here, so this does too
        rows = [
            f
            for f in self.engine.account.fills
            if start <= f.time <= end and (order_id is None or f.order_id == order_id)
        ]
        return {"fill_orders": [W.fill_order_row(f) for f in rows]}

    async def fill_history(self, params: dict[str, str]) -> object:
        symbol = required_param(params, "symbol")
        start, end = param_int(params, "startTs"), param_int(params, "endTs")
        if end is None:
            return {"fill_history_orders": [], "total": 0}  # documented: only startTs -> no data
        start = start if start is not None else end - 7 * 86_400_000
        order_id, last_id = param_int(params, "orderId"), param_int(params, "lastFillId", 0) or 0
        size = min(param_int(params, "pageSize", 50) or 50, 1000)
        rows = [
            f
            for f in self.engine.account.fills
            if f.symbol == symbol
            and start < f.time <= end
            and f.trade_id > last_id
            and (order_id is None or f.order_id == order_id)
        ]
        return {"fill_history_orders": [W.fill_history_row(f) for f in rows[:size]], "total": len(rows)}

    async def amend(self, params: dict[str, str]) -> object:
        order = self._find(params)
        quantity = param_decimal(params, "quantity")
        if quantity is None:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:quantity is required")
        order = self.engine.amend(order, quantity)
        return {
            "orderId": order.order_id,
            "clientOrderId": order.client_order_id,
            "symbol": order.symbol,
            "quantity": W.num(order.orig_qty),
        }

    async def cancel_replace(self, params: dict[str, str]) -> object:
        mode = required_param(params, "cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:cancelReplaceMode")
        result: dict = {
            "cancelResult": "true",
            "cancelMsg": "",
            "cancelResponse": None,
            "replaceResult": "false",
            "replaceMsg": "",
            "newOrderResponse": None,
        }
        try:
            cancelled = self.engine.cancel(
                required_param(params, "symbol"),
                param_int(params, "cancelOrderId"),
                params.get("cancelClientOrderId") or None,
            )
            result["cancelResponse"] = W.order_object(cancelled)
        except VenueReject as reject:
            result.update(cancelResult="false", cancelMsg=reject.msg)
            if mode == "STOP_ON_FAILURE":
                return result
        try:
            result["newOrderResponse"] = W.order_echo(self.engine.place(order_request(params)))
            result["replaceResult"] = "true"
        except VenueReject as reject:
            result["replaceMsg"] = reject.msg
        return result

    def _close_positions(self, symbol: str | None, position_id: int | None = None) -> list[Order]:
        closed = []
        for pos in list(self.engine.positions(symbol)):
            if position_id is not None and pos.position_id != position_id:
                continue
            side = "SELL" if pos.direction > 0 else "BUY"
            request = OrderRequest(
                pos.symbol,
                side,
                pos.side,
                "MARKET",
                abs(pos.qty),
                None,
                None,
                "GTC",
                True if pos.side == "BOTH" else None,
                "",
            )
            closed.append(self.engine.place(request))
        return closed

    async def close_all_positions(self, params: dict[str, str]) -> object:
        return {"success": [o.order_id for o in self._close_positions(params.get("symbol"))], "failed": None}

    async def close_position(self, params: dict[str, str]) -> object:
        position_id = param_int(params, "positionId")
        orders = self._close_positions(None, position_id)
        if not orders:
            raise VenueReject(E.NO_POSITION_TO_CLOSE)
        order = orders[0]
        return {
            "orderId": order.order_id,
            "positionId": str(position_id),
            "symbol": order.symbol,
            "side": "Ask" if order.side == "SELL" else "Bid",
            "type": "Market",
            "positionSide": order.position_side,
            "origQty": W.dec(order.orig_qty, 4),
        }

    async def cancel_all_after(self, params: dict[str, str]) -> object:
        kind = required_param(params, "type")
        if self._cancel_all_after is not None:
            self._cancel_all_after.cancel()
            self._cancel_all_after = None
        if kind == "CLOSE":
            return {"triggerTime": 0, "status": "CLOSED", "note": "cancelAllAfter closed"}
        if kind != "ACTIVATE":
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:type must be ACTIVATE or CLOSE")
        timeout = param_int(params, "timeOut", 0) or 0
        if not 10 <= timeout <= 120:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:timeOut must be 10-120 seconds")
        loop = asyncio.get_running_loop()
        self._cancel_all_after = loop.call_later(timeout, self.engine.cancel_all, None, None)
        return {
            "triggerTime": self.server_ms() // 1000 + timeout,
            "status": "ACTIVATED",
            "note": f"All orders will be cancelled after {timeout} seconds unless refreshed",
        }
