"""Benchmark: signed place-order round trip against the emulator, vs an unsigned server/time baseline.

`python -m dolphin_nautilus.bingx_emulator.bench --orders 500` prints p50/p99 (ms) and their ratio."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import statistics
import time

import aiohttp

from .config import EmulatorConfig, RateLimitConfig
from .runner import EmulatorHandle


def _signed_query(secret: str, params: dict[str, str]) -> str:
    params = {**params, "timestamp": str(int(time.time() * 1000))}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return payload + "&signature=" + hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def _measure(venue: EmulatorHandle, count: int) -> tuple[list[float], list[float]]:
    baseline, orders = [], []
    headers = {"X-BX-APIKEY": venue.api_key}
    async with aiohttp.ClientSession() as session:
        for i in range(count):
            started = time.perf_counter()
            async with session.get(f"{venue.rest_url}/openApi/swap/v2/server/time") as resp:
                await resp.read()
            baseline.append((time.perf_counter() - started) * 1000)
            query = _signed_query(
                venue.api_secret,
                {
                    "symbol": "BTC-USDT",
                    "side": "BUY",
                    "positionSide": "BOTH",
                    "type": "LIMIT",
                    "quantity": "0.001",
                    "price": "30000",
                    "clientOrderId": f"bench-{i}",
                },
            )
            started = time.perf_counter()
            async with session.post(f"{venue.rest_url}/openApi/swap/v2/trade/order?{query}", headers=headers) as resp:
                body = await resp.json()
            orders.append((time.perf_counter() - started) * 1000)
            if body["code"] != 0:
                raise RuntimeError(f"order rejected: {body}")
    return baseline, orders


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args()
    config = EmulatorConfig(initial_balance="100000000", rate_limits=RateLimitConfig(enabled=False))
    with EmulatorHandle(config) as venue:
        baseline, orders = asyncio.run(_measure(venue, args.orders))
    for name, values in (("server/time (baseline)", baseline), ("place LIMIT order", orders)):
        print(f"{name:24s} n={len(values)} p50={_pct(values, 50):.3f} ms p99={_pct(values, 99):.3f} ms")
    print(
        f"ratio order/baseline     p50={_pct(orders, 50) / _pct(baseline, 50):.2f}x "
        f"p99={_pct(orders, 99) / _pct(baseline, 99):.2f}x"
    )


if __name__ == "__main__":
    main()
