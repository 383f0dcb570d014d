"""The aiohttp application: REST dispatch (auth, rate limits, faults, envelope) and the WebSocket endpoint.

The handlers, one module per endpoint family, are mixed into `EmulatorServer`: routes_market.py (public
market data), routes_trading.py (orders, fills, positions closes), routes_account.py (account settings and
listen keys); their parameter parsing is in rest_params.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from . import errors as E
from .auth import collect_params, error_body, verify
from .clock import Clock
from .config import EmulatorConfig
from .engine import Engine
from .errors import VenueReject
from .faults import BusinessReject, DelayedAck, FaultInjector, HttpError, RateLimited
from .listen_keys import ListenKeys
from .ratelimit import RateLimiter
from .rest_params import Raw
from .routes_account import AccountRoutes
from .routes_market import MarketRoutes
from .routes_trading import TradingRoutes
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


class EmulatorServer(MarketRoutes, TradingRoutes, AccountRoutes):
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
