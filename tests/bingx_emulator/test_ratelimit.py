"""Per-UID endpoint limits, headers, HTTP 429 and both generations of the rate-limit code."""

from __future__ import annotations

import time

import pytest

from dolphin_nautilus.bingx_emulator import RateLimitConfig

from .venue import Venue, run

OPEN_ORDERS = "/openApi/swap/v2/trade/openOrders"


async def burst(venue: Venue, count: int, path: str = OPEN_ORDERS):
    return [await venue.signed("GET", path) for _ in range(count)]


@pytest.mark.parametrize(("generation", "status", "code"), [("new", 429, 109429), ("old", 200, 100410)])
def test_uid_limit_of_5_per_second_answers_with_configured_status_and_code(
    bingx_emulator_factory, generation, status, code
):
    venue = bingx_emulator_factory(
        error_generation=generation, rate_limits=RateLimitConfig(penalty_s=0.5, http_status=status)
    )
    replies = run(venue, lambda v: burst(v, 6))
    assert [r.code for r in replies[:5]] == [0] * 5
    assert [int(r.headers["X-RateLimit-Requests-Remain"]) for r in replies[:5]] == [4, 3, 2, 1, 0]
    assert all(0 <= int(r.headers["X-RateLimit-Requests-Expire"]) <= 1000 for r in replies[:5])
    limited = replies[5]
    assert limited.status == status and limited.code == code
    assert limited.headers["X-RateLimit-Requests-Remain"] == "0"


def test_restriction_lasts_the_penalty_and_then_lifts(bingx_emulator_factory):
    venue = bingx_emulator_factory(rate_limits=RateLimitConfig(penalty_s=1.5))

    async def scenario(v: Venue):
        await burst(v, 6)
        time.sleep(1.1)  # the 1 s window has rolled, the restriction has not
        still = await v.signed("GET", OPEN_ORDERS)
        time.sleep(0.6)
        lifted = await v.signed("GET", OPEN_ORDERS)
        return still, lifted

    still, lifted = run(venue, scenario)
    assert still.code == 109429 and lifted.code == 0


def test_limits_are_per_endpoint(bingx_emulator_factory):
    venue = bingx_emulator_factory(rate_limits=RateLimitConfig(penalty_s=5))

    async def scenario(v: Venue):
        await burst(v, 6)
        return await v.signed("GET", "/openApi/swap/v2/user/positions")

    assert run(venue, scenario).code == 0


def test_place_order_allows_10_per_second(bingx_emulator_factory):
    venue = bingx_emulator_factory(rate_limits=RateLimitConfig(penalty_s=5))

    async def scenario(v: Venue):
        return [
            await v.order(
                symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="LIMIT", quantity="0.001", price="30000"
            )
            for _ in range(11)
        ]

    codes = [r.code for r in run(venue, scenario)]
    assert codes == [0] * 10 + [109429]
    assert len(venue.state.orders) == 10


def test_public_market_data_is_limited_by_ip_group(bingx_emulator_factory):
    venue = bingx_emulator_factory(rate_limits=RateLimitConfig(ip_group1_per_10s=3, penalty_s=5))

    async def scenario(v: Venue):
        return [await v.public("/openApi/swap/v2/quote/ticker", symbol="BTC-USDT") for _ in range(4)]

    assert [r.status for r in run(venue, scenario)] == [200, 200, 200, 429]
