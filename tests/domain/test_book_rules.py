"""One test per trade-book rule (docs/design.md §3), driven through the public TradeBook API only."""

import re
from decimal import Decimal as D

import pytest

from dolphin_nautilus.contracts.placement import (
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
    PlacementUnknown,
)
from dolphin_nautilus.domain import Code, OrderStatus, RestoredSlot, Severity, Side, SlotState
from dolphin_nautilus.domain.facts import (
    Anomaly,
    FillFact,
    OrderEvent,
    TradeClosed,
    TradeEntry,
    TradeExitLeg,
)

from .support import ATOM, BTC, Venue, assert_no_zero_open_rows, new_book, position_states


def of(facts, kind):
    return [f for f in facts if isinstance(f, kind)]


@pytest.fixture
def book():
    return new_book()


@pytest.fixture
def venue(book):
    return Venue(book)


# --- ids --------------------------------------------------------------------------------------------
def test_client_order_ids_are_lowercase_short_unique_and_deterministic(book, venue):
    venue.open(BTC, "LONG", "0.01", "50000")
    retract = book.retract(BTC, fraction=D("0.1"), price=D("50000"), ts=2000)
    coids = book.order(retract.order.client_order_id).slot.order_ids
    for coid in coids:
        assert re.fullmatch(r"[a-z0-9-]{1,40}", coid), coid
    assert coids[0].endswith("-e1") and coids[1].endswith("-x2") and len(set(coids)) == 2
    twin = new_book()
    assert twin.enter(BTC, "LONG", D("0.01"), D("50000"), 1001).order.client_order_id == coids[0]
    assert re.fullmatch(r"pink-[0-9a-f]{12}-e1", coids[0])


def test_prefix_must_be_safe_for_bingx():
    for bad in ("PINK", "pink_1", "", "a" * 21, "-pink"):
        with pytest.raises(ValueError, match="client_order_prefix"):
            new_book(client_order_prefix=bad)


# --- entries ----------------------------------------------------------------------------------------
def test_entry_completes_into_one_trade_entry_and_an_open_snapshot(book):
    d = book.enter(BTC, "LONG", D("0.01"), D("50000"), 1)
    assert d.ok and d.order.purpose == "ENTRY" and d.order.side == "BUY" and not d.order.reduce_only
    assert book.slot(BTC).state is SlotState.ENTRY_WORKING
    coid = d.order.client_order_id
    book.on_fill(coid, "t1", D("0.004"), D("50000"), D("0.1"), 2)
    partial = book.drain_facts()
    assert not of(partial, TradeEntry) and position_states(partial)[-1].quantity == D("0.004")
    book.on_fill(coid, "t2", D("0.006"), D("50010"), D("0.15"), 3)
    facts = book.drain_facts()
    (entry,) = of(facts, TradeEntry)
    assert entry.quantity == D("0.010") and entry.fee == D("0.25")
    assert entry.price == (D("0.004") * 50000 + D("0.006") * 50010) / D("0.01")
    assert book.slot(BTC).state is SlotState.OPEN
    assert [p.seq for p in position_states(partial + facts)] == [1, 2]


def test_entry_below_venue_minimum_sends_nothing(book):
    d = book.enter(ATOM, "LONG", D("0.15"), D("10"), 1)  # rounds to 0.1 -> notional 1 < 2
    assert d.code is Code.BELOW_VENUE_MINIMUM and d.order is None and book.slot(ATOM) is None
    assert of(book.drain_facts(), Anomaly)[0].code == "BELOW_VENUE_MINIMUM"


def test_one_live_slot_per_instrument(book, venue):
    venue.open(BTC, "LONG", "0.01", "50000")
    d = book.enter(BTC, "SHORT", D("0.01"), D("50000"), 5000)
    assert d.code is Code.SLOT_BUSY and d.order is None
    assert book.enter(ATOM, "SHORT", D("1"), D("10"), 5000).ok


