"""The aiohttp application: REST dispatch (auth, rate limits, faults, envelope) and the WebSocket endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import overload

from aiohttp import web

from . import book
from . import errors as E
from . import market as M
from . import wire as W
from .auth import collect_params, error_body, verify
from .clock import Clock
from .config import EmulatorConfig
from .engine import Engine
from .errors import VenueReject
from .faults import BusinessReject, DelayedAck, FaultInjector, HttpError, RateLimited
from .listen_keys import ListenKeys
from .model import Order, OrderRequest
from .ratelimit import RateLimiter
from .streams import StreamHub

Handler = Callable[[dict[str, str]], Awaitable[object]]
SWAP = "/openApi/swap"
USER_DATA_STREAM = "/openApi/user/auth/userDataStream"
WS_PATH = "/swap-market"
TIMER_S = 0.1  # how often funding times are checked against the clock


@dataclass(frozen=True)
class Route:
    handler: Handler
    signed: bool
    ip_group: int


class Raw:
    """A handler result sent as-is (not wrapped in the {code,msg,data} envelope)."""

    def __init__(self, body: dict | None, status: int = 200) -> None:
        self.body, self.status = body, status


# ---------------------------------------------------------------------- param parsing
def _dec(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name, "")
    if raw == "":
        return None
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:Mismatch type float64 with value {name}") from exc


@overload
def _int(params: dict[str, str], name: str) -> int | None: ...
@overload
def _int(params: dict[str, str], name: str, default: int) -> int: ...
def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:Mismatch type int64 with value {name}") from exc


def _bool(params: dict[str, str], name: str) -> bool | None:
    raw = params.get(name, "")
    if raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:{name} must be true or false")
    return raw.lower() == "true"


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:{name} is required")
    return value


def _client_id(params: dict[str, str]) -> str:
    return params.get("clientOrderId") or params.get("clientOrderID") or ""


def order_request(params: dict[str, str]) -> OrderRequest:
    return OrderRequest(
        symbol=_required(params, "symbol"),
        side=_required(params, "side"),
        position_side=params.get("positionSide", ""),
        type=_required(params, "type"),
        quantity=_dec(params, "quantity"),
        price=_dec(params, "price"),
        stop_price=_dec(params, "stopPrice"),
        time_in_force=params.get("timeInForce") or "GTC",
        reduce_only=_bool(params, "reduceOnly"),
        client_order_id=_client_id(params),
        working_type=params.get("workingType") or "MARK_PRICE",
        quote_order_qty=_dec(params, "quoteOrderQty"),
    )


class EmulatorServer:
    """Owns the engine, the hub of WebSocket connections and the REST routes."""

    def __init__(self, config: EmulatorConfig, faults: FaultInjector | None = None, clock: Clock | None = None) -> None:
        self.config = config
        self.engine = Engine(config, clock)
        self.faults = faults or FaultInjector()
        self.rate_limiter = RateLimiter(config.rate_limits)
        self.listen_keys = ListenKeys(config.listen_key_ttl_s)
        self.hub = StreamHub(config, self.engine, self.faults, self.listen_keys)
        self._timer: asyncio.Task | None = None
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests_served = 0
        self._cancel_all_after: asyncio.TimerHandle | None = None
        self._register_routes()

    # ------------------------------------------------------------------ app
    def server_ms(self) -> int:
        return self.engine.now_ms()

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/openApi/{tail:.*}", self.dispatch)
        app.router.add_get(WS_PATH, self.hub.websocket)
        app.on_startup.append(self.hub.start)
        app.on_startup.append(self._start_timer)
        app.on_shutdown.append(self.hub.shutdown)
        app.on_shutdown.append(self._stop_timer)
        return app

    async def _start_timer(self, app: web.Application) -> None:
        self._timer = asyncio.create_task(self._run_timer())

    async def _stop_timer(self, app: web.Application) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    async def _run_timer(self) -> None:
        while True:
            await asyncio.sleep(TIMER_S)
            self.engine.on_time()

    def _add(self, method: str, path: str, handler: Handler, signed: bool = True, ip_group: int = 2) -> None:
        self.routes[(method, path)] = Route(handler, signed, ip_group)

    # ------------------------------------------------------------------ dispatch
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests_served += 1
        path, method = request.path, request.method
        route = self.routes.get((method, path))
        if route is None:
            return web.json_response({"code": 100400, "msg": f"{method} {path} not found"}, status=404)
        body = await request.read()
        fault = self.faults.take(method, path)
        if isinstance(fault, HttpError) and not fault.executed:
            await asyncio.sleep(fault.delay_s)
            return web.Response(status=fault.status, text=fault.body or f"{fault.status} emulated failure")
        if isinstance(fault, BusinessReject):
            return self._json({"code": fault.code, "msg": fault.msg, "data": {}})
        if isinstance(fault, RateLimited):
            return self._rate_limited(0, int(self.config.rate_limits.penalty_s * 1000))
        headers: dict[str, str] = {}
        api_key = request.headers.get("X-BX-APIKEY")
        limits = self.config.rate_limits
        if limits.enabled:
            uid = api_key if route.signed else None
            verdict = self.rate_limiter.check(
                f"{method} {path}", route.ip_group, uid, request.remote or "", time.monotonic()
            )
            if not verdict.allowed:
                return self._rate_limited(verdict.remain, verdict.expire_ms)
            headers = {
                "X-RateLimit-Requests-Remain": str(verdict.remain),
                "X-RateLimit-Requests-Expire": str(verdict.expire_ms),
            }
        try:
            params = self._authenticate(request, route, api_key, body)
            response = self._answer(await route.handler(params), headers)
        except VenueReject as reject:
            payload = error_body(reject.error, self.config.error_generation, reject.msg, self.server_ms())
            response = self._json(payload, headers=headers)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # malformed input: a clear reject
            error = E.INVALID_PARAM
            payload = error_body(
                error, self.config.error_generation, f"Invalid parameters, err:{exc}", self.server_ms()
            )
            response = self._json(payload, headers=headers)
        if isinstance(fault, HttpError):  # processed, then the gateway gives up: unknown outcome
            await asyncio.sleep(fault.delay_s)
            return web.Response(status=fault.status, text=fault.body or f"{fault.status} Gateway Time-out")
        if isinstance(fault, DelayedAck):
            await asyncio.sleep(fault.delay_s)
        return response

    def _answer(self, result: object, headers: dict[str, str]) -> web.Response:
        if isinstance(result, Raw):
            if result.body is None:
                return web.Response(status=result.status, headers=headers)
            return self._json(result.body, status=result.status, headers=headers)
        return self._json({"code": 0, "msg": "", "data": result}, headers=headers)

    def _authenticate(self, request: web.Request, route: Route, api_key: str | None, body: bytes) -> dict[str, str]:
        pairs = collect_params(request.query_string, body, request.content_type)
        is_listen_key = request.path == USER_DATA_STREAM
        if not route.signed and not is_listen_key:
            return dict(pairs)
        if api_key != self.config.api_key:
            raise VenueReject(E.BAD_API_KEY, "Null apiKey" if not api_key else "Incorrect apiKey")
        if is_listen_key and not any(k == "signature" for k, _ in pairs):
            return dict(pairs)  # documented: the API key header alone is enough here
        return verify(
            pairs, request.query_string, body, self.config.api_secret, self.server_ms(), self.config.max_recv_window_ms
        )

    def _json(self, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        response = web.Response(
            body=json.dumps(payload, separators=(",", ":")),
            status=status,
            content_type="application/json",
            headers=headers,
        )
        if self.config.gzip_http_responses:
            response.enable_compression()
        return response

    def _rate_limited(self, remain: int, expire_ms: int) -> web.Response:
        cfg = self.config
        body = {"code": E.RATE_LIMIT.code(cfg.error_generation), "msg": E.RATE_LIMIT.msg, "data": {}}
        headers = {"X-RateLimit-Requests-Remain": str(remain), "X-RateLimit-Requests-Expire": str(expire_ms)}
        return self._json(body, status=cfg.rate_limits.http_status, headers=headers)

    # ------------------------------------------------------------------ routes
    def _register_routes(self) -> None:
        add = self._add
        # market data: public, IP group 1
        for path, handler in (
            (f"{SWAP}/v2/server/time", self.server_time),
            (f"{SWAP}/v2/quote/contracts", self.contracts),
            (f"{SWAP}/v1/tradingRules", self.trading_rules),
            (f"{SWAP}/v2/quote/depth", self.depth),
            (f"{SWAP}/v2/quote/trades", self.trades),
            (f"{SWAP}/v3/quote/klines", self.klines),
            (f"{SWAP}/v2/quote/klines", self.klines),
            (f"{SWAP}/v2/quote/ticker", self.ticker),
            (f"{SWAP}/v2/quote/bookTicker", self.book_ticker),
            (f"{SWAP}/v1/ticker/price", self.price),
            (f"{SWAP}/v2/quote/price", self.price),
            (f"{SWAP}/v2/quote/premiumIndex", self.premium_index),
            (f"{SWAP}/v2/quote/fundingRate", self.funding_rate),
            (f"{SWAP}/v2/quote/openInterest", self.open_interest),
        ):
            add("GET", path, handler, signed=False, ip_group=1)
        # trading: hot endpoints are IP group 3
        add("POST", f"{SWAP}/v2/trade/order", self.place_order, ip_group=3)
        add("POST", f"{SWAP}/v2/trade/order/test", self.test_order)
        add("GET", f"{SWAP}/v2/trade/order", self.query_order)
        add("DELETE", f"{SWAP}/v2/trade/order", self.cancel_order, ip_group=3)
        add("POST", f"{SWAP}/v2/trade/batchOrders", self.batch_place, ip_group=3)
        add("DELETE", f"{SWAP}/v2/trade/batchOrders", self.batch_cancel, ip_group=3)
        add("DELETE", f"{SWAP}/v2/trade/allOpenOrders", self.cancel_all)
        add("GET", f"{SWAP}/v2/trade/openOrders", self.open_orders, ip_group=3)
        add("GET", f"{SWAP}/v2/trade/openOrder", self.open_order)
        add("GET", f"{SWAP}/v2/trade/allOrders", self.all_orders, ip_group=3)
        add("GET", f"{SWAP}/v1/trade/fullOrder", self.full_orders)
        add("GET", f"{SWAP}/v2/trade/allFillOrders", self.all_fill_orders)
        add("GET", f"{SWAP}/v2/trade/fillHistory", self.fill_history)
        add("GET", f"{SWAP}/v1/trade/fillHistory", self.fill_history)
        add("POST", f"{SWAP}/v1/trade/amend", self.amend, ip_group=3)
        add("POST", f"{SWAP}/v1/trade/cancelReplace", self.cancel_replace)
        add("POST", f"{SWAP}/v2/trade/closeAllPositions", self.close_all_positions)
        add("POST", f"{SWAP}/v1/trade/closePosition", self.close_position)
        add("POST", f"{SWAP}/v2/trade/cancelAllAfter", self.cancel_all_after)
        add("GET", f"{SWAP}/v2/trade/forceOrders", self.force_orders)
        # account
        add("GET", f"{SWAP}/v2/user/positions", self.positions, ip_group=3)
        add("GET", f"{SWAP}/v3/user/balance", self.balance_v3, ip_group=3)
        add("GET", f"{SWAP}/v2/user/balance", self.balance_v2, ip_group=3)
        add("GET", f"{SWAP}/v2/user/commissionRate", self.commission_rate)
        add("GET", f"{SWAP}/v2/user/income", self.income)
        add("GET", f"{SWAP}/v2/trade/leverage", self.get_leverage)
        add("POST", f"{SWAP}/v2/trade/leverage", self.set_leverage)
        add("GET", f"{SWAP}/v2/trade/marginType", self.get_margin_type)
        add("POST", f"{SWAP}/v2/trade/marginType", self.set_margin_type)
        add("GET", f"{SWAP}/v1/positionSide/dual", self.get_dual)
        add("POST", f"{SWAP}/v1/positionSide/dual", self.set_dual)
        # user data stream (not enveloped)
        add("POST", USER_DATA_STREAM, self.create_listen_key)
        add("PUT", USER_DATA_STREAM, self.extend_listen_key)
        add("DELETE", USER_DATA_STREAM, self.delete_listen_key)

    # ------------------------------------------------------------------ market handlers
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
        contract = self.engine.contract(_required(params, "symbol"))
        bids, asks = M.depth_levels(contract, M.check_depth_limit(params.get("limit")))
        return {"T": self.server_ms(), "bids": bids, "asks": asks, "bidsCoin": bids, "asksCoin": asks}

    async def trades(self, params: dict[str, str]) -> object:
        symbol = self.engine.contract(_required(params, "symbol")).symbol
        limit = min(_int(params, "limit", 500) or 500, 1000)
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
        symbol = self.engine.contract(_required(params, "symbol")).symbol
        limit = min(_int(params, "limit", 500) or 500, 1440)
        bars = M.klines(
            self.engine.public_trades[symbol],
            _required(params, "interval"),
            _int(params, "startTime"),
            _int(params, "endTime"),
            limit,
        )
        rows = [M.rest_kline(b) for b in bars]
        return rows[::-1] if self.config.kline_newest_first else rows

    async def ticker(self, params: dict[str, str]) -> object:
        rows = [M.ticker(self.engine, c) for c in self._symbols(params)]
        return rows[0] if params.get("symbol") else rows

    async def book_ticker(self, params: dict[str, str]) -> object:
        contract = self.engine.contract(_required(params, "symbol"))
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
        symbol = self.engine.contract(_required(params, "symbol")).symbol
        limit = min(_int(params, "limit", 100) or 100, 1000)
        interval = self.config.funding_interval_h * 3_600_000
        settled = list(reversed(self.engine.funding_history[symbol]))
        oldest = settled[-1][0] if settled else self.engine.next_funding_ms
        settled += [(oldest - i * interval, self.engine.funding_rate) for i in range(1, 4)]
        return [{"symbol": symbol, "fundingRate": W.dec(rate, 8), "fundingTime": ms} for ms, rate in settled[:limit]]

    async def open_interest(self, params: dict[str, str]) -> object:
        contract = self.engine.contract(_required(params, "symbol"))
        return {"openInterest": "1000000.00", "symbol": contract.symbol, "time": self.server_ms()}

    # ------------------------------------------------------------------ trading handlers
    async def place_order(self, params: dict[str, str]) -> object:
        return {"order": W.order_echo(self.engine.place(order_request(params)))}

    async def test_order(self, params: dict[str, str]) -> object:
        _, order = self.engine.validate(order_request(params))
        return {"order": W.order_echo(order)}

    def _find(self, params: dict[str, str], symbol_required: bool = True) -> Order:
        symbol = _required(params, "symbol") if symbol_required else params.get("symbol")
        order_id, client_id = _int(params, "orderId"), _client_id(params)
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
        symbol = _required(params, "symbol")
        order_id, client_id = _int(params, "orderId"), _client_id(params)
        if order_id is None and not client_id:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:orderId or clientOrderId is required")
        return {"order": W.order_object(self.engine.cancel(symbol, order_id, client_id))}

    async def batch_place(self, params: dict[str, str]) -> object:
        try:
            orders = json.loads(_required(params, "batchOrders"))
        except ValueError as exc:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:batchOrders Syntax error") from exc
        if not isinstance(orders, list) or not 1 <= len(orders) <= 5:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:batchOrders must hold 1-5 orders")
        placed = []
        for item in orders:  # per-order failure shape is UNCONFIRMED: failed ones carry code/msg
            try:
                placed.append(
                    W.order_echo(self.engine.place(order_request({k: _wire_text(v) for k, v in item.items()})))
                )
            except VenueReject as reject:
                placed.append({"code": reject.error.code(self.config.error_generation), "msg": reject.msg})
        return {"orders": placed}

    async def batch_cancel(self, params: dict[str, str]) -> object:
        symbol = _required(params, "symbol")
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
        end = _int(params, "endTime", self.server_ms())
        start = _int(params, "startTime", end - 7 * 86_400_000)
        if end - start > 7 * 86_400_000:
            raise VenueReject(E.INVALID_PARAM, "the query range is more than seven days")
        limit = _int(params, "limit", 500) or 500
        if limit > 1000:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:limit max 1000")
        after = _int(params, "orderId")
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
        limit = min(_int(params, "limit", 50) or 50, 100)
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
        _required(params, "tradingUnit")
        start, end = int(_required(params, "startTs")), int(_required(params, "endTs"))
        order_id = _int(params, "orderId")
        # documented pitfall: the venue ignores `symbol` here, so this does too
        rows = [
            f
            for f in self.engine.account.fills
            if start <= f.time <= end and (order_id is None or f.order_id == order_id)
        ]
        return {"fill_orders": [W.fill_order_row(f) for f in rows]}

    async def fill_history(self, params: dict[str, str]) -> object:
        symbol = _required(params, "symbol")
        start, end = _int(params, "startTs"), _int(params, "endTs")
        if end is None:
            return {"fill_history_orders": [], "total": 0}  # documented: only startTs -> no data
        start = start if start is not None else end - 7 * 86_400_000
        order_id, last_id = _int(params, "orderId"), _int(params, "lastFillId", 0) or 0
        size = min(_int(params, "pageSize", 50) or 50, 1000)
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
        quantity = _dec(params, "quantity")
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
        mode = _required(params, "cancelReplaceMode")
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
                _required(params, "symbol"), _int(params, "cancelOrderId"), params.get("cancelClientOrderId") or None
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
        position_id = _int(params, "positionId")
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
        kind = _required(params, "type")
        if self._cancel_all_after is not None:
            self._cancel_all_after.cancel()
            self._cancel_all_after = None
        if kind == "CLOSE":
            return {"triggerTime": 0, "status": "CLOSED", "note": "cancelAllAfter closed"}
        if kind != "ACTIVATE":
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:type must be ACTIVATE or CLOSE")
        timeout = _int(params, "timeOut", 0) or 0
        if not 10 <= timeout <= 120:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:timeOut must be 10-120 seconds")
        loop = asyncio.get_running_loop()
        self._cancel_all_after = loop.call_later(timeout, self.engine.cancel_all, None, None)
        return {
            "triggerTime": self.server_ms() // 1000 + timeout,
            "status": "ACTIVATED",
            "note": f"All orders will be cancelled after {timeout} seconds unless refreshed",
        }

    # ------------------------------------------------------------------ account handlers
    async def positions(self, params: dict[str, str]) -> object:
        return [W.position_object(self.engine, p) for p in self.engine.positions(params.get("symbol"))]

    async def balance_v3(self, params: dict[str, str]) -> object:
        return [W.balance_object(self.engine)]

    async def balance_v2(self, params: dict[str, str]) -> object:
        return {"balance": W.balance_object(self.engine)}

    async def commission_rate(self, params: dict[str, str]) -> object:
        spec = next(iter(self.engine.contracts.values())).spec
        return {
            "commission": {"takerCommissionRate": float(spec.taker_fee), "makerCommissionRate": float(spec.maker_fee)}
        }

    async def income(self, params: dict[str, str]) -> object:
        end = _int(params, "endTime", self.server_ms())
        start = _int(params, "startTime", end - 7 * 86_400_000)
        symbol, kind = params.get("symbol"), params.get("incomeType")
        limit = min(_int(params, "limit", 100) or 100, 1000)
        found = [
            i
            for i in self.engine.account.income
            if start <= i.time <= end and (not symbol or i.symbol == symbol) and (not kind or i.income_type == kind)
        ]
        rows = [
            {
                "symbol": i.symbol,
                "incomeType": i.income_type,
                "income": W.dec(i.income, 8),
                "asset": "USDT",
                "info": i.income_type.replace("_", " ").title(),
                "time": str(i.time),
                "tranId": str(i.tran_id),
                "tradeId": i.trade_id,
            }
            for i in found[:limit]
        ]
        # the recorded venue answer carries `code` as the string "0" here (CCXT's fetchFundingHistory data)
        return Raw({"code": "0", "msg": "", "data": rows})

    async def get_leverage(self, params: dict[str, str]) -> object:
        contract = self.engine.contract(_required(params, "symbol"))
        long_side, short_side = ("LONG", "SHORT") if self.engine.account.dual_side else ("BOTH", "BOTH")
        max_lev = contract.spec.max_leverage
        return {
            "longLeverage": self.engine.leverage(contract.symbol, long_side),
            "shortLeverage": self.engine.leverage(contract.symbol, short_side),
            "maxLongLeverage": max_lev,
            "maxShortLeverage": max_lev,
            "availableLongVol": "0",
            "availableShortVol": "0",
            "availableLongVal": "0",
            "availableShortVal": "0",
            "maxPositionLongVal": "0",
            "maxPositionShortVal": "0",
        }

    async def set_leverage(self, params: dict[str, str]) -> object:
        symbol, side = _required(params, "symbol"), _required(params, "side")
        leverage = _int(params, "leverage")
        if leverage is None:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:leverage is required")
        self.engine.set_leverage(symbol, side, leverage)
        return {"leverage": leverage, "symbol": symbol}

    async def get_margin_type(self, params: dict[str, str]) -> object:
        return {"marginType": self.engine.margin_type(self.engine.contract(_required(params, "symbol")).symbol)}

    async def set_margin_type(self, params: dict[str, str]) -> object:
        self.engine.set_margin_type(_required(params, "symbol"), _required(params, "marginType"))
        return Raw({"code": 0, "msg": ""})

    async def get_dual(self, params: dict[str, str]) -> object:
        return {"dualSidePosition": "true" if self.engine.account.dual_side else "false"}

    async def set_dual(self, params: dict[str, str]) -> object:
        dual = _bool(params, "dualSidePosition")
        if dual is None:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:dualSidePosition is required")
        self.engine.set_dual_side(dual)
        return {"dualSidePosition": "true" if dual else "false"}

    # ------------------------------------------------------------------ listen keys
    async def create_listen_key(self, params: dict[str, str]) -> object:
        return Raw({"listenKey": self.listen_keys.create()})

    async def extend_listen_key(self, params: dict[str, str]) -> object:
        if not self.listen_keys.extend(params.get("listenKey", "")):
            return Raw({"code": 100400, "msg": "listenKey not exist or expired"}, status=404)
        return Raw({})

    async def delete_listen_key(self, params: dict[str, str]) -> object:
        key = params.get("listenKey", "")
        if not self.listen_keys.delete(key):
            return Raw({"code": 100400, "msg": "listenKey not exist"}, status=404)
        self.hub.close_user_streams(key)
        return Raw({})


def _wire_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
