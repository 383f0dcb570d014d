"""Liveness and safety of the trade book against the typed placement-outcome contract (issue 11 item 2).

A model venue and a model execution client drive the book through any sequence of entries, retracts,
exits, cancels and bars, and of venue answers: accepted (as a Nautilus event or a placement outcome),
rejected, denied, rate limited (nothing placed), unknown (placed or not, hidden from the book; resolved
later or never), canceled, expired, partial and duplicated fills. The harness plays the strategy only where
the design makes it: when the book puts an instrument into reconcile, the venue position is applied (and a
venue position no trade owns is adopted, as restore does).

Safety, after every step: no oversell, no flip, exits reduce-only; a slot closes once; legs sum to the
trade; the book knows every order it sent while the venue may still answer or fill it; no zero-size OPEN
row; seq strictly increasing; ledger totals equal their fold; the book holds what the venue holds whenever
the instrument is not reconciling; every intent is acted on or answered with a diagnostic code.

Liveness, at the end of every run (of random length, so at any point): from then on, with only bars and
the venue executing what it holds (unknown outcomes never resolved), every slot holding a position is
closed by max hold within a bounded number of bars. So no state, whatever led to it, freezes a position.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dolphin_nautilus.contracts.placement import (
    PlacementAccepted,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
    PlacementUnknown,
)
from dolphin_nautilus.domain import Code, OrderStatus, Purpose, RestoredSlot, SlotState
from dolphin_nautilus.domain.facts import PositionState, TradeClosed, TradeExitLeg

from .support import ATOM, BTC, SPECS, new_book

INSTRUMENTS = st.sampled_from([ATOM, BTC])
PRICE = {ATOM: (D("8"), D("12")), BTC: (D("40000"), D("60000"))}
BAR_NS = 60_000_000_000
MAX_HOLD_BARS = 4
UNKNOWN_TIMEOUT_NS = 3 * BAR_NS // 2
MAX_RETRY_AFTER_MS = 90_000  # 1.5 bars
# max hold, plus the unknown timeout, a retry wait, and the bars an exit and a reconcile take to land
LIVENESS_BARS = MAX_HOLD_BARS + 2 + 2 + 3


class VenueOrder:
    """The venue's and the execution client's view of one order the book sent."""

    def __init__(self, request) -> None:
        self.request = request
        self.filled = D(0)
        self.answered = False  # the execution client has told the book something about it
        self.placed = False  # the order reached the venue
        self.alive = False  # placed and still working at the venue
        self.unknown = False  # the book was told "unknown" and not (yet) the resolution
        self.ended = False  # the venue ended it (canceled, expired, fully filled) and said so


class BookLiveness(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = new_book(max_hold_bars=MAX_HOLD_BARS, unknown_outcome_timeout_ns=UNKNOWN_TIMEOUT_NS)
        self.ts = 0
        self.orders: dict[str, VenueOrder] = {}
        self.position: dict[str, D] = defaultdict(D)  # signed venue position per instrument
        self.mark: dict[str, D] = {ATOM: D("10"), BTC: D("50000")}
        self.delivered: list[tuple] = []
        self.seqs: dict[str, int] = {}
        self.closed: set[str] = set()
        self.legs: dict[str, list[TradeExitLeg]] = defaultdict(list)
        self.adopted = 0

    # ---------------------------------------------------------------------------------------- helpers
    def tick(self) -> int:
        self.ts += 1_000_000
        return self.ts

    def price(self, inst: str, frac: float) -> D:
        lo, hi = PRICE[inst]
        return SPECS[inst].round_price(lo + (hi - lo) * D(repr(frac)))

    def act(self, decision, inst: str, *, intent: bool = False) -> None:
        """Send what the book decided; an intent is never dropped silently."""
        if intent:
            assert decision.order is not None or decision.cancel is not None or decision.code is not Code.OK
        order = decision.order
        if order is not None:
            slot = self.book.live_slot(inst)
            if order.purpose is Purpose.EXIT:
                assert order.reduce_only and 0 < order.quantity <= slot.quantity, (order, slot)
                assert order.side == ("SELL" if slot.side == "LONG" else "BUY")
            assert order.client_order_id not in self.orders, "client order id reused"
            self.orders[order.client_order_id] = VenueOrder(order)
        if decision.cancel is not None:
            self.venue_cancel(decision.cancel.client_order_id)
        if decision.code is Code.STALE_STATE_RECONCILING or self.book.is_reconciling(inst):
            self.reconcile(inst)

    def venue_cancel(self, coid: str) -> None:
        order = self.orders[coid]
        if order.alive:
            order.alive = False
            order.ended = True
            self.book.on_order_canceled(coid, self.tick())
        else:
            self.book.on_cancel_rejected(coid, "not working", self.tick())

    def reconcile(self, inst: str) -> None:
        """The strategy's duty when the book reconciles: apply the venue's position; adopt an unowned one."""
        if not self.book.is_reconciling(inst):
            return
        self.book.resolve_reconcile(inst, self.position[inst], self.mark[inst], self.tick())
        if self.book.is_reconciling(inst) and self.book.live_slot(inst) is None and self.position[inst] != 0:
            self.adopted += 1
            qty = self.position[inst]
            adopted = RestoredSlot(
                trade_id=f"x{self.adopted:011d}",
                instrument_id=inst,
                side="LONG" if qty > 0 else "SHORT",
                quantity=abs(qty),
                entry_price=self.mark[inst],
                bars_held=0,
                realized_pnl=D(0),
                fees=D(0),
                legs=0,
                opened_ts=self.ts,
                order_seq=0,
            )
            assert self.book.restore_slot(adopted, ts=self.tick()).ok

    def pending(self) -> list[str]:
        return [c for c, o in self.orders.items() if not o.answered]

    def working(self) -> list[str]:
        return [c for c, o in self.orders.items() if o.alive]

    def unresolved(self) -> list[str]:
        return [c for c, o in self.orders.items() if o.unknown]

    def place(self, coid: str) -> None:
        order = self.orders[coid]
        order.placed = order.alive = True

    def fill(self, coid: str, part: D, frac: float) -> None:
        order = self.orders[coid]
        req = order.request
        inst = req.instrument_id
        qty = SPECS[inst].round_qty_down((req.quantity - order.filled) * part) or (req.quantity - order.filled)
        sign = 1 if req.side == "BUY" else -1
        pos = self.position[inst]
        if req.reduce_only:  # the venue never lets a reduce-only order grow or flip the position
            if pos == 0 or (pos > 0) == (sign > 0):
                order.alive = False
                order.ended = True
                self.book.on_order_expired(coid, self.tick())
                return
            qty = min(qty, abs(pos))
        order.filled += qty
        if order.filled >= req.quantity:
            order.alive, order.ended = False, True
        self.position[inst] = pos + sign * qty
        fill = (coid, f"f{len(self.delivered)}", qty, self.price(inst, frac), qty * D("0.001"))
        self.delivered.append(fill)
        self.act(self.book.on_fill(*fill, self.tick(), instrument_id=inst), inst)

    # ---------------------------------------------------------------------------------------- intents
    @rule(inst=INSTRUMENTS, long=st.booleans(), steps=st.integers(1, 60), p=st.floats(0, 1))
    def enter(self, inst, long, steps, p):
        qty = SPECS[inst].size_increment * steps * (20 if inst == BTC else 1)
        side = "LONG" if long else "SHORT"
        self.act(self.book.enter(inst, side, qty, self.price(inst, p), self.tick()), inst, intent=True)

    enter_again = enter  # hypothesis has no rule weights: aliases make a rule more likely

    @rule(inst=INSTRUMENTS, steps=st.none() | st.integers(1, 80), p=st.floats(0, 1))
    def exit(self, inst, steps, p):
        qty = None if steps is None else SPECS[inst].size_increment * steps
        decision = self.book.exit(inst, price=self.price(inst, p), ts=self.tick(), quantity=qty)
        self.act(decision, inst, intent=True)

    @rule(inst=INSTRUMENTS, fraction=st.sampled_from([D("0.1"), D("0.5"), D("0.97"), D("1")]), p=st.floats(0, 1))
    def retract(self, inst, fraction, p):
        decision = self.book.retract(inst, fraction=fraction, price=self.price(inst, p), ts=self.tick())
        self.act(decision, inst, intent=True)

    @rule(inst=INSTRUMENTS)
    def cancel(self, inst):
        self.act(self.book.cancel(inst, self.tick()), inst, intent=True)

    @rule(inst=INSTRUMENTS, p=st.floats(0, 1))
    def bar(self, inst, p):
        self.ts += BAR_NS
        self.mark[inst] = self.price(inst, p)
        self.act(self.book.on_bar(inst, self.mark[inst], self.ts), inst)

    bar_again = bar  # bars drive max hold and the unknown-outcome timeout: make them common

    # ---------------------------------------------------------------------- the execution client's word
    def answered(self, data) -> tuple[str, str]:
        coid = data.draw(st.sampled_from(self.pending()))
        self.orders[coid].answered = True
        return coid, self.orders[coid].request.instrument_id

    @precondition(lambda self: self.pending())
    @rule(data=st.data(), as_outcome=st.booleans())
    def accepted(self, data, as_outcome):
        coid, inst = self.answered(data)
        self.place(coid)
        if as_outcome:
            outcome = PlacementAccepted(client_order_id=coid, venue_order_id="v1", ts=self.tick())
            self.act(self.book.on_placement_outcome(outcome), inst)
        else:
            self.act(self.book.on_order_accepted(coid, "v" + coid[-8:], self.tick()), inst)

    accepted_again = accepted  # most orders are accepted

    @precondition(lambda self: self.pending())
    @rule(data=st.data(), how=st.sampled_from(["event", "outcome", "denied"]))
    def rejected(self, data, how):
        coid, inst = self.answered(data)
        if how == "event":
            decision = self.book.on_order_rejected(coid, "venue says no", self.tick())
        elif how == "outcome":
            outcome = PlacementRejected(client_order_id=coid, message="no", ts=self.tick(), venue_code=101204)
            decision = self.book.on_placement_outcome(outcome)
        else:
            decision = self.book.on_order_denied(coid, "risk engine", self.tick())
        self.act(decision, inst)

    @precondition(lambda self: self.pending())
    @rule(data=st.data(), retry_after_ms=st.integers(0, MAX_RETRY_AFTER_MS), nautilus_reject_too=st.booleans())
    def rate_limited(self, data, retry_after_ms, nautilus_reject_too):
        coid, inst = self.answered(data)
        book = self.book
        decision = book.on_placement_outcome(
            PlacementRateLimited(client_order_id=coid, retry_after_ms=retry_after_ms, message="429", ts=self.tick())
        )
        assert decision.code is Code.RATE_LIMITED
        assert book.order(coid) is None or book.order(coid).status is OrderStatus.NOT_PLACED
        if nautilus_reject_too:  # the Nautilus order is terminal too: its OrderRejected follows
            assert book.on_order_rejected(coid, "RATE_LIMITED", self.tick()).code is not Code.ORDER_REJECTED
        self.act(decision, inst)

    @precondition(lambda self: self.pending())
    @rule(data=st.data(), placed=st.booleans())
    def unknown(self, data, placed):
        coid, inst = self.answered(data)
        if placed:
            self.place(coid)
        self.orders[coid].unknown = True
        outcome = PlacementUnknown(client_order_id=coid, message="timeout", ts=self.tick())
        self.act(self.book.on_placement_outcome(outcome), inst)

    @precondition(lambda self: self.unresolved())
    @rule(data=st.data())
    def resolve_unknown(self, data):
        coid = data.draw(st.sampled_from(self.unresolved()))
        order = self.orders[coid]
        order.unknown = False
        outcome = PlacementResolved(
            client_order_id=coid, placed=order.placed, ts=self.tick(), venue_order_id="v2" if order.placed else None
        )
        self.act(self.book.on_placement_outcome(outcome), order.request.instrument_id)

    # --------------------------------------------------------------------------------------- the venue
    @precondition(lambda self: self.working())
    @rule(data=st.data(), part=st.sampled_from([D("0.25"), D("0.5"), D("1"), D("1")]), p=st.floats(0, 1))
    def venue_fills(self, data, part, p):
        self.fill(data.draw(st.sampled_from(self.working())), part, p)

    venue_fills_again = venue_fills

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def duplicate_fill(self, data):
        fill = data.draw(st.sampled_from(self.delivered))
        inst = self.orders[fill[0]].request.instrument_id
        self.act(self.book.on_fill(*fill, self.tick(), instrument_id=inst), inst)

    @precondition(lambda self: self.working())
    @rule(data=st.data(), expire=st.booleans())
    def venue_ends_order(self, data, expire):
        coid = data.draw(st.sampled_from(self.working()))
        self.orders[coid].alive = False
        self.orders[coid].ended = True
        inst = self.orders[coid].request.instrument_id
        end = self.book.on_order_expired if expire else self.book.on_order_canceled
        self.act(end(coid, self.tick()), inst)

    # ------------------------------------------------------------------------------------- liveness
    def from_here_on_only_bars(self):
        """Only bars from now on; the venue answers and executes what it gets; unknowns never resolve.
        Every position must be closed by max hold within LIVENESS_BARS bars."""
        for _ in range(LIVENESS_BARS):
            for coid in self.pending():
                order = self.orders[coid]
                order.answered = True
                self.place(coid)
                self.act(self.book.on_order_accepted(coid, "v3", self.tick()), order.request.instrument_id)
            while self.working():
                self.fill(self.working()[0], D(1), 0.5)
            for inst in (ATOM, BTC):
                self.ts += BAR_NS
                self.act(self.book.on_bar(inst, self.mark[inst], self.ts), inst)
                self.reconcile(inst)
        for inst in (ATOM, BTC):
            slot = self.book.live_slot(inst)
            assert slot is None or not slot.holds_position, f"{slot} still holds a position"
            assert self.position[inst] == 0, (inst, self.position[inst], slot)

    def teardown(self):
        self.from_here_on_only_bars()  # every run ends with the liveness check, whatever state it reached
        self.facts_are_sound()

    # ------------------------------------------------------------------------------------ invariants
    @invariant()
    def facts_are_sound(self):
        for fact in self.book.drain_facts():
            trade = getattr(fact, "trade_id", "")
            if isinstance(fact, PositionState):
                assert trade not in self.closed, "snapshot after close"
                if fact.status == "OPEN":
                    assert fact.quantity > 0 and fact.notional > 0, fact
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
    def book_knows_every_order_that_may_act(self):
        """An order the book sent is never forgotten while the venue may still answer or fill it (unanswered,
        working, or its outcome unresolved and not ended by a venue event): its late word is applied to its own
        trade, not taken as foreign."""
        for coid, order in self.orders.items():
            if not order.answered or order.alive or (order.unknown and not order.ended):
                assert self.book.order(coid) is not None, f"book forgot {coid}, which may still act"

    @invariant()
    def book_matches_venue(self):
        for inst in (ATOM, BTC):
            slot = self.book.live_slot(inst)
            if slot is not None:
                assert slot.quantity >= 0 and slot.ledger.fold() == slot.ledger.totals()
                if slot.state is SlotState.OPEN:
                    assert slot.quantity > 0 and slot.exit_order is None
                if slot.exit_order is not None:
                    assert slot.exit_order.is_active
            if self.book.is_reconciling(inst):
                continue
            held = slot.quantity if slot is not None else D(0)
            signed = held if slot is None or slot.side == "LONG" else -held
            assert signed == self.position[inst], (slot, self.position[inst])


BookLiveness.TestCase.settings = settings(
    max_examples=300, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestBookLiveness = BookLiveness.TestCase
