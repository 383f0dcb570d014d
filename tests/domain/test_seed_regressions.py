"""Regressions named after the seed incidents: the zero-size OPEN row restart loop (MALFORMED_OPEN_RESTORE_BUG)
and the sprint-3 multi-exit groundwork (two-leg close, overshoot clamp, closed slot rejects EXIT)."""

from decimal import Decimal as D

from dolphin_nautilus.domain import Code, RestoredSlot, Side, SlotState
from dolphin_nautilus.domain.facts import Anomaly, PositionState, TradeClosed, TradeExitLeg

from .support import ATOM, Venue, assert_no_zero_open_rows, new_book


def of(facts, kind):
    return [f for f in facts if isinstance(f, kind)]


def test_a_tiny_short_leg_whose_retract_collapses_to_zero_writes_no_open_row_and_closes_cleanly():
    book = new_book()
    venue = Venue(book)
    # The incident's shape: a legacy ATOM short leg restored with bars_held=34, then retracted so that
    # what would remain rounds to nothing.
    book.restore_slot(
        RestoredSlot(
            trade_id="1a3d2f9c",
            instrument_id=ATOM,
            side=Side.SHORT,
            quantity=D("0.3"),
            entry_price=D("10"),
            bars_held=34,
            realized_pnl=D(0),
            fees=D(0),
            legs=0,
            opened_ts=1,
            order_seq=1,
            seq=3,
        ),
        ts=100,
    )
    d = book.retract(ATOM, quantity=D("0.25"), price=D("9.5"), ts=101)  # leaves 0.05 -> rounds to 0.0
    assert d.order.quantity == D("0.3") and d.outcome.details["full_close"] and d.order.side == "BUY"
    venue.fill(d.order.client_order_id, "0.3", "9.5")
    facts = book.drain_facts()
    assert_no_zero_open_rows(facts)
    rows = of(facts, PositionState)
    assert rows[-1].status == "CLOSED" and rows[-1].quantity == 0 and rows[-1].notional == 0
    assert [r.status for r in rows].count("CLOSED") == 1
    (closed,) = of(facts, TradeClosed)
    assert closed.trade_id == "1a3d2f9c" and closed.realized_pnl == D("0.15") and closed.bars_held == 34
    assert book.slot(ATOM).state is SlotState.CLOSED and not book.open_slots()
    assert not of(facts, Anomaly)


def test_b_two_leg_exit_closes_once_with_realized_pnl_accrued_per_leg():
    book = new_book()
    venue = Venue(book)
    venue.open(ATOM, "LONG", "4", "10", fee="0.008")
    first = book.retract(ATOM, fraction=D("0.5"), price=D("11"), ts=2000)
    venue.fill(first.order.client_order_id, "2", "11", "0.0044")
    second = book.exit(ATOM, price=D("12"), ts=2010)
    venue.fill(second.order.client_order_id, "2", "12", "0.0048")
    facts = book.drain_facts()
    legs = of(facts, TradeExitLeg)
    assert [
        (leg.leg_no, leg.quantity, leg.realized_pnl, leg.fee, leg.remaining_quantity, leg.is_final) for leg in legs
    ] == [(1, D(2), D(2), D("0.0044"), D(2), False), (2, D(2), D(4), D("0.0048"), D(0), True)]
    (closed,) = of(facts, TradeClosed)
    assert closed.realized_pnl == D(6) == sum(leg.realized_pnl for leg in legs)
    assert closed.fees == D("0.0172") and closed.net_pnl == D("5.9828")
    assert closed.legs == 2 and closed.exit_avg_px == D("11.5")
    assert_no_zero_open_rows(facts)


def test_c_final_exit_asking_for_more_than_remains_clamps():
    book = new_book()
    venue = Venue(book)
    venue.open(ATOM, "SHORT", "3", "10")
    first = book.retract(ATOM, quantity=D("1"), price=D("10"), ts=2000)
    venue.fill(first.order.client_order_id, "1", "10")
    final = book.exit(ATOM, price=D("10"), ts=2010, quantity=D("5"))
    assert final.order.quantity == D("2") and final.order.reduce_only and final.outcome.details["clamped"]
    venue.fill(final.order.client_order_id, "2", "10")
    slot = book.slot(ATOM)
    assert slot.state is SlotState.CLOSED and slot.quantity == 0  # size 0, no oversell, no flip


def test_d_closed_slot_rejects_a_further_exit():
    book = new_book()
    venue = Venue(book)
    venue.open(ATOM, "LONG", "2", "10")
    d = book.exit(ATOM, price=D("10"), ts=2000)
    venue.fill(d.order.client_order_id, "2", "10")
    book.drain_facts()
    for again in (
        book.exit(ATOM, price=D("10"), ts=2010),
        book.retract(ATOM, fraction=D("0.5"), price=D("10"), ts=2011),
    ):
        assert again.code is Code.EXIT_ON_CLOSED_SLOT and again.order is None
    facts = book.drain_facts()
    assert not of(facts, TradeClosed) and not of(facts, PositionState)  # closed exactly once
    assert {a.code for a in of(facts, Anomaly)} == {"EXIT_ON_CLOSED_SLOT"}
