"""Order latency through the BingX exec client in a real TradingNode, against the emulator in a child process.

`python -m dolphin_nautilus.bench.order_latency [--orders 500] [--json]` prints p50/p90/p99 (ms) of
- bare: a signed place-order POST with a plain aiohttp session (sign, send, read, parse the JSON), no our code;
- REST: the same order through our BingXHttpClient / BingXTradeHttpAPI (sign, send, check, decode);
- node: submit -> accepted and submit -> filled (Strategy.submit_order to the strategy's event handlers),
and the ratios. Targets (issue 16): REST p50 <= 1.05 x bare p50; submit -> accepted p50 <= 1.3 x the REST
p50 and p99 <= 1.6 x the REST p99. Bare and REST alternate order by order so machine noise hits both alike, and
their samples bracket the node's (half before it, half after), so drift over the run hits the ratio's two sides.
The emulator runs in its own process so it does not share the GIL with the node; client-side and emulator
rate limiting are off (500 orders would otherwise take minutes at the documented 5-10 orders/s).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from decimal import Decimal
from multiprocessing.synchronize import Event as EventType

import aiohttp
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

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderSide, BingXOrderType
from dolphin_nautilus.adapters.bingx.config import BingXDataClientConfig, BingXExecClientConfig
from dolphin_nautilus.adapters.bingx.factories import UnthrottledRateLimiter
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI
from dolphin_nautilus.bench.verdicts import Check, at_most, print_checks, reported
from dolphin_nautilus.bingx_emulator import EmulatorConfig, EmulatorHandle, RateLimitConfig
from dolphin_nautilus.node.assembly import build_trading_node

BTC = InstrumentId.from_str("BTC-USDT-PERP.BINGX")
QTY = Decimal("0.001")


def _serve(queue: mp.Queue, stop: EventType) -> None:
    config = EmulatorConfig(
        symbols=["BTC-USDT"], rate_limits=RateLimitConfig(enabled=False), initial_balance="100000000"
    )
    with EmulatorHandle(config) as venue:
        queue.put((venue.rest_url, venue.ws_market_url, venue.api_key, venue.api_secret))
        stop.wait()


def percentiles(samples_ms: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98]


ORDER_PATH = "/openApi/swap/v2/trade/order"
WARM_UP = 20  # orders per variant before measuring


CPU_MS: dict[str, list[float]] = {"bare": [], "rest": []}  # this thread's CPU per order: robust to machine load


async def _bare_order(session: aiohttp.ClientSession, rest: str, key: str, secret: bytes, i: int) -> float:
    """The least a signed place-order can do: sorted params, HMAC, POST, read, parse. Milliseconds."""
    cpu = time.thread_time_ns()
    start = time.perf_counter_ns()
    params = {
        "symbol": "BTC-USDT",
        "side": "BUY" if i % 2 == 0 else "SELL",
        "type": "MARKET",
        "positionSide": "BOTH",
        "quantity": str(QTY),
        "clientOrderId": f"bare-{i}",
        "timestamp": time.time_ns() // 1_000_000,
        "recvWindow": 5000,
    }
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    signature = hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()
    async with session.post(f"{rest}{ORDER_PATH}?{query}&signature={signature}", headers={"X-BX-APIKEY": key}) as resp:
        body = await resp.read()
    if json.loads(body)["code"] != 0:
        raise SystemExit(f"bare order {i} refused: {body[:200]!r}")
    elapsed = (time.perf_counter_ns() - start) / 1e6
    CPU_MS["bare"].append((time.thread_time_ns() - cpu) / 1e6)
    return elapsed


async def _our_order(trade: BingXTradeHttpAPI, i: int) -> float:
    """The same order through our client (sign, send, check, decode). Milliseconds."""
    cpu = time.thread_time_ns()
    start = time.perf_counter_ns()
    await trade.place_order(
        symbol="BTC-USDT",
        side=BingXOrderSide.BUY if i % 2 == 0 else BingXOrderSide.SELL,
        order_type=BingXOrderType.MARKET,
        quantity=QTY,
        client_order_id=f"base-{i}",
    )
    elapsed = (time.perf_counter_ns() - start) / 1e6
    CPU_MS["rest"].append((time.thread_time_ns() - cpu) / 1e6)
    return elapsed


async def _round_trips(
    rest: str, key: str, secret: str, count: int, first: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    """(bare, REST) milliseconds per order, interleaved sample by sample (which goes first alternates per
    pair), so load drift on the shared machine hits both alike; then the CPU of each. Orders are numbered from
    `first` and warm-ups from -1 - `first` down, so two calls never reuse a client order id."""
    client = BingXHttpClient(rest, BingXCredentials(key, secret), rate_limiter=UnthrottledRateLimiter())
    trade = BingXTradeHttpAPI(client)
    secret_bytes = secret.encode()
    bare, ours = [], []
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(WARM_UP):  # warm both connections and code paths
                await _bare_order(session, rest, key, secret_bytes, -1 - first - i)
                await _our_order(trade, -1 - first - i)
            cpu_from = {variant: len(cpu) for variant, cpu in CPU_MS.items()}
            for i in range(first, first + count):
                if i % 2 == 0:
                    bare.append(await _bare_order(session, rest, key, secret_bytes, i))
                    ours.append(await _our_order(trade, i))
                else:
                    ours.append(await _our_order(trade, i))
                    bare.append(await _bare_order(session, rest, key, secret_bytes, i))
    finally:
        await client.close()
    return bare, ours, CPU_MS["bare"][cpu_from["bare"] :], CPU_MS["rest"][cpu_from["rest"] :]


class LatencyStrategy(Strategy):
    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="Latency-001", log_events=False, log_commands=False))
        self.sent: dict[str, int] = {}
        self.accepted: dict[str, int] = {}
        self.filled: dict[str, int] = {}
        self.filled_event = asyncio.Event()  # waiting on an event, not spinning: the venue needs the CPU too
        self.cpu_ms = 0.0  # the node thread's CPU over all orders (submit to filled, everything the node did)

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


def _run_node(rest: str, ws: str, credentials: BingXCredentials, count: int) -> LatencyStrategy:
    provider = InstrumentProviderConfig(load_ids=frozenset([BTC]))
    data = BingXDataClientConfig(
        environment="VST", base_url_http=rest, base_url_ws=ws, client_rate_limit=False, instrument_provider=provider
    )
    execution = BingXExecClientConfig(
        environment="VST", base_url_http=rest, base_url_ws=ws, client_rate_limit=False, instrument_provider=provider
    )
    config = TradingNodeConfig(
        trader_id="BENCH-001",
        logging=LoggingConfig(log_level="ERROR"),
        exec_engine=LiveExecEngineConfig(reconciliation=False),
        risk_engine=LiveRiskEngineConfig(max_order_submit_rate="100000/00:00:01"),  # default 100/s would deny
        data_clients={"BINGX": data},
        exec_clients={"BINGX": execution},
        timeout_post_stop=0.1,
        timeout_disconnection=2.0,
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    strategy = LatencyStrategy()
    node = build_trading_node(config, loop=loop, credentials=credentials, strategies=[strategy])

    async def main() -> None:
        runner = asyncio.ensure_future(node.run_async())
        try:
            deadline = time.monotonic() + 30
            while not node.trader.is_running:
                if time.monotonic() > deadline or runner.done():
                    raise SystemExit("trader did not start (connect or reconciliation failed)")
                await asyncio.sleep(0.05)
            cpu = time.thread_time_ns()
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
            strategy.cpu_ms = (time.thread_time_ns() - cpu) / 1e6
        finally:
            await node.stop_async()
            runner.cancel()

    try:
        loop.run_until_complete(main())
    finally:
        node.dispose()
        loop.close()
    return strategy


def measure(orders: int) -> dict[str, list[float]]:
    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(queue, stop), daemon=True)
    server.start()
    try:
        rest, ws, key, secret = queue.get(timeout=30)
        load_before = os.getloadavg()[0]
        # The round trips bracket the node, half before and half after it: the machine's drift over the run
        # (minutes) then weighs on the REST baseline as it does on the node, not on one side of the ratio only.
        half = orders // 2
        before = asyncio.run(_round_trips(rest, key, secret, half, 0))
        strategy = _run_node(rest, ws, BingXCredentials(key, secret), orders)
        after = asyncio.run(_round_trips(rest, key, secret, orders - half, half + WARM_UP))
    finally:
        stop.set()
        server.join(timeout=10)
    to_ms = lambda end: [(end[c] - strategy.sent[c]) / 1e6 for c in strategy.sent if c in end]  # noqa: E731
    return {
        "bare": before[0] + after[0],
        "rest": before[1] + after[1],
        "accepted": to_ms(strategy.accepted),
        "filled": to_ms(strategy.filled),
        "load": [load_before, os.getloadavg()[0]],  # 1-minute load average before and after
        "cpu_bare": before[2] + after[2],
        "cpu_rest": before[3] + after[3],
        "cpu_node": [strategy.cpu_ms / max(1, len(strategy.filled))],
    }


VARIANTS = (
    ("bare", "bare: signed aiohttp POST, place order"),
    ("rest", "REST: our client, place order"),
    ("accepted", "node: submit -> accepted"),
    ("filled", "node: submit -> filled"),
)


def checks(samples: dict[str, list[float]]) -> list[Check]:
    """The three targets of issue 16, then each variant's p50/p99 (ms) and the load average, reported."""
    bare, rest, accepted = (percentiles(samples[k]) for k in ("bare", "rest", "accepted"))
    found = [
        at_most("orders", "REST round trip / bare signed aiohttp POST (p50)", rest[0] / bare[0], 1.05),
        at_most("orders", "node submit->accepted / REST round trip (p50)", accepted[0] / rest[0], 1.3),
        at_most("orders", "node submit->accepted / REST round trip (p99)", accepted[2] / rest[2], 1.6),
    ]
    for key, _ in VARIANTS:
        p50, _, p99 = percentiles(samples[key])
        found += [reported("orders", f"{key} p50 (ms)", p50), reported("orders", f"{key} p99 (ms)", p99)]
    cpu_bare, cpu_rest = statistics.median(samples["cpu_bare"]), statistics.median(samples["cpu_rest"])
    found.append(reported("orders", "client CPU per order, bare (ms, median)", cpu_bare))
    found.append(reported("orders", "client CPU per order, REST (ms, median)", cpu_rest))
    found.append(reported("orders", "client CPU per order, REST / bare", cpu_rest / cpu_bare))
    node_cpu = samples["cpu_node"][0]
    found.append(reported("orders", "node CPU per order, submit to filled, all work (ms, mean)", node_cpu))
    before, after = samples["load"]
    found.append(reported("orders", "load average 1 min, before", before))
    found.append(reported("orders", "load average 1 min, after", after))
    return found