def test_entry_reject_returns_to_idle(book):
    d = book.enter(BTC, "LONG", D("0.01"), D("50000"), 1)
    r = book.on_order_rejected(d.order.client_order_id, "insufficient margin", 2)
    assert r.code is Code.ORDER_REJECTED and r.outcome.severity is Severity.WARNING
    assert r.outcome.details["reason"] == "insufficient margin"
    assert book.slot(BTC).state is SlotState.IDLE and not book.live_slots()
    facts = book.drain_facts()
    assert not position_states(facts) and of(facts, Anomaly)[0].code == "ORDER_REJECTED"
    assert book.enter(BTC, "LONG", D("0.01"), D("50000"), 3).ok


def test_entry_cancel_keeps_what_filled(book):
    d = book.enter(BTC, "SHORT", D("0.01"), D("50000"), 1)
    book.on_fill(d.order.client_order_id, "t1", D("0.003"), D("50000"), D("0"), 2)
    assert book.cancel(BTC, 3).cancel.client_order_id == d.order.client_order_id
    book.on_order_canceled(d.order.client_order_id, 4)
    slot = book.slot(BTC)
    assert slot.state is SlotState.OPEN and slot.quantity == D("0.003")
    assert of(book.drain_facts(), TradeEntry)[0].quantity == D("0.003")
    d2 = book.enter(ATOM, "LONG", D("1"), D("10"), 5)
    book.on_order_canceled(d2.order.client_order_id, 6)
    assert book.slot(ATOM).state is SlotState.IDLE


# --- retract ----------------------------------------------------------------------------------------
def test_retract_clamps_to_remaining(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.retract(ATOM, quantity=D("8"), price=D("10"), ts=2000)
    assert d.order.quantity == D("5") and d.outcome.details["clamped"] and d.order.reduce_only
    assert d.order.side == "SELL"


def test_retract_leaving_dust_closes_the_whole_remainder(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.retract(ATOM, quantity=D("4.9"), price=D("10"), ts=2000)  # 0.1 @ 10 would be dust
    assert d.order.quantity == D("5") and d.outcome.details["dust_widened"]
    venue.fill(d.order.client_order_id, "5", "10")
    facts = book.drain_facts()
    assert book.slot(ATOM).state is SlotState.CLOSED and len(of(facts, TradeClosed)) == 1
    assert_no_zero_open_rows(facts)


def test_retract_below_minimum_with_real_remainder_sends_nothing(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    book.drain_facts()
    d = book.retract(ATOM, quantity=D("0.1"), price=D("10"), ts=2000)
    assert d.code is Code.BELOW_VENUE_MINIMUM and d.order is None
    assert "below the venue minimum" in d.outcome.message
    assert book.slot(ATOM).state is SlotState.OPEN and book.slot(ATOM).quantity == D("5")
    assert [a.code for a in of(book.drain_facts(), Anomaly)] == ["BELOW_VENUE_MINIMUM"]


def test_retract_by_fraction_rounds_down(book, venue):
    venue.open(ATOM, "SHORT", "5", "10")
    d = book.retract(ATOM, fraction=D("0.33"), price=D("10"), ts=2000)
    assert d.order.quantity == D("1.6") and d.order.side == "BUY" and d.order.reduce_only


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"quantity": D(1), "fraction": D("0.5")},
        {"fraction": D("1.5")},
        {"fraction": D("-0.5")},
        {"quantity": D("NaN")},
    ],
)
def test_malformed_retract_is_refused_with_a_clear_error(book, venue, kwargs):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.retract(ATOM, price=D("10"), ts=2000, **kwargs)
    assert d.code is Code.INVALID_INPUT and d.order is None and book.slot(ATOM).quantity == D("5")


