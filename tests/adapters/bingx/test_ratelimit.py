"""Behavioural: time is a fake clock the limiter reads and a fake sleep that advances it. No wall time."""

import asyncio

import pytest

from dolphin_nautilus.adapters.bingx.errors import BingXRateLimitError, VenueOutcome
from dolphin_nautilus.adapters.bingx.ratelimit import BingXRateLimiter
from dolphin_nautilus.domain.diagnostics import Code

PLACE = ("POST", "/openApi/swap/v2/trade/order")
DUAL = ("GET", "/openApi/swap/v1/positionSide/dual")
DEPTH = ("GET", "/openApi/swap/v2/quote/depth")
EPOCH_MS = 1_700_000_000_000


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return EPOCH_MS + int(self.now * 1000)

    async def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def limiter(t: FakeTime, max_wait_s: float = 0.0, cooldown_ms: int = 5000) -> BingXRateLimiter:
    return BingXRateLimiter(
        max_wait_s=max_wait_s, default_cooldown_ms=cooldown_ms, clock=t.clock, wall_clock_ms=t.wall_ms, sleep=t.sleep
    )


def run(coro):
    return asyncio.run(coro)


def test_sixth_order_in_a_second_is_refused_until_the_window_frees():
    t = FakeTime()
    lim = limiter(t)

    async def go():
        for _ in range(5):
            await lim.acquire(*PLACE, signed=True)
        with pytest.raises(BingXRateLimitError) as exc:
            await lim.acquire(*PLACE, signed=True)
        err = exc.value
        assert not err.sent and err.fault is Code.RATE_LIMITED and err.outcome is VenueOutcome.RETRYABLE
        assert err.retry_after_ms == 1000
        await lim.acquire(*DUAL, signed=True)  # other endpoints have their own UID bucket
        t.now += 1.0
        await lim.acquire(*PLACE, signed=True)  # window freed

    run(go())
    assert lim.refusals == 1


def test_waits_instead_of_refusing_when_the_slot_frees_soon():
    t = FakeTime()
    lim = limiter(t, max_wait_s=2.0)

    async def go():
        for _ in range(2):
            await lim.acquire(*DUAL, signed=True)  # 2/s endpoint
        t.now += 0.25
        await lim.acquire(*DUAL, signed=True)

    run(go())
    assert t.slept == [pytest.approx(0.75)] and lim.waits == 1


def test_cooldown_after_venue_rate_limit_blocks_the_endpoint_only():
    t = FakeTime()
    lim = limiter(t)

    async def go():
        used = lim.cooldown(*PLACE, signed=True)
        assert used == 5000
        with pytest.raises(BingXRateLimitError) as exc:
            await lim.acquire(*PLACE, signed=True)
        assert exc.value.retry_after_ms == 5000
        await lim.acquire("GET", "/openApi/swap/v2/trade/order", signed=True)
        t.now += 5.0
        await lim.acquire(*PLACE, signed=True)

    run(go())


def test_ip_wide_cooldown_blocks_the_whole_group():
    t = FakeTime()
    lim = limiter(t)

    async def go():
        lim.cooldown(*DEPTH, signed=False, retry_after_ms=200, ip_wide=True)
        with pytest.raises(BingXRateLimitError):
            await lim.acquire("GET", "/openApi/swap/v2/quote/contracts", signed=False)
        t.now += 0.2
        await lim.acquire("GET", "/openApi/swap/v2/quote/contracts", signed=False)

    run(go())


@pytest.mark.parametrize(
    ("headers", "blocked_ms"),
    [
        ({"X-RateLimit-Requests-Remain": "0", "X-RateLimit-Requests-Expire": "700"}, 700),
        (
            {"X-RateLimit-Requests-Remain": "0", "X-RateLimit-Requests-Expire": str(EPOCH_MS + 1000 * 1000 + 300)},
            300,
        ),  # epoch ms
        ({"X-RateLimit-Requests-Remain": "0", "Retry-After": "2"}, 2000),
        ({"X-RateLimit-Requests-Remain": "0"}, 5000),
    ],
)
def test_exhausted_remain_header_closes_until_expiry(headers, blocked_ms):
    t = FakeTime()
    lim = limiter(t)

    async def go():
        lim.observe_headers(*PLACE, headers, signed=True)
        with pytest.raises(BingXRateLimitError) as exc:
            await lim.acquire(*PLACE, signed=True)
        assert exc.value.retry_after_ms == blocked_ms
        t.now += blocked_ms / 1000
        await lim.acquire(*PLACE, signed=True)

    run(go())


def test_remaining_budget_header_does_not_block():
    t = FakeTime()
    lim = limiter(t)

    async def go():
        lim.observe_headers(
            *PLACE, {"X-RateLimit-Requests-Remain": "3", "X-RateLimit-Requests-Expire": "900"}, signed=True
        )
        await lim.acquire(*PLACE, signed=True)

    run(go())


def test_market_data_group_limit_500_per_10s():
    t = FakeTime()
    lim = limiter(t)

    async def go():
        for i in range(500):
            await lim.acquire("GET", f"/openApi/swap/v2/quote/{'depth' if i % 2 else 'ticker'}", signed=False)
        with pytest.raises(BingXRateLimitError):
            await lim.acquire(*DEPTH, signed=False)
        t.now += 10.0
        await lim.acquire(*DEPTH, signed=False)

    run(go())
