"""Run the emulator on its own event loop in a background thread; the handle tests and tools use."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from .clock import Clock, ManualClock
from .config import EmulatorConfig
from .engine import Engine
from .faults import FaultInjector
from .model import Account
from .server import WS_PATH, EmulatorServer

T = TypeVar("T")


class EmulatorHandle:
    """A running emulator on 127.0.0.1. State (orders, positions, balance) survives stop()/restart().
    Pass a `ManualClock` to drive venue time (funding, liquidation checks) from a test."""

    def __init__(
        self, config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.faults = FaultInjector()
        self.server = EmulatorServer(self.config, self.faults, clock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bingx-emulator", daemon=True)
        self._runner: web.AppRunner | None = None
        self._thread.start()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> EmulatorHandle:
        self._submit(self._start())
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.server.make_app(), shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]  # keep the same port across restart()

    def stop(self) -> None:
        """Stop serving (connections are closed); the venue state is kept for restart()."""
        if self._runner is not None:
            self._submit(self._runner.cleanup())
            self._runner = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> EmulatorHandle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ addresses
    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_market_url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def ws_user_url_base(self) -> str:
        """The user stream is the market URL plus `?listenKey=<key>` (docs/reference/bingx_api.md §9.3)."""
        return self.ws_market_url

    def ws_user_url(self, listen_key: str) -> str:
        return f"{self.ws_user_url_base}?listenKey={listen_key}"

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def api_secret(self) -> str:
        return self.config.api_secret

    # ------------------------------------------------------------------ control
    def call(self, fn: Callable[[Engine], T]) -> T:
        """Run fn(engine) on the emulator loop (the engine is single-threaded) and return its result."""

        async def run() -> T:
            return fn(self.server.engine)

        return self._submit(run())

    def set_price(
        self, symbol: str, price: float | str | Decimal, qty: float | str | None = None, at_ms: int | None = None
    ) -> None:
        """Feed a new last/mark price: prints a public trade (stamped `at_ms`, default the venue's now)
        and fills/triggers crossed orders."""
        quantity = Decimal(str(qty)) if qty is not None else None
        self.call(lambda engine: engine.set_price(symbol, Decimal(str(price)), quantity, at_ms))

    @property
    def state(self) -> Account:
        """A consistent deep copy of the account: balance, orders, positions, fills, income, modes."""
        return self.call(lambda engine: copy.deepcopy(engine.account))

    def price(self, symbol: str) -> Decimal:
        return self.call(lambda engine: engine.contract(symbol).price)

    @property
    def clock(self) -> Clock:
        return self.server.engine.clock

    def set_clock_offset_ms(self, offset_ms: int) -> None:
        self.config.clock_offset_ms = offset_ms
        self.server.engine.clock.offset_ms = offset_ms

    def advance_clock(self, ms: int) -> None:
        """Move a ManualClock forward and let the venue act on it (funding, liquidation) at once."""
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance_clock needs EmulatorHandle(clock=ManualClock(...))")
        clock.advance(ms)
        self.call(lambda engine: engine.on_time())

    def expire_listen_keys(self) -> None:
        """Make every listenKey expire now (the stream then pushes listenKeyExpired)."""
        self.call(lambda engine: self.server.listen_keys.expire_all())

    @property
    def rate_limiter(self) -> Any:
        return self.server.rate_limiter

    def _submit(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)
