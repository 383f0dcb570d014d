"""Order latency through the BingX exec client in a real TradingNode, against the emulator in a child process.

`python -m dolphin_nautilus.bench.order_latency --orders 500` prints p50/p90/p99 (ms) of
- baseline: a raw signed place-order REST round trip (our BingXHttpClient, no Nautilus),
- submit -> accepted and submit -> filled (Strategy.submit_order to the strategy's event handlers),
and their ratio to the baseline. Targets (DESIGN.md §7): submit -> accepted p50 < 2 ms, p99 < 10 ms.
The emulator runs in its own process so it does not share the GIL with the node; client-side and emulator
rate limiting are off (500 orders would otherwise take minutes at the documented 5-10 orders/s).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import time
from decimal import Decimal

from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LiveRiskEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.adapters.bingx.common.credentials import API_KEY_ENV, API_SECRET_ENV, BingXCredentials
from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderSide, BingXOrderType
from dolphin_nautilus.adapters.bingx.config import BingXDataClientConfig, BingXExecClientConfig
from dolphin_nautilus.adapters.bingx.factories import UnthrottledRateLimiter
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI
from dolphin_nautilus.bingx_emulator import EmulatorConfig, EmulatorHandle, RateLimitConfig
from dolphin_nautilus.node.assembly import build_trading_node

BTC = InstrumentId.from_str("BTC-USDT-PERP.BINGX")
QTY = Decimal("0.001")


def _serve(queue: mp.Queue, stop: mp.Event) -> None:
    config = EmulatorConfig(
        symbols=["BTC-USDT"], rate_limits=RateLimitConfig(enabled=False), initial_balance="100000000"
    )
    with EmulatorHandle(config) as venue:
        queue.put((venue.rest_url, venue.ws_market_url, venue.api_key, venue.api_secret))
        stop.wait()


def percentiles(samples_ms: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98]


async def _baseline(rest: str, creds: BingXCredentials, count: int) -> list[float]:
    client = BingXHttpClient(rest, creds, rate_limiter=UnthrottledRateLimiter())
    trade = BingXTradeHttpAPI(client)
    out = []
    try:
        for i in range(count):
            side = BingXOrderSide.BUY if i % 2 == 0 else BingXOrderSide.SELL
            start = time.perf_counter_ns()
            await trade.place_order(
                symbol="BTC-USDT",
                side=side,
                order_type=BingXOrderType.MARKET,
                quantity=QTY,
                client_order_id=f"base-{i}",
            )
            out.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        await client.close()
    return out


class LatencyStrategy(Strategy):
    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="Latency-001", log_events=False, log_commands=False))
        self.sent: dict[str, int] = {}
        self.accepted: dict[str, int] = {}
        self.filled: dict[str, int] = {}
        self.filled_event = asyncio.Event()  # waiting on an event, not spinning: the venue needs the CPU too

    def submit(self, i: int) -> str:
        coid = f"lat-{i}"
        order = self.order_factory.market(
            BTC,
            OrderSide.BUY if i % 2 == 0 else OrderSide.SELL,
            self.cache.instrument(BTC).make_qty(QTY),
            client_order_id=ClientOrderId(coid),
        )
        self.sent[coid] = time.perf_counter_ns()
        self.submit_order(order)
        return coid

    def on_order_accepted(self, event) -> None:
        self.accepted.setdefault(event.client_order_id.value, time.perf_counter_ns())

    def on_order_filled(self, event) -> None:
        self.filled.setdefault(event.client_order_id.value, time.perf_counter_ns())
        self.filled_event.set()


def _run_node(rest: str, ws: str, count: int) -> LatencyStrategy:
    common = dict(
        environment="VST",
        base_url_http=rest,
        base_url_ws=ws,
        client_rate_limit=False,
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset([BTC])),
    )
    config = TradingNodeConfig(
        trader_id="BENCH-001",
        logging=LoggingConfig(log_level="ERROR"),
        exec_engine=LiveExecEngineConfig(reconciliation=False),
        risk_engine=LiveRiskEngineConfig(max_order_submit_rate="100000/00:00:01"),  # default 100/s would deny
        data_clients={"BINGX": BingXDataClientConfig(**common)},
        exec_clients={"BINGX": BingXExecClientConfig(**common)},
        timeout_post_stop=0.1,
        timeout_disconnection=2.0,
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    strategy = LatencyStrategy()
    node = build_trading_node(config, loop=loop, strategies=[strategy])

    async def main() -> None:
        runner = asyncio.ensure_future(node.run_async())
        try:
            deadline = time.monotonic() + 30
            while not node.trader.is_running:
                if time.monotonic() > deadline or runner.done():
                    raise SystemExit("trader did not start (connect or reconciliation failed)")
                await asyncio.sleep(0.05)
            for i in range(count):
                strategy.filled_event.clear()
                coid = strategy.submit(i)
                while coid not in strategy.filled:
                    try:
                        await asyncio.wait_for(strategy.filled_event.wait(), 5.0)
                    except TimeoutError:
                        client = next(iter(node.kernel.exec_engine._clients.values()))  # noqa: SLF001
                        raise SystemExit(
                            f"{coid} not filled within 5 s (accepted: {coid in strategy.accepted}, "
                            f"user stream {client.user_stream.stats})"
                        ) from None
        finally:
            await node.stop_async()
            runner.cancel()

    try:
        loop.run_until_complete(main())
    finally:
        node.dispose()
        loop.close()
    return strategy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(queue, stop), daemon=True)
    server.start()
    try:
        rest, ws, key, secret = queue.get(timeout=30)
        os.environ.setdefault(API_KEY_ENV, key)
        os.environ.setdefault(API_SECRET_ENV, secret)
        baseline = asyncio.run(_baseline(rest, BingXCredentials(key, secret), args.orders))
        strategy = _run_node(rest, ws, args.orders)
    finally:
        stop.set()
        server.join(timeout=10)
    to_ms = lambda end: [(end[c] - strategy.sent[c]) / 1e6 for c in strategy.sent if c in end]  # noqa: E731
    rows = [
        ("baseline: signed place-order REST round trip", baseline),
        ("node: submit -> accepted", to_ms(strategy.accepted)),
        ("node: submit -> filled", to_ms(strategy.filled)),
    ]
    base_p50 = percentiles(baseline)[0]
    print(f"order latency, {args.orders} MARKET orders, emulator in a child process (ms)")
    print(f"{'':48} {'p50':>8} {'p90':>8} {'p99':>8} {'p50/base':>9}")
    for name, samples in rows:
        p50, p90, p99 = percentiles(samples)
        print(f"{name:48} {p50:8.3f} {p90:8.3f} {p99:8.3f} {p50 / base_p50:9.2f}")
    p50, _, p99 = percentiles(rows[1][1])
    print(
        f"target submit -> accepted p50 < 2 ms: {'met' if p50 < 2 else 'MISSED'}; "
        f"p99 < 10 ms: {'met' if p99 < 10 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
