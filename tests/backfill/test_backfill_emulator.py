"""Back-fill against the BingX emulator with real stores (chDB in the store service, through open_stores).

Orders are placed at the venue with our client order ids and the journal never sees them (the kill), or sees
only part of them; the back-fill writes every missing fact once, with the row id the live write has, and a
second back-fill adds nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderSide, BingXOrderType
from dolphin_nautilus.adapters.bingx.history import fetch_venue_history
from dolphin_nautilus.adapters.bingx.http import BingXHttpClient, BingXMarketHttpAPI, BingXTradeHttpAPI
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id
from dolphin_nautilus.domain.facts import FillFact, PositionState, TradeEntry
from dolphin_nautilus.domain.identifiers import client_order_id_for, coid_token, start_epoch, trade_id_for
from dolphin_nautilus.journal.backfill import run_backfill
from dolphin_nautilus.journal.backfill_plan import LIVE_ORIGIN, NS_PER_MS, StoredFacts, live_decimal, plan_backfill
from dolphin_nautilus.journal.backfill_reads import lost_facts
from dolphin_nautilus.journal.settings import JournalConfig, StoreConfig
from dolphin_nautilus.journal.venue_history import Precision, VenueHistory
from dolphin_nautilus.stores.spec import LocalStateSpec, StoresSpec
from dolphin_nautilus.stores.wiring import open_stores

NS = "bfill"
PREFIX = "dbfill"
BTC = "BTC-USDT"
BTC_ID = to_instrument_id(BTC)
EPOCH = start_epoch(1_764_000_000 * 1_000_000_000)
NOTHING_STORED = StoredFacts(fill_ids=set(), order_events={}, trades={}, known_trade_ids=[])


def coid(trade_id: str, letter: str, seq: int, epoch: int = EPOCH) -> str:
    return client_order_id_for(PREFIX, coid_token(trade_id), letter, epoch, seq)


@pytest.fixture
def stores(tmp_path: Path):
    spec = StoresSpec(
        namespace=NS,
        state_dir=str(tmp_path),
        clickhouse=StoreConfig(namespace=NS, backend="chdb", chdb_path=str(tmp_path / "clickhouse")),
        journal=JournalConfig(spool_dir=str(tmp_path / "spool")),
        live_state=LocalStateSpec(path=str(tmp_path / "live_state")),
    )
    opened = open_stores(spec, node_id="backfill-test", mode="process")
    yield opened
    opened.close()


class Venue:
    """Our orders at the emulator, and its history."""

    def __init__(self, emulator) -> None:
        self.client = BingXHttpClient(emulator.rest_url, BingXCredentials(emulator.api_key, emulator.api_secret))
        self.trade = BingXTradeHttpAPI(self.client)
        self.market = BingXMarketHttpAPI(self.client)

    async def market_order(self, side: str, qty: str, client_order_id: str, reduce_only: bool = False) -> None:
        await self.trade.place_order(
            symbol=BTC,
            side=BingXOrderSide(side),
            order_type=BingXOrderType.MARKET,
            quantity=D(qty),
            reduce_only=reduce_only,
            client_order_id=client_order_id,
        )

    async def history(self) -> VenueHistory:
        now = await self.market.server_time_ms()
        return await fetch_venue_history(self.trade, [BTC_ID], now - 3_600_000, now + 1_000)

    async def precisions(self) -> dict[str, Precision]:
        [contract] = await self.market.contracts(BTC)
        return {BTC_ID: Precision(contract.price_precision, contract.quantity_precision)}


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def rows(stores, sql: str) -> list[dict]:
    result = stores.clickhouse.query(sql.replace("{db}", f"`dolphin_{NS}`"))
    return [dict(zip(result.column_names, r, strict=True)) for r in result.result_rows]


def trade_round(venue: Venue, trade_id: str, qty: str, exits: list[str], foreign: bool = True):
    async def body():
        await venue.market_order("BUY", qty, coid(trade_id, "e", 1))
        for i, exit_qty in enumerate(exits, start=2):
            await venue.market_order("SELL", exit_qty, coid(trade_id, "x", i), reduce_only=True)
        if foreign:  # someone else's order on the account: never ours
            await venue.market_order("BUY", "0.001", "manual-order-1")
            await venue.market_order("SELL", "0.001", "manual-order-2", reduce_only=True)
        try:
            return await venue.history(), await venue.precisions()
        finally:
            await venue.client.close()

    return run(body())


def test_a_killed_life_whose_facts_never_reached_the_journal_is_back_filled_once(bingx_emulator, stores):
    venue = Venue(bingx_emulator)
    trade_id = trade_id_for(NS, BTC_ID, 1, 1)
    history, precisions = trade_round(venue, trade_id, "0.010", ["0.004", "0.006"])
    plan = run_backfill(history, stores.clickhouse, stores.journal, namespace=NS, prefix=PREFIX, precisions=precisions)
    assert plan.ours_orders == 3 and plan.ours_fills == 3 and len(plan.missing_fills) == 3
    fills = rows(stores, "SELECT venue_trade_id, row_id, trade_id, origin FROM {db}.fills FINAL")
    assert len(fills) == 3 and {f["trade_id"] for f in fills} == {trade_id}
    planned = {f.row_id for f in plan.facts if isinstance(f, FillFact)}
    assert {f["row_id"] for f in fills} == planned
    legs = rows(
        stores, "SELECT leg_no, quantity, remaining_quantity, is_final FROM {db}.trade_exit_legs ORDER BY leg_no"
    )
    assert [(r["leg_no"], r["quantity"], r["is_final"]) for r in legs] == [
        (1, D("0.004"), False),
        (2, D("0.006"), True),
    ]
    [trade] = rows(stores, "SELECT trade_id, quantity, legs, realized_pnl, fees FROM {db}.trades")
    assert trade["trade_id"] == trade_id and trade["quantity"] == D("0.010") and trade["legs"] == 2
    [latest] = stores.clickhouse.latest_position_states([trade_id])
    assert latest["status"] == "CLOSED" and latest["quantity"] == 0
    events = rows(stores, "SELECT client_order_id, event FROM {db}.orders ORDER BY client_order_id, event")
    assert {(r["client_order_id"], r["event"]) for r in events} == {
        (c, e)
        for c in (coid(trade_id, "e", 1), coid(trade_id, "x", 2), coid(trade_id, "x", 3))
        for e in ("ACCEPTED", "FILLED")
    }
    assert lost_facts(stores.clickhouse, NS, history, PREFIX).ok
    counts = {t: stores.clickhouse.count(t) for t in ("fills", "orders", "trade_exit_legs", "trades", "position_state")}
    again = run_backfill(history, stores.clickhouse, stores.journal, namespace=NS, prefix=PREFIX, precisions=precisions)
    assert again.facts == []
    assert {t: stores.clickhouse.count(t) for t in counts} == counts
    # deterministic: planned again over what ClickHouse held before (nothing), the same facts, the same row ids
    replay = plan_backfill(history, NOTHING_STORED, prefix=PREFIX, precisions=precisions)
    assert [f.row_id for f in replay.facts] == [f.row_id for f in plan.facts]


def test_a_fill_the_journal_saw_is_not_written_again_and_the_lost_exits_complete_the_trade(bingx_emulator, stores):
    venue = Venue(bingx_emulator)
    trade_id = trade_id_for(NS, BTC_ID, 2, 1)
    history, precisions = trade_round(venue, trade_id, "0.020", ["0.005", "0.015"], foreign=False)
    [entry_fill] = [f for f in history.fills if f.venue_order_id == history.orders[0].venue_order_id]
    precision = precisions[BTC_ID]
    # what the live path journaled before the kill: the entry fill (as the strategy's book writes it, from the
    # Nautilus fill event), the entry and the OPEN snapshot; the two exit fills were lost
    live_fill = FillFact(
        ts=entry_fill.ts_ms * NS_PER_MS,
        origin=LIVE_ORIGIN,
        venue_trade_id=entry_fill.venue_trade_id,
        client_order_id=coid(trade_id, "e", 1),
        venue_order_id=entry_fill.venue_order_id,
        trade_id=trade_id,
        instrument_id=BTC_ID,
        side="BUY",
        quantity=live_decimal(entry_fill.quantity, precision.size),
        price=live_decimal(entry_fill.price, precision.price),
        fee=live_decimal(entry_fill.fee, 8),
        liquidity="TAKER",
    )
    px = live_fill.price
    stores.journal.append(live_fill)
    stores.journal.append(
        TradeEntry(
            ts=live_fill.ts,
            origin=LIVE_ORIGIN,
            trade_id=trade_id,
            instrument_id=BTC_ID,
            side="LONG",
            quantity=D("0.02"),
            price=px,
            notional=D("0.02") * px,
            fee=live_fill.fee,
            client_order_id=coid(trade_id, "e", 1),
        )
    )
    stores.journal.append(
        PositionState(
            ts=live_fill.ts,
            origin=LIVE_ORIGIN,
            trade_id=trade_id,
            instrument_id=BTC_ID,
            side="LONG",
            status="OPEN",
            quantity=D("0.02"),
            notional=D("0.02") * px,
            entry_price=px,
            bars_held=3,
            realized_pnl=D(0),
            fees=live_fill.fee,
            legs=0,
            seq=1,
            opened_ts=live_fill.ts,
            order_seq=1,
        )
    )
    assert stores.journal.flush(30)
    # the back-filled twin of the live fill has the live fill's row id (field by field the same)
    empty = plan_backfill(history, NOTHING_STORED, prefix=PREFIX, precisions=precisions)
    [twin] = [f for f in empty.facts if isinstance(f, FillFact) and f.venue_trade_id == entry_fill.venue_trade_id]
    assert twin == live_fill and twin.row_id == live_fill.row_id
    plan = run_backfill(history, stores.clickhouse, stores.journal, namespace=NS, prefix=PREFIX, precisions=precisions)
    assert entry_fill.venue_trade_id not in plan.missing_fills and len(plan.missing_fills) == 2
    assert not any(isinstance(f, TradeEntry) for f in plan.facts)
    fills = rows(stores, "SELECT venue_trade_id, count() AS n FROM {db}.fills FINAL GROUP BY venue_trade_id")
    assert sorted(r["n"] for r in fills) == [1, 1, 1]
    [latest] = stores.clickhouse.latest_position_states([trade_id])
    assert (latest["status"], latest["seq"], latest["legs"], latest["bars_held"]) == ("CLOSED", 2, 2, 3)
    [trade] = rows(stores, "SELECT realized_pnl, fees, bars_held FROM {db}.trades")
    exit_px = {f.venue_trade_id: f.price for f in history.fills}
    expected_pnl = sum(
        (live_decimal(f.price, precision.price) - px) * live_decimal(f.quantity, precision.size)
        for f in history.fills
        if f.venue_trade_id != entry_fill.venue_trade_id
    )
    assert exit_px and trade["realized_pnl"] == expected_pnl and trade["bars_held"] == 3
    assert lost_facts(stores.clickhouse, NS, history, PREFIX).ok
    assert (
        run_backfill(
            history, stores.clickhouse, stores.journal, namespace=NS, prefix=PREFIX, precisions=precisions
        ).facts
        == []
    )


def test_a_position_whose_entry_fill_was_lost_keeps_its_trade_id(bingx_emulator, stores):
    venue = Venue(bingx_emulator)
    trade_id = trade_id_for(NS, BTC_ID, 3, 1)
    history, precisions = trade_round(venue, trade_id, "0.012", ["0.005"], foreign=False)
    run_backfill(history, stores.clickhouse, stores.journal, namespace=NS, prefix=PREFIX, precisions=precisions)
    [open_row] = stores.clickhouse.open_position_states()
    assert open_row["trade_id"] == trade_id and open_row["quantity"] == D("0.007") and open_row["side"] == "LONG"
    assert open_row["order_seq"] == 2 and open_row["legs"] == 1
    entry_price = open_row["entry_price"]
    assert entry_price == entry_price.quantize(D(1).scaleb(-precisions[BTC_ID].price))  # on the tick
