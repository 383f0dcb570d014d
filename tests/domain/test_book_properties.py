"""Property tests: random intents against a model venue with partial, duplicated and early fills, rejects,
cancels, rate limits and retracts. Invariants: no oversell, no flip, a slot closes exactly once, closed legs
sum to the entry and to the trade PnL, no zero-size OPEN snapshot, seq strictly increasing, ledger totals
equal their fold, and the book's size always equals the venue's position."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dolphin_nautilus.contracts.placement import PlacementResolved
from dolphin_nautilus.domain import OrderStatus, Purpose, SlotState
from dolphin_nautilus.domain.facts import PositionState, TradeClosed, TradeExitLeg

from .support import ATOM, BTC, SPECS, new_book

INSTRUMENTS = st.sampled_from([ATOM, BTC])
PRICE = {ATOM: (D("8"), D("12")), BTC: (D("40000"), D("60000"))}


class VenueOrder:
    def __init__(self, request) -> None:
        self.request = request
        self.filled = D(0)
        self.alive = True


class BookVersusVenue(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = new_book(max_hold_bars=6)
        self.ts = 0
        self.venue_orders: dict[str, VenueOrder] = {}
        self.position: dict[str, D] = defaultdict(D)  # signed venue position per instrument
        self.delivered: list[tuple] = []  # fills already delivered, for duplicates
        self.trade_counter = 0
        self.seqs: dict[str, int] = {}
        self.closed: set[str] = set()
        self.legs: dict[str, list[TradeExitLeg]] = defaultdict(list)

    # ---------------------------------------------------------------------------------- helpers
    def tick(self) -> int:
        self.ts += 1_000
        return self.ts

    def price(self, inst: str, frac: float) -> D:
        lo, hi = PRICE[inst]
        return SPECS[inst].round_price(lo + (hi - lo) * D(repr(frac)))

    def accept_decision(self, decision, inst: str) -> None:
        order = decision.order
        if order is None:
            return
        slot = self.book.slot(inst)
        if order.purpose is Purpose.EXIT:
            # never oversell, never flip: reduce-only, opposite side, within what remains
            assert order.reduce_only and 0 < order.quantity <= slot.quantity
            assert order.side == ("SELL" if slot.side == "LONG" else "BUY")
        self.venue_orders[order.client_order_id] = VenueOrder(order)

    def open_orders(self) -> list[str]:
        return [c for c, o in self.venue_orders.items() if o.alive]

    # ---------------------------------------------------------------------------------- intents
    @rule(inst=INSTRUMENTS, long=st.booleans(), steps=st.integers(1, 60), p=st.floats(0, 1))
    def enter(self, inst, long, steps, p):
        spec = SPECS[inst]
        qty = spec.size_increment * steps * (20 if inst == BTC else 1)
        self.accept_decision(
            self.book.enter(inst, "LONG" if long else "SHORT", qty, self.price(inst, p), self.tick()), inst
        )

    @rule(inst=INSTRUMENTS, steps=st.none() | st.integers(1, 80), p=st.floats(0, 1))
    def exit(self, inst, steps, p):
        qty = None if steps is None else SPECS[inst].size_increment * steps
        self.accept_decision(self.book.exit(inst, price=self.price(inst, p), ts=self.tick(), quantity=qty), inst)

    @rule(
        inst=INSTRUMENTS,
        fraction=st.sampled_from([D("0.1"), D("0.33"), D("0.5"), D("0.97"), D("1")]),
        p=st.floats(0, 1),
    )
    def retract(self, inst, fraction, p):
        self.accept_decision(
            self.book.retract(inst, fraction=fraction, price=self.price(inst, p), ts=self.tick()), inst
        )

    @rule(inst=INSTRUMENTS, p=st.floats(0, 1))
    def bar(self, inst, p):
        self.accept_decision(self.book.on_bar(inst, self.price(inst, p), self.tick()), inst)

    @rule(inst=INSTRUMENTS)
    def cancel(self, inst):
        self.book.cancel(inst, self.tick())

    # ---------------------------------------------------------------------------------- venue
    @precondition(lambda self: self.open_orders())
    @rule(data=st.data(), twice=st.booleans())
    def venue_accepts(self, data, twice):
        coid = data.draw(st.sampled_from(self.open_orders()))
        for _ in range(2 if twice else 1):
            self.book.on_order_accepted(coid, "v" + coid[-6:], self.tick())

    @precondition(lambda self: self.open_orders())
    @rule(data=st.data(), part=st.sampled_from([D("0.25"), D("0.5"), D("1")]), p=st.floats(0, 1))
    def venue_fills(self, data, part, p):
        coid = data.draw(st.sampled_from(self.open_orders()))
        order = self.venue_orders[coid]
        req = order.request
        spec = SPECS[req.instrument_id]
        qty = spec.round_qty_down((req.quantity - order.filled) * part) or (req.quantity - order.filled)
        sign = 1 if req.side == "BUY" else -1
        pos = self.position[req.instrument_id]
        if req.reduce_only:  # the venue never lets a reduce-only order flip the position
            if pos == 0 or (pos > 0) == (sign > 0):
                order.alive = False
                return
            qty = min(qty, abs(pos))
        order.filled += qty
        if order.filled >= req.quantity:
            order.alive = False
        self.position[req.instrument_id] = pos + sign * qty
        fill = (coid, f"f{self.ts}", qty, self.price(req.instrument_id, p), qty * D("0.001"))
        self.delivered.append(fill)
        self.book.on_fill(*fill, self.tick())

    # The venue fills more often than anything else happens (hypothesis has no rule weights).
    venue_fills_more = venue_fills
    venue_fills_again = venue_fills

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def duplicate_fill(self, data):
        fill = data.draw(st.sampled_from(self.delivered))
        self.book.on_fill(*fill, self.tick())

    @precondition(lambda self: any(self.venue_orders[c].filled == 0 for c in self.open_orders()))
    @rule(data=st.data(), how=st.sampled_from(["reject", "cancel", "lost", "found"]))
    def venue_ends_unfilled_order(self, data, how):
        coid = data.draw(st.sampled_from([c for c in self.open_orders() if self.venue_orders[c].filled == 0]))
        order = self.venue_orders[coid]
        if how == "found":  # outcome unknown, then found live by a query
            self.book.on_order_unknown(coid, "timeout", self.tick())
            self.book.on_placement_outcome(PlacementResolved(client_order_id=coid, placed=True, ts=self.tick()))
            return
        order.alive = False
        if how == "reject":
            self.book.on_order_rejected(coid, "venue says no", self.tick())
        elif how == "cancel":
            self.book.on_order_canceled(coid, self.tick())
            self.book.on_order_canceled(coid, self.tick())  # duplicated event
        else:  # outcome unknown, then a query says it never reached the venue
            self.book.on_order_unknown(coid, "timeout", self.tick())
            self.book.on_placement_outcome(PlacementResolved(client_order_id=coid, placed=False, ts=self.tick()))

    @precondition(lambda self: self.open_orders())
    @rule(data=st.data())
    def venue_cancels_partly_filled(self, data):
        coid = data.draw(st.sampled_from(self.open_orders()))
        self.venue_orders[coid].alive = False
        self.book.on_order_canceled(coid, self.tick())

    # ---------------------------------------------------------------------------------- invariants
    @invariant()
    def facts_are_sound(self):
        for fact in self.book.drain_facts():
            trade = getattr(fact, "trade_id", "")
            if isinstance(fact, PositionState):
                assert trade not in self.closed, "snapshot after close"
                if fact.status == "OPEN":
                    assert fact.quantity > 0 and fact.notional > 0, fact
                else:
                    assert fact.quantity == 0 and fact.notional == 0
                assert fact.seq > self.seqs.get(trade, 0), "seq must strictly increase"
                self.seqs[trade] = fact.seq
            elif isinstance(fact, TradeExitLeg):
                assert trade not in self.closed and fact.quantity > 0 and fact.remaining_quantity >= 0
                self.legs[trade].append(fact)
            elif isinstance(fact, TradeClosed):
                assert trade not in self.closed, "closed twice"
                self.closed.add(trade)
                legs = self.legs[trade]
                assert sum(leg.quantity for leg in legs) == fact.quantity
                assert sum(leg.realized_pnl for leg in legs) == fact.realized_pnl
                assert [leg.leg_no for leg in legs] == list(range(1, len(legs) + 1))
                assert legs[-1].is_final and not any(leg.is_final for leg in legs[:-1])

    @invariant()
    def book_matches_venue(self):
        for inst in (ATOM, BTC):
            slot = self.book.slot(inst)
            live = slot is not None and slot.is_live
            held = slot.quantity if live else D(0)
            assert held >= 0
            if live:
                assert slot.ledger.fold() == slot.ledger.totals()
                signed = held if slot.side == "LONG" else -held
            else:
                signed = D(0)
            assert signed == self.position[inst], (slot, self.position[inst])
            if slot is not None and slot.state is SlotState.OPEN:
                assert slot.quantity > 0
            if slot is not None and slot.exit_order is not None:
                assert slot.exit_order.status is not OrderStatus.FILLED


BookVersusVenue.TestCase.settings = settings(
    max_examples=300, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestBookVersusVenue = BookVersusVenue.TestCase
