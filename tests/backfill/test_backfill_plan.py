"""The back-fill plan's rules on plain venue rows (no I/O): legs never exceed the entry, foreign and seed orders
are not ours, a legacy trade id comes back from ClickHouse's trade ids."""

from __future__ import annotations

from decimal import Decimal as D

from dolphin_nautilus.domain.facts import FillFact, TradeClosed, TradeExitLeg
from dolphin_nautilus.domain.identifiers import client_order_id_for, coid_token
from dolphin_nautilus.journal.backfill import previous_life_orders
from dolphin_nautilus.journal.backfill_plan import StoredFacts, StoredTrade, plan_backfill
from dolphin_nautilus.journal.venue_history import Precision, VenueFill, VenueHistory, VenueOrder

BTC = "BTC-USDT-PERP.BINGX"
PREFIX = "dpink"
PRECISIONS = {BTC: Precision(1, 4)}


def order(oid: str, coid: str, side: str, qty: str, status: str = "FILLED", reduce_only: bool = False) -> VenueOrder:
    return VenueOrder(
        venue_order_id=oid,
        client_order_id=coid,
        instrument_id=BTC,
        side=side,
        type="MARKET",
        status=status,
        quantity=D(qty),
        price=D(0),
        reduce_only=reduce_only,
        created_ms=1000 + int(oid),
        updated_ms=1000 + int(oid),
    )


def fill(tid: str, oid: str, qty: str, px: str) -> VenueFill:
    return VenueFill(
        venue_trade_id=tid,
        venue_order_id=oid,
        instrument_id=BTC,
        quantity=D(qty),
        price=D(px),
        fee=D("0.01"),
        ts_ms=2000 + int(tid),
    )


def stored(**trades: StoredTrade) -> StoredFacts:
    return StoredFacts(fill_ids=set(), order_events={}, trades=dict(trades), known_trade_ids=[])


def test_an_exit_fill_a_reconcile_leg_already_took_gets_its_fill_row_only():
    trade_id = "0123456789ab"
    entry, exit_ = (
        client_order_id_for(PREFIX, coid_token(trade_id), letter, 5, n) for letter, n in (("e", 1), ("x", 2))
    )
    history = VenueHistory(
        start_ms=0,
        end_ms=10_000,
        orders=[order("1", entry, "BUY", "0.0100"), order("2", exit_, "SELL", "0.0100", reduce_only=True)],
        fills=[fill("1", "1", "0.0100", "50000.0"), fill("2", "2", "0.0100", "50100.0")],
    )
    reconcile_leg = {
        "leg_no": 1,
        "venue_trade_id": "reconcile:9:2:1",
        "quantity": D("0.01"),
        "price": D("50000"),
        "realized_pnl": D(0),
        "fee": D(0),
        "reason": "RECONCILE",
    }
    held = StoredTrade(
        trade_id=trade_id,
        entry={"quantity": D("0.01"), "price": D("50000"), "fee": D("0.01"), "side": "LONG", "instrument_id": BTC},
        legs=[reconcile_leg],
        closed=True,
        latest={"status": "CLOSED", "seq": 3, "bars_held": 4, "legs": 1, "order_seq": 2},
    )
    plan = plan_backfill(history, stored(**{trade_id: held}), prefix=PREFIX, precisions=PRECISIONS)
    assert plan.unaccounted == ["2"]
    assert not any(isinstance(f, (TradeExitLeg, TradeClosed)) for f in plan.facts)
    assert sorted(f.venue_trade_id for f in plan.facts if isinstance(f, FillFact)) == ["1", "2"]


def test_foreign_and_seed_orders_are_not_ours_and_a_legacy_trade_keeps_its_id():
    legacy = "ATOM_1a3d2f9c"
    ours = client_order_id_for(PREFIX, coid_token(legacy), "e", 5, 1)
    seed = f"{PREFIX}-0123456789ab-s1"
    history = VenueHistory(
        start_ms=0,
        end_ms=10_000,
        orders=[order("1", ours, "SELL", "0.0100"), order("2", "manual-1", "BUY", "1"), order("3", seed, "BUY", "1")],
        fills=[fill("1", "1", "0.0100", "50000.0"), fill("2", "2", "1", "50000.0"), fill("3", "3", "1", "50000.0")],
    )
    facts = StoredFacts(fill_ids=set(), order_events={}, trades={}, known_trade_ids=[legacy])
    plan = plan_backfill(history, facts, prefix=PREFIX, precisions=PRECISIONS)
    assert plan.ours_orders == 1 and plan.missing_fills == ["1"] and plan.trades_touched == [legacy]
    assert {getattr(f, "trade_id", legacy) for f in plan.facts} == {legacy}


def test_previous_life_orders_are_the_working_ones_of_older_epochs():
    old = client_order_id_for(PREFIX, coid_token("0123456789ab"), "x", 5, 2)
    new = client_order_id_for(PREFIX, coid_token("0123456789ab"), "x", 9, 3)
    done = client_order_id_for(PREFIX, coid_token("0123456789ab"), "x", 5, 1)
    history = VenueHistory(
        start_ms=0,
        end_ms=1,
        orders=[
            order("1", old, "SELL", "1", status="NEW"),
            order("2", new, "SELL", "1", status="NEW"),
            order("3", done, "SELL", "1", status="FILLED"),
            order("4", "manual-1", "SELL", "1", status="NEW"),
        ],
        fills=[],
    )
    assert [w.client_order_id for w in previous_life_orders(history, PREFIX, 9)] == [old]
