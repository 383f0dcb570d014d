"""The typed placement outcomes reach the book through `hand_to_book`, the one dispatch (no reason parsing)."""

from __future__ import annotations

from decimal import Decimal as D

from dolphin_nautilus.contracts.placement import (
    PlacementAccepted,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
    PlacementUnknown,
)
from dolphin_nautilus.domain import Code, OrderStatus, SlotState
from dolphin_nautilus.strategy.order_events import hand_to_book
from tests.domain.support import BTC, new_book


def entered_book():
    book = new_book()
    decision = book.enter(BTC, "LONG", D("0.01"), D("60000"), ts=1)
    return book, decision.order.client_order_id


def test_definitive_reject_with_venue_code_sends_the_entry_back_to_idle():
    book, coid = entered_book()
    decision = hand_to_book(
        book, PlacementRejected(client_order_id=coid, message="101204 margin", ts=2, venue_code=101204)
    )
    assert decision.outcome.code is Code.ORDER_REJECTED
    assert book.slot(BTC) is None or book.slot(BTC).state is SlotState.IDLE


def test_rate_limited_carries_its_retry_after_to_the_book():
    book, coid = entered_book()
    decision = hand_to_book(book, PlacementRateLimited(client_order_id=coid, retry_after_ms=750, message="x", ts=2))
    assert decision.outcome.code is Code.RATE_LIMITED and decision.outcome.details["retry_after_ms"] == 750


def test_unknown_then_resolved_not_placed_frees_the_slot():
    book, coid = entered_book()
    assert (
        hand_to_book(book, PlacementUnknown(client_order_id=coid, message="HTTP 504", ts=2)).outcome.code
        is Code.UNKNOWN_ORDER_OUTCOME
    )
    assert book.order(coid).status is OrderStatus.UNKNOWN
    assert hand_to_book(book, PlacementResolved(client_order_id=coid, placed=False, ts=3)).ok
    assert book.order(coid).status is OrderStatus.NOT_PLACED
    assert book.live_slot(BTC) is None  # the slot is free: a new entry is sent at once, under a new id
    again = book.enter(BTC, "LONG", D("0.01"), D("60000"), ts=4)
    assert again.order is not None and again.order.client_order_id != coid


def test_kinds_a_nautilus_event_carries_are_left_to_that_event():
    book, coid = entered_book()
    assert hand_to_book(book, PlacementAccepted(client_order_id=coid, venue_order_id="9", ts=2)) is None
    assert hand_to_book(book, PlacementResolved(client_order_id=coid, placed=True, ts=2, venue_order_id="9")) is None
