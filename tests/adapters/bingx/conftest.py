import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.http import (
    BingXAccountHttpAPI,
    BingXHttpClient,
    BingXMarketHttpAPI,
    BingXTradeHttpAPI,
    BingXUserStreamHttpAPI,
)
from dolphin_nautilus.adapters.bingx.ratelimit import BingXRateLimiter


class Apis:
    def __init__(self, client: BingXHttpClient) -> None:
        self.client = client
        self.market = BingXMarketHttpAPI(client)
        self.account = BingXAccountHttpAPI(client)
        self.trade = BingXTradeHttpAPI(client)
        self.user_stream = BingXUserStreamHttpAPI(client)


@pytest.fixture
def venue_apis(bingx_emulator) -> Callable[..., object]:
    """`async with venue_apis() as apis:` a client bound to the running emulator."""

    @asynccontextmanager
    async def make(**limiter_kw) -> AsyncIterator[Apis]:
        creds = BingXCredentials(bingx_emulator.api_key, bingx_emulator.api_secret)
        client = BingXHttpClient(
            bingx_emulator.rest_url, creds, rate_limiter=BingXRateLimiter(**limiter_kw), timeout_s=5.0
        )
        try:
            yield Apis(client)
        finally:
            await client.close()

    return make


def run(coro: Awaitable[object], timeout_s: float = 20.0) -> object:
    """Run one async test body; a hard timeout so a hung socket fails the test instead of the suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll a condition the other side makes true; fails the test if it never does."""
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.02)
