"""The back-fill actor in a real TradingNode against the emulator, with real stores (chDB in the store
service): a killed previous life left an open position (its entry fill never journaled) and a resting
reduce-only limit exit at the venue. On start the node back-fills the entry under its original trade id before
anything else runs, re-reads the venue after reconciliation, cancels the previous life's working exit, and a
later round adds nothing."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from dolphin_nautilus.actors.backfill import BackfillActor, BackfillActorConfig
from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderSide, BingXOrderType
from dolphin_nautilus.adapters.bingx.history import fetch_venue_history
from dolphin_nautilus.adapters.bingx.http import BingXHttpClient, BingXMarketHttpAPI, BingXTradeHttpAPI
from dolphin_nautilus.domain.identifiers import client_order_id_for, coid_token, start_epoch, trade_id_for
from dolphin_nautilus.journal.backfill_reads import lost_facts
from dolphin_nautilus.journal.settings import JournalConfig, StoreConfig
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources
from dolphin_nautilus.stores.spec import LocalStateSpec, StoresSpec
from dolphin_nautilus.stores.wiring import open_stores

from .conftest import BTC, node_config, run_node, wait_for

NS = "bfnode"
PREFIX = "dbfnode"
SYMBOL = "BTC-USDT"


@pytest.fixture
def stores(tmp_path: Path):
    spec = StoresSpec(
        namespace=NS,
        state_dir=str(tmp_path),
        clickhouse=StoreConfig(namespace=NS, backend="chdb", chdb_path=str(tmp_path / "clickhouse")),
        journal=JournalConfig(spool_dir=str(tmp_path / "spool")),
        live_state=LocalStateSpec(path=str(tmp_path / "live_state")),
    )
    opened = open_stores(spec, node_id="backfill-node-test", mode="process")
    register_resources(NS, NodeResources(stores=opened))
    yield opened
    unregister_resources(NS)
    opened.close()


def previous_life(emulator, trade_id: str, epoch: int):
    """What the killed life did at the venue: a filled entry and a resting reduce-only limit exit."""

    async def body():
        client = BingXHttpClient(emulator.rest_url, BingXCredentials(emulator.api_key, emulator.api_secret))
        trade = BingXTradeHttpAPI(client)
        try:
            await trade.place_order(
                symbol=SYMBOL,
                side=BingXOrderSide.BUY,
                order_type=BingXOrderType.MARKET,
                quantity=Decimal("0.010"),
                client_order_id=client_order_id_for(PREFIX, coid_token(trade_id), "e", epoch, 1),
            )
            last = (await BingXMarketHttpAPI(client).ticker(SYMBOL)).last_price
            await trade.place_order(
                symbol=SYMBOL,
                side=BingXOrderSide.SELL,
                order_type=BingXOrderType.LIMIT,
                quantity=Decimal("0.010"),
                price=(Decimal(last) * 2).quantize(Decimal("0.1")),
                reduce_only=True,
                client_order_id=client_order_id_for(PREFIX, coid_token(trade_id), "x", epoch, 2),
            )
        finally:
            await client.close()

    asyncio.run(body())


async def venue_view(emulator):
    client = BingXHttpClient(emulator.rest_url, BingXCredentials(emulator.api_key, emulator.api_secret))
    trade = BingXTradeHttpAPI(client)
    try:
        now = await BingXMarketHttpAPI(client).server_time_ms()
        return await trade.open_orders(SYMBOL), await fetch_venue_history(trade, [BTC.value], now - 3_600_000, now)
    finally:
        await client.close()


def cancel_back_filled(actor: BackfillActor, client_order_id: str) -> bool:
    return any(
        getattr(fact, "event", None) == "CANCELED" and getattr(fact, "client_order_id", None) == client_order_id
        for plan in actor.plans
        for fact in plan.facts
    )


@pytest.mark.slow
def test_restart_back_fills_the_lost_entry_and_cancels_the_previous_lifes_working_exit(bingx_env, stores):
    emulator = bingx_env()
    trade_id = trade_id_for(NS, BTC.value, 7, 1)
    old_epoch = start_epoch(time.time_ns() - 3600 * 1_000_000_000)  # a life an hour ago
    previous_life(emulator, trade_id, old_epoch)
    exit_coid = client_order_id_for(PREFIX, coid_token(trade_id), "x", old_epoch, 2)
    actor = BackfillActor(
        BackfillActorConfig(
            component_id="Backfill",
            namespace=NS,
            client_order_prefix=PREFIX,
            instrument_ids=[BTC.value],
            interval_s=2.0,
            settle_s=0.0,
        )
    )

    async def scenario(node):
        # the start-up round ran in on_start, before any later actor (restore) would
        assert actor.plans and actor.plans[0].missing_fills, actor.errors
        [opened] = stores.clickhouse.open_position_states()
        assert opened["trade_id"] == trade_id and opened["quantity"] == Decimal("0.01")
        await wait_for(lambda: bool(actor.canceled), 15.0, "the previous life's working exit cancelled")
        # The round that reads the venue after the cancel back-fills its CANCELED event: the reply's own round,
        # or the next timer's when a round was still running. Only the round after that must find nothing.
        await wait_for(lambda: cancel_back_filled(actor, exit_coid), 15.0, "the cancel back-filled")
        rounds = len(actor.plans)
        await wait_for(lambda: len(actor.plans) >= rounds + 1, 15.0, "a later back-fill round")
        assert actor.plans[-1].facts == [] and not actor.errors, actor.errors
        open_orders, history = await venue_view(emulator)
        assert open_orders == [] and actor.canceled == [exit_coid]
        return history

    history = run_node(node_config(emulator, instruments=(BTC,)), actors=[actor], scenario=scenario)
    assert lost_facts(stores.clickhouse, NS, history, PREFIX).ok
