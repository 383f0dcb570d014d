"""The book never forgets an order it sent while the venue may still answer or fill it (hypothesis found the
case below in tests/domain/test_book_liveness.py: a reconcile finished a slot whose entry was still in
flight, a restore then retired it, and the entry's rate limit came back as UNKNOWN_CLIENT_ORDER)."""

from __future__ import annotations

from decimal import Decimal as D

from dolphin_nautilus.contracts.placement import PlacementRateLimited, PlacementUnknown
from dolphin_nautilus.domain import Code, OrderStatus, RestoredSlot

from .support import BTC, new_book

BAR = 60_000_000_000


def test_an_entry_in_flight_is_still_known_after_reconcile_and_restore_retire_its_slot():
    book = new_book(max_hold_bars=4, unknown_outcome_timeout_ns=BAR)
    first = book.enter(BTC, "LONG", D("0.01"), D("50000"), 1).order.client_order_id
    book.on_placement_outcome(PlacementUnknown(client_order_id=first, message="timeout", ts=2))
    assert book.on_bar(BTC, D("50000"), 2 * BAR).code is Code.STALE_STATE_RECONCILING
    book.resolve_reconcile(BTC, D(0), D("50000"), 2 * BAR + 1)  # the venue shows nothing yet
    assert book.live_slot(BTC) is None and book.order(first).status is OrderStatus.RECONCILED

    second = book.enter(BTC, "SHORT", D("0.01"), D("50000"), 2 * BAR + 2).order.client_order_id
    # the first entry was placed after all: its late fill is attributed to its own (finished) trade
    assert book.on_fill(first, "t1", D("0.005"), D("50000"), D(0), 2 * BAR + 3).code is Code.FILL_AFTER_CLOSE
    mismatch = book.resolve_reconcile(BTC, D("0.005"), D("50000"), 2 * BAR + 4)
    assert mismatch.code is Code.VENUE_POSITION_MISMATCH and book.live_slot(BTC) is None
    adopted = RestoredSlot(
        trade_id="x00000000001",
        instrument_id=BTC,
        side="LONG",
        quantity=D("0.005"),
        entry_price=D("50000"),
        bars_held=0,
        realized_pnl=D(0),
        fees=D(0),
        legs=0,
        opened_ts=2 * BAR + 5,
        order_seq=0,
    )
    assert book.restore_slot(adopted, ts=2 * BAR + 5).ok

    # both earlier orders may still act at the venue: the book still knows them
    assert book.order(second).status is OrderStatus.SUBMITTED
    assert book.order(first) is not None
    limited = book.on_placement_outcome(
        PlacementRateLimited(client_order_id=second, retry_after_ms=0, message="429", ts=2 * BAR + 6)
    )
    assert limited.code is Code.RATE_LIMITED
    assert book.order(second).status is OrderStatus.NOT_PLACED
    assert book.live_slot(BTC).trade_id == "x00000000001"  # the adopted position is untouched


def test_orders_that_ended_are_forgotten_when_their_trade_is_retired():
    book = new_book()
    coids = []
    for n in range(3):
        entry = book.enter(BTC, "LONG", D("0.01"), D("50000"), 10 * n + 1).order.client_order_id
        book.on_order_accepted(entry, "v", 10 * n + 2)
        book.on_fill(entry, f"e{n}", D("0.01"), D("50000"), D(0), 10 * n + 3)
        exit_ = book.exit(BTC, price=D("50000"), ts=10 * n + 4).order.client_order_id
        book.on_fill(exit_, f"x{n}", D("0.01"), D("50000"), D(0), 10 * n + 5)
        coids.append((entry, exit_))
    assert all(book.order(c) is None for c in coids[0])  # two trades back, ended: forgotten (bounded memory)
    assert all(book.order(c) is not None for c in coids[2])  # the latest finished trade is still known
