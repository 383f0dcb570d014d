"""A real TradingNode with our BingX data and exec clients against the loopback emulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.adapters.bingx.common.credentials import API_KEY_ENV, API_SECRET_ENV, BingXCredentials
from dolphin_nautilus.adapters.bingx.config import BingXDataClientConfig, BingXExecClientConfig
from dolphin_nautilus.config import Secrets
from dolphin_nautilus.node.assembly import build_trading_node

BTC = InstrumentId.from_str("BTC-USDT-PERP.BINGX")
ETH = InstrumentId.from_str("ETH-USDT-PERP.BINGX")


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def node_config(
    emulator,
    *,
    instruments=(BTC, ETH),
    trader_id: str = "TESTER-001",
    exec_overrides: dict | None = None,
    reconciliation: bool = True,
    log_level: str = "WARNING",
    timeout_connection: float = 15.0,
) -> TradingNodeConfig:
    provider = InstrumentProviderConfig(load_ids=frozenset(instruments))
    common = dict(
        environment="VST",
        base_url_http=emulator.rest_url,
        base_url_ws=emulator.ws_market_url,
        instrument_provider=provider,
    )
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=LoggingConfig(log_level=log_level, bypass_logging=False),
        exec_engine=LiveExecEngineConfig(reconciliation=reconciliation, reconciliation_startup_delay_secs=0.0),
        data_clients={"BINGX": BingXDataClientConfig(**common)},
        exec_clients={"BINGX": BingXExecClientConfig(**{**common, **(exec_overrides or {})})},
        timeout_connection=timeout_connection,
        timeout_reconciliation=15.0,
        timeout_post_stop=0.2,
        timeout_disconnection=3.0,
    )


@pytest.fixture
def bingx_env(bingx_emulator_factory, monkeypatch):
    """Credentials come from the environment, as in production (here: the emulator's test pair)."""

    def start(**emulator_config):
        emulator = bingx_emulator_factory(**emulator_config)
        monkeypatch.setenv(API_KEY_ENV, emulator.api_key)
        monkeypatch.setenv(API_SECRET_ENV, emulator.api_secret)
        return emulator

    return start


def run_node(
    config: TradingNodeConfig,
    *,
    strategies: list[Strategy] = (),
    actors: list = (),
    scenario: Callable[[TradingNode], Awaitable[object]],
    timeout_s: float = 45.0,
    expect_running: bool = True,
) -> object:
    """Build and start a node, run `scenario(node)` on its loop once the trader runs, then stop it."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Read once here, as the launcher does at its start; the node gets them explicitly.
    secrets = Secrets.from_env()
    credentials = BingXCredentials.from_secrets(secrets.bingx_api_key, secrets.bingx_api_secret)
    node = build_trading_node(config, loop=loop, credentials=credentials, strategies=strategies, actors=actors)

    async def main() -> object:
        runner = asyncio.ensure_future(node.run_async())
        try:
            if expect_running:
                await wait_for(lambda: node.trader.is_running or runner.done(), 20.0, "trader running")
                # Startup failures leave the node up with no trader (docs/reference/nautilus.md §13): fail loudly here.
                assert node.trader.is_running, "trader did not start (connect or reconciliation failed)"
            return await asyncio.wait_for(scenario(node), timeout_s)
        finally:
            await node.stop_async()
            runner.cancel()
            try:
                await runner
            except BaseException:  # noqa: BLE001 - the run task ends with the node
                pass

    try:
        return loop.run_until_complete(main())
    finally:
        node.dispose()
        loop.close()
        asyncio.set_event_loop(None)