def render(samples: dict[str, list[float]], orders: int) -> str:
    base = percentiles(samples["rest"])[0]
    lines = [
        f"order latency, {orders} MARKET orders each, emulator in a child process (ms); "
        f"load average {samples['load'][0]:.2f} -> {samples['load'][1]:.2f}",
        f"{'':44} {'p50':>8} {'p90':>8} {'p99':>8} {'p50/REST':>9}",
    ]
    for key, name in VARIANTS:
        p50, p90, p99 = percentiles(samples[key])
        lines.append(f"{name:44} {p50:8.3f} {p90:8.3f} {p99:8.3f} {p50 / base:9.2f}")
    lines.append(
        "CPU of this process per order (ms; wall time on a loaded machine follows it): "
        f"bare {statistics.median(samples['cpu_bare']):.3f}, REST {statistics.median(samples['cpu_rest']):.3f}, "
        f"node {samples['cpu_node'][0]:.3f} (submit to filled, all its work)"
    )
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(
        prog="python -m dolphin_nautilus.bench.order_latency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="the checks as JSON on stdout (tables to stderr)")
    args = parser.parse_args(argv)
    samples = measure(args.orders)
    found = checks(samples)
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout carries only the JSON
    print(render(samples, args.orders), file=out)
    print_checks(found, as_json=args.json, out=out)
    return found


def main(argv: list[str] | None = None) -> None:
    run(argv)


if __name__ == "__main__":
    main()
