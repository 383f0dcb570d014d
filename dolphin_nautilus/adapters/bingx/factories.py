"""Factories for a `TradingNode`, bound to the credentials the process read once at start (one secrets path):

    data_factory, exec_factory = bingx_client_factories(credentials)
    node.add_data_client_factory("BINGX", data_factory)
    node.add_exec_client_factory("BINGX", exec_factory)

The data and exec clients of one node share one HTTP client (one rate limiter: BingX counts per key and IP)
and one instrument provider per (event loop, environment, REST URL, API key), like Binance's get_cached_*
helpers. Keyed by loop too: an aiohttp session belongs to the loop that made it, and a second node in the
same process has its own loop. Nothing here reads the environment: an unbound factory refuses to build.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials, MissingCredentialsError
from dolphin_nautilus.adapters.bingx.config import BingXDataClientConfig, BingXExecClientConfig
from dolphin_nautilus.adapters.bingx.data import BingXDataClient
from dolphin_nautilus.adapters.bingx.execution import BingXExecutionClient
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.providers import BingXInstrumentProvider
from dolphin_nautilus.adapters.bingx.ratelimit import BingXRateLimiter

_HTTP_CLIENTS: dict[tuple, BingXHttpClient] = {}
_PROVIDERS: dict[tuple, BingXInstrumentProvider] = {}
_USERS: dict[int, int] = {}  # id(http client) -> clients using it


class UnthrottledRateLimiter(BingXRateLimiter):
    """No client-side throttling (venue feedback still closes endpoints). Only for an emulator/benchmark."""

    async def acquire(self, method: str, path: str, *, signed: bool, operation=None) -> None:
        return None


def get_cached_bingx_http_client(
    loop: asyncio.AbstractEventLoop,
    config: BingXDataClientConfig | BingXExecClientConfig,
    credentials: BingXCredentials,
) -> BingXHttpClient:
    creds = credentials
    rest = config.urls().rest
    key = (id(loop), config.environment, rest, creds.api_key)
    client = _HTTP_CLIENTS.get(key)
    if client is None:
        limiter = BingXRateLimiter() if config.client_rate_limit else UnthrottledRateLimiter()
        client = _HTTP_CLIENTS[key] = BingXHttpClient(
            rest,
            creds,
            rate_limiter=limiter,
            recv_window_ms=config.recv_window_ms,
            timeout_s=config.http_timeout_s,
            time_sync_interval_s=config.time_sync_interval_s,
        )
    return client


def get_cached_bingx_instrument_provider(
    client: BingXHttpClient,
    config: InstrumentProviderConfig,
) -> BingXInstrumentProvider:
    key = (id(client), config)
    provider = _PROVIDERS.get(key)
    if provider is None:
        provider = _PROVIDERS[key] = BingXInstrumentProvider(client, config)
    return provider


def _shared(client: BingXHttpClient) -> Callable[[], Awaitable[None]]:
    """Count one more user of `client`; the returned release closes it when the last user disconnects."""
    _USERS[id(client)] = _USERS.get(id(client), 0) + 1
    released = False

    async def release() -> None:
        nonlocal released
        if released:
            return
        released = True
        _USERS[id(client)] -= 1
        if _USERS[id(client)] == 0:
            del _USERS[id(client)]
            for key in [k for k, v in _HTTP_CLIENTS.items() if v is client]:
                del _HTTP_CLIENTS[key]
            for key in [k for k in _PROVIDERS if k[0] == id(client)]:
                del _PROVIDERS[key]
            await client.close()

    return release


def _bound(credentials: BingXCredentials | None) -> BingXCredentials:
    if credentials is None:
        raise MissingCredentialsError(
            "BingX client factory without credentials: register the factories of bingx_client_factories(credentials)"
        )
    return credentials


class BingXLiveDataClientFactory(LiveDataClientFactory):
    credentials: BingXCredentials | None = None  # bound by bingx_client_factories

    @classmethod
    def create(  # type: ignore[override]
        cls,
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BingXDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> BingXDataClient:
        client = get_cached_bingx_http_client(loop, config, _bound(cls.credentials))
        provider = get_cached_bingx_instrument_provider(client, config.instrument_provider)
        return BingXDataClient(
            loop, client, msgbus, cache, clock, provider, config, name=name, on_disconnect=_shared(client)
        )


class BingXLiveExecClientFactory(LiveExecClientFactory):
    credentials: BingXCredentials | None = None  # bound by bingx_client_factories

    @classmethod
    def create(  # type: ignore[override]
        cls,
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BingXExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> BingXExecutionClient:
        client = get_cached_bingx_http_client(loop, config, _bound(cls.credentials))
        provider = get_cached_bingx_instrument_provider(client, config.instrument_provider)
        return BingXExecutionClient(
            loop, client, msgbus, cache, clock, provider, config, name=name, on_disconnect=_shared(client)
        )


def bingx_client_factories(
    credentials: BingXCredentials,
) -> tuple[type[BingXLiveDataClientFactory], type[BingXLiveExecClientFactory]]:
    """The data and exec client factories of one node, bound to `credentials` (read once at start)."""
    data = type("BoundBingXDataClientFactory", (BingXLiveDataClientFactory,), {"credentials": credentials})
    execution = type("BoundBingXExecClientFactory", (BingXLiveExecClientFactory,), {"credentials": credentials})
    return data, execution