# --- exits ------------------------------------------------------------------------------------------
def test_second_exit_while_one_works_sends_nothing(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    first = book.retract(ATOM, quantity=D("2"), price=D("10"), ts=2000)
    second = book.exit(ATOM, price=D("10"), ts=2001)
    assert first.order is not None and second.order is None
    assert second.code is Code.EXIT_ALREADY_WORKING
    assert second.outcome.details["client_order_id"] == first.order.client_order_id


def test_exit_reject_stays_exit_working_and_next_exit_retries(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    first = book.exit(ATOM, price=D("10"), ts=2000)
    r = book.on_order_rejected(first.order.client_order_id, "reduce only rejected", 2001)
    assert r.code is Code.EXIT_ORDER_REJECTED and r.outcome.severity is Severity.ERROR
    assert book.slot(ATOM).state is SlotState.EXIT_WORKING
    assert any(a.code == "EXIT_ORDER_REJECTED" and a.severity == "ERROR" for a in of(book.drain_facts(), Anomaly))
    retry = book.exit(ATOM, price=D("10"), ts=2002)
    assert retry.order is not None and retry.order.client_order_id != first.order.client_order_id


def test_cancel_reject_changes_nothing(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=2000)
    r = book.on_cancel_rejected(d.order.client_order_id, "order already filled", 2001)
    assert r.code is Code.CANCEL_REJECTED and book.slot(ATOM).state is SlotState.EXIT_WORKING
    assert book.order(d.order.client_order_id).status is OrderStatus.SUBMITTED


def test_exit_cancel_reopens_the_slot(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=2000)
    book.on_order_canceled(d.order.client_order_id, 2001)
    assert book.slot(ATOM).state is SlotState.OPEN
    assert book.cancel(ATOM, 2002).code is Code.NO_ACTIVE_EXIT_ORDER
    assert book.exit(ATOM, price=D("10"), ts=2003).order is not None


def test_fill_without_active_exit_order_still_converges(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=2000)
    book.on_order_rejected(d.order.client_order_id, "timeout", 2001)
    r = venue.fill(d.order.client_order_id, "5", "11")
    assert r.code is Code.NO_ACTIVE_EXIT_ORDER and r.outcome.severity is Severity.INFO
    assert book.slot(ATOM).state is SlotState.CLOSED
    assert of(book.drain_facts(), TradeClosed)[0].realized_pnl == D("5")


def test_duplicate_fill_changes_nothing(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.retract(ATOM, quantity=D("2"), price=D("10"), ts=2000)
    book.on_fill(d.order.client_order_id, "dup", D("1"), D("11"), D("0.01"), 2001)
    book.drain_facts()
    slot = book.slot(ATOM)
    before = (slot.quantity, slot.realized_pnl, slot.fees, len(slot.ledger.entries), slot.state)
    r = book.on_fill(d.order.client_order_id, "dup", D("1"), D("11"), D("0.01"), 2002)
    assert r.code is Code.DUPLICATE_EVENT and r.outcome.severity is Severity.INFO
    assert (slot.quantity, slot.realized_pnl, slot.fees, len(slot.ledger.entries), slot.state) == before
    assert book.drain_facts() == []


def test_fill_before_accepted_is_applied_and_accept_does_not_regress(book):
    d = book.enter(BTC, "LONG", D("0.01"), D("50000"), 1)
    book.on_fill(d.order.client_order_id, "t1", D("0.01"), D("50000"), D("0"), 2)
    assert book.on_order_accepted(d.order.client_order_id, "v1", 3).ok
    assert book.order(d.order.client_order_id).status is OrderStatus.FILLED
    assert book.slot(BTC).state is SlotState.OPEN


def test_short_leg_pnl_and_fees_are_isolated(book, venue):
    venue.open(ATOM, "SHORT", "4", "10", fee="0.02")
    a = book.retract(ATOM, quantity=D("1"), price=D("9"), ts=2000)
    venue.fill(a.order.client_order_id, "1", "9", "0.005")
    b = book.exit(ATOM, price=D("12"), ts=2002)
    venue.fill(b.order.client_order_id, "3", "12", "0.015")
    legs = of(book.drain_facts(), TradeExitLeg)
    assert [(leg.leg_no, leg.realized_pnl, leg.fee, leg.is_final) for leg in legs] == [
        (1, D("1"), D("0.005"), False),
        (2, D("-6"), D("0.015"), True),
    ]
    assert book.slot(ATOM).fees == D("0.040")


# --- overfills and late fills -----------------------------------------------------------------------
def test_overfill_is_never_a_flip(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=2000)
    r = venue.fill(d.order.client_order_id, "7", "10")
    assert r.code is Code.OVERFILL_DETECTED and r.outcome.severity is Severity.CRITICAL
    slot = book.slot(ATOM)
    assert slot.state is SlotState.CLOSED and slot.quantity == 0 and slot.side is Side.LONG
    facts = book.drain_facts()
    assert len(of(facts, TradeClosed)) == 1 and sum(leg.quantity for leg in of(facts, TradeExitLeg)) == 5
    assert of(facts, FillFact)[-1].quantity == D("7")  # the real execution is still recorded
    assert book.is_reconciling(ATOM)
    assert book.enter(ATOM, "LONG", D("1"), D("10"), 3000).code is Code.INTENT_BLOCKED
    assert book.resolve_reconcile(ATOM, D("-2"), D("10"), 3001).code is Code.VENUE_POSITION_MISMATCH
    assert book.resolve_reconcile(ATOM, D("0"), D("0"), 3002).ok
    assert book.enter(ATOM, "LONG", D("1"), D("10"), 3003).ok


def test_fill_after_close_does_not_reopen(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    a = book.retract(ATOM, quantity=D("2"), price=D("10"), ts=2000)
    b_coid = a.order.client_order_id
    venue.fill(b_coid, "2", "10")
    c = book.exit(ATOM, price=D("10"), ts=2002)
    venue.fill(c.order.client_order_id, "3", "10")
    book.drain_facts()
    r = book.on_fill(b_coid, "late", D("1"), D("10"), D("0"), 2010)
    assert r.code is Code.FILL_AFTER_CLOSE and book.slot(ATOM).state is SlotState.CLOSED
    facts = book.drain_facts()
    assert not of(facts, TradeClosed) and not of(facts, TradeExitLeg) and not position_states(facts)


def test_fill_for_unknown_order_blocks_the_instrument(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    r = book.on_fill("manual-1", "x1", D("1"), D("10"), D("0"), 2000, instrument_id=ATOM)
    assert r.code is Code.UNKNOWN_CLIENT_ORDER and r.outcome.severity is Severity.ERROR
    assert book.slot(ATOM).state is SlotState.STALE_STATE_RECONCILING
    assert book.exit(ATOM, price=D("10"), ts=2001).code is Code.INTENT_BLOCKED
    assert book.on_order_accepted("nope", "v", 2002).code is Code.UNKNOWN_CLIENT_ORDER


# --- max hold ---------------------------------------------------------------------------------------
def test_max_hold_exits_fully_and_retries_after_reject():
    book = new_book(max_hold_bars=3)
    venue = Venue(book)
    for i in range(2):
        assert book.on_bar(ATOM, D("10"), 10 + i).order is None  # no slot: nothing counted
    venue.open(ATOM, "LONG", "5", "10")
    decisions = [book.on_bar(ATOM, D("10"), 3000 + i) for i in range(3)]
    assert [d.order is None for d in decisions] == [True, True, False]
    d = decisions[-1]
    assert d.code is Code.MAX_HOLD_EXIT and d.order.quantity == D("5") and d.order.reason == "MAX_HOLD"
    assert book.on_bar(ATOM, D("10"), 3004).order is None  # exit working: not doubled
    book.on_order_rejected(d.order.client_order_id, "busy", 3005)
    retry = book.on_bar(ATOM, D("10"), 3006)
    assert retry.order is not None and retry.order.reason == "MAX_HOLD"
    venue.fill(retry.order.client_order_id, "5", "10")
    closed = of(book.drain_facts(), TradeClosed)[0]
    assert closed.bars_held == 5 and closed.exit_reason == "MAX_HOLD"


def test_max_hold_cancels_a_partly_filled_entry_then_exits_fully():
    book = new_book(max_hold_bars=2)
    venue = Venue(book)
    entry = book.enter(ATOM, "LONG", D("5"), D("10"), 1)
    book.on_order_accepted(entry.order.client_order_id, "v1", 2)
    venue.fill(entry.order.client_order_id, "2", "10")
    assert book.on_bar(ATOM, D("10"), 3).order is None
    due = book.on_bar(ATOM, D("10"), 4)
    assert due.code is Code.MAX_HOLD_EXIT and due.cancel.client_order_id == entry.order.client_order_id
    assert book.on_bar(ATOM, D("10"), 5).cancel is None  # asked once
    book.on_order_canceled(entry.order.client_order_id, 6)
    out = book.on_bar(ATOM, D("10"), 7)
    assert out.code is Code.MAX_HOLD_EXIT and out.order.quantity == D("2") and out.order.reason == "MAX_HOLD"


def test_max_hold_cancels_a_working_partial_exit_but_not_a_closing_one(book, venue):
    book = new_book(max_hold_bars=1)
    venue = Venue(book)
    venue.open(ATOM, "LONG", "5", "10")
    partial = book.retract(ATOM, quantity=D("2"), price=D("10"), ts=2000)
    due = book.on_bar(ATOM, D("10"), 2001)
    assert due.cancel is not None and due.cancel.client_order_id == partial.order.client_order_id
    book.on_order_canceled(partial.order.client_order_id, 2002)
    full = book.on_bar(ATOM, D("10"), 2003)
    assert full.order.quantity == D("5")
    assert book.on_bar(ATOM, D("10"), 2004).cancel is None  # the working exit closes the position


# --- unknown outcomes and rate limits ---------------------------------------------------------------
def test_rate_limited_exit_returns_the_slot_and_retries_after_the_wait():
    book = new_book()
    venue = Venue(book)
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=10_000)
    coid = d.order.client_order_id
    r = book.on_placement_outcome(
        PlacementRateLimited(client_order_id=coid, retry_after_ms=100, message="429", ts=10_001)
    )
    assert r.code is Code.RATE_LIMITED and r.outcome.details["retry_after_ms"] == 100
    slot = book.slot(ATOM)
    assert slot.state is SlotState.OPEN and slot.exit_order is None and slot.quantity == D("5")
    assert book.order(coid).status is OrderStatus.NOT_PLACED
    assert book.retry_not_before(ATOM) == 10_001 + 100_000_000
    early = book.exit(ATOM, price=D("10"), ts=10_001 + 99_000_000)
    assert early.code is Code.RATE_LIMITED and early.order is None and early.outcome.severity is Severity.INFO
    assert book.enter(BTC, "LONG", D("0.01"), D("50000"), 10_002).order is not None  # the wait is per instrument
    resend = book.exit(ATOM, price=D("10"), ts=10_001 + 100_000_000)
    assert resend.order is not None and resend.order.client_order_id != coid  # ids are never reused
    rows = [(f.client_order_id, f.event) for f in of(book.drain_facts(), OrderEvent)]
    assert (coid, "RATE_LIMITED") in rows


def test_rate_limited_entry_leaves_the_instrument_as_it_was(book, venue):
    first = venue.open(ATOM, "LONG", "5", "10")
    venue.fill(book.exit(ATOM, price=D("10"), ts=2000).order.client_order_id, "5", "10")
    closed = book.slot(ATOM)
    d = book.enter(ATOM, "SHORT", D("3"), D("10"), 3000)
    book.on_order_rate_limited(d.order.client_order_id, 0, 3001)
    assert book.live_slot(ATOM) is None and book.slot(ATOM) is closed and book.order(first) is not None
    again = book.enter(ATOM, "SHORT", D("3"), D("10"), 3002)
    assert again.order is not None and again.order.trade_id != d.order.trade_id


def test_unknown_outcome_blocks_a_second_exit_then_resolves():
    book = new_book(unknown_outcome_timeout_ns=1_000)
    venue = Venue(book)
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=10_000)
    coid = d.order.client_order_id
    u = book.on_placement_outcome(PlacementUnknown(client_order_id=coid, message="timeout", ts=10_001))
    assert u.code is Code.UNKNOWN_ORDER_OUTCOME
    assert book.exit(ATOM, price=D("10"), ts=10_002).code is Code.UNKNOWN_ORDER_OUTCOME
    book.on_placement_outcome(PlacementResolved(client_order_id=coid, placed=False, ts=10_003))
    assert book.slot(ATOM).state is SlotState.OPEN
    assert book.exit(ATOM, price=D("10"), ts=10_004).order is not None


def test_unresolved_unknown_goes_stale_and_the_venue_position_decides():
    book = new_book(unknown_outcome_timeout_ns=5_000, max_hold_bars=3)
    venue = Venue(book)
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=10_000)
    book.on_order_unknown(d.order.client_order_id, "timeout", 10_001)
    assert book.on_bar(ATOM, D("10"), 12_000).code is Code.OK
    stale = book.on_bar(ATOM, D("10"), 15_001)
    assert stale.code is Code.STALE_STATE_RECONCILING and book.is_reconciling(ATOM)
    assert book.slot(ATOM).state is SlotState.STALE_STATE_RECONCILING
    book.resolve_reconcile(ATOM, D("5"), D("10"), 15_002)  # the exit never reached the venue
    assert book.order(d.order.client_order_id).status is OrderStatus.RECONCILED
    max_hold = book.on_bar(ATOM, D("10"), 16_000)
    assert max_hold.code is Code.MAX_HOLD_EXIT and max_hold.order.quantity == D("5")


def test_definitive_rejects_from_the_contract():
    book = new_book()
    venue = Venue(book)
    entry = book.enter(ATOM, "LONG", D("5"), D("10"), 1)
    r = book.on_placement_outcome(
        PlacementRejected(
            client_order_id=entry.order.client_order_id, message="insufficient margin", ts=2, venue_code=101204
        )
    )
    assert r.code is Code.ORDER_REJECTED and r.outcome.details["venue_code"] == 101204
    assert book.live_slot(ATOM) is None and book.slot(ATOM).state is SlotState.IDLE
    venue.open(ATOM, "LONG", "5", "10")
    x = book.exit(ATOM, price=D("10"), ts=3_000)
    book.on_placement_outcome(PlacementRejected(client_order_id=x.order.client_order_id, message="busy", ts=3_001))
    assert book.slot(ATOM).quantity == D("5") and book.exit(ATOM, price=D("10"), ts=3_002).order is not None


@pytest.mark.parametrize("event", ["canceled", "expired"])
def test_canceled_or_expired_exit_reopens_and_writes_its_orders_row(book, venue, event):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=2000)
    getattr(book, f"on_order_{event}")(d.order.client_order_id, 2001)
    assert book.slot(ATOM).state is SlotState.OPEN
    assert [f.event for f in of(book.drain_facts(), OrderEvent)][-1] == event.upper()


def test_modify_rejected_changes_nothing_and_is_recorded(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    d = book.exit(ATOM, price=D("10"), ts=2000)
    r = book.on_modify_rejected(d.order.client_order_id, "not modifiable", 2001)
    assert r.code is Code.CANCEL_REJECTED and book.slot(ATOM).state is SlotState.EXIT_WORKING
    assert [f.event for f in of(book.drain_facts(), OrderEvent)][-1] == "MODIFY_REJECTED"


# --- reconcile --------------------------------------------------------------------------------------
def test_reconcile_blocks_then_venue_quantity_wins(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    r = book.begin_reconcile(ATOM, "ws reconnect", 2000)
    assert r.code is Code.STALE_STATE_RECONCILING and book.slot(ATOM).state is SlotState.STALE_STATE_RECONCILING
    assert book.exit(ATOM, price=D("10"), ts=2001).code is Code.INTENT_BLOCKED
    assert book.resolve_reconcile(ATOM, D("5"), D("10"), 2002).ok
    assert book.slot(ATOM).state is SlotState.OPEN
    book.begin_reconcile(ATOM, "again", 2003)
    adj = book.resolve_reconcile(ATOM, D("3"), D("10"), 2004)
    assert adj.code is Code.RECONCILE_ADJUSTED and book.slot(ATOM).quantity == D("3")
    book.begin_reconcile(ATOM, "flat?", 2005)
    book.resolve_reconcile(ATOM, D("0"), D("0"), 2006)
    facts = book.drain_facts()
    closed = of(facts, TradeClosed)
    assert len(closed) == 1 and closed[0].exit_reason == "RECONCILE" and closed[0].quantity == D("5")
    assert sum(leg.quantity for leg in of(facts, TradeExitLeg)) == D("5")
    assert_no_zero_open_rows(facts)


# --- restore ----------------------------------------------------------------------------------------
def restored(**overrides):
    fields = dict(
        trade_id="abc123def456",
        instrument_id=ATOM,
        side=Side.SHORT,
        quantity=D("3"),
        entry_price=D("10"),
        bars_held=7,
        realized_pnl=D("2"),
        fees=D("0.03"),
        legs=2,
        opened_ts=500,
        order_seq=4,
        seq=9,
        entry_quantity=D("5"),
    )
    fields.update(overrides)
    return RestoredSlot(**fields)


def test_restore_continues_ids_legs_and_seq(book, venue):
    assert book.restore_slot(restored(), ts=1000).ok
    slot = book.slot(ATOM)
    assert (slot.state, slot.quantity, slot.entry_price, slot.leg_count) == (SlotState.OPEN, D("3"), D("10"), 2)
    d = book.exit(ATOM, price=D("9"), ts=1001)
    assert d.order.client_order_id == "pink-abc123def456-x5" and d.order.side == "BUY"
    venue.fill(d.order.client_order_id, "3", "9")
    facts = book.drain_facts()
    seqs = [p.seq for p in position_states(facts)]
    assert seqs[0] == 10 and seqs == sorted(set(seqs))
    (leg,) = of(facts, TradeExitLeg)
    assert leg.leg_no == 3 and leg.realized_pnl == D("3") and leg.is_final
    (closed,) = of(facts, TradeClosed)
    assert (closed.quantity, closed.realized_pnl, closed.legs, closed.bars_held) == (D("5"), D("5"), 3, 7)


def test_restore_of_legacy_trade_id_gets_a_safe_token(book):
    book.restore_slot(restored(trade_id="ATOM_1a3d2f9c", legs=0, realized_pnl=D(0), entry_quantity=None), ts=1)
    coid = book.exit(ATOM, price=D("10"), ts=2).order.client_order_id
    assert re.fullmatch(r"pink-[0-9a-f]{12}-x5", coid)


@pytest.mark.parametrize(
    "bad",
    [
        {"quantity": D(0)},
        {"entry_price": D("-1")},
        {"quantity": D("Infinity")},
        {"instrument_id": "NOPE"},
        {"bars_held": -1},
        {"entry_quantity": D("1")},
    ],
)
def test_invalid_restore_is_refused_and_recorded(book, bad):
    d = book.restore_slot(restored(**bad), ts=1)
    assert d.code is Code.INVALID_RESTORE and not book.live_slots()
    facts = book.drain_facts()
    assert [f.code for f in of(facts, Anomaly)] == ["INVALID_RESTORE"] and not position_states(facts)


# --- misc -------------------------------------------------------------------------------------------
def test_safe_mode_blocks_entries_but_not_exits(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    book.block_entries("restore incomplete")
    assert book.enter(BTC, "LONG", D("0.01"), D("50000"), 2000).code is Code.INTENT_BLOCKED
    assert book.exit(ATOM, price=D("10"), ts=2001).order is not None
    book.allow_entries()
    assert book.enter(BTC, "LONG", D("0.01"), D("50000"), 2002).ok


def test_denied_order_row_fills_in_the_order(book):
    d = book.enter(BTC, "LONG", D("0.01"), D("50000"), 1)
    book.drain_facts()
    assert book.on_order_denied(d.order.client_order_id, "risk engine", 2).code is Code.ORDER_REJECTED
    (row,) = of(book.drain_facts(), OrderEvent)
    assert isinstance(row, OrderEvent) and row.event == "DENIED" and row.quantity == D("0.01")
    assert row.trade_id == d.order.trade_id and row.side == "BUY"


def test_every_warning_outcome_becomes_an_anomaly_and_info_does_not(book, venue):
    venue.open(ATOM, "LONG", "5", "10")
    book.drain_facts()
    book.exit(ATOM, price=D("10"), ts=2000)
    book.exit(ATOM, price=D("10"), ts=2001)  # EXIT_ALREADY_WORKING: INFO
    assert not of(book.drain_facts(), Anomaly)
    book.enter("NOPE", "LONG", D(1), D(1), 2002)
    (a,) = of(book.drain_facts(), Anomaly)
    assert (a.code, a.severity, a.origin) == ("UNKNOWN_INSTRUMENT", "ERROR", "kernel")


def test_bars_held_alone_is_snapshotted_every_n_bars():
    book = new_book(snapshot_every_bars=3)
    Venue(book).open(ATOM, "LONG", "5", "10")
    book.drain_facts()
    for i in range(7):
        book.on_bar(ATOM, D("10"), 5000 + i)
    assert [p.bars_held for p in position_states(book.drain_facts())] == [3, 6]
    quiet = new_book(snapshot_every_bars=0)
    Venue(quiet).open(ATOM, "LONG", "5", "10")
    quiet.drain_facts()
    quiet.on_bar(ATOM, D("10"), 5000)
    assert quiet.drain_facts() == [] and quiet.slot(ATOM).bars_held == 1
