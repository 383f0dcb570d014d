"""The strategy's way out: the book's decisions become Nautilus orders and cancels, and the book's facts go on
the message bus (`FACTS_TOPIC`) for the journal actor. Also the backtest's seed orders that re-create a
restored position in the simulated venue.

`OrderSubmission` is the base of `DolphinStrategy` (strategy.py) and of its other parts (order_events.py,
net_position.py): it holds the state they share, set up by `DolphinStrategy.__init__` and `on_start`.
"""

from __future__ import annotations

from collections import Counter

from nautilus_trader.model.enums import OrderSide as NtOrderSide
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, PositionId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.contracts.restore import RestoredSlot
from dolphin_nautilus.contracts.topics import FACTS_TOPIC
from dolphin_nautilus.domain.book import TradeBook
from dolphin_nautilus.domain.decisions import OK_DECISION as _OK
from dolphin_nautilus.domain.decisions import Decision
from dolphin_nautilus.domain.facts import Fact


class OrderSubmission(Strategy):
    """Decisions -> orders, facts -> the bus. Not a strategy of its own: `DolphinStrategy` is."""

    # Set up by DolphinStrategy.__init__ (the book by on_start).
    _book: TradeBook | None
    _instrument_ids: dict[str, InstrumentId]
    _pending_seeds: dict[str, RestoredSlot]
    _seed_orders: set[str]  # client order ids of seed orders: their events are not the book's
    _position_per_trade: bool
    diagnostics: Counter[str]

    @property
    def book(self) -> TradeBook:
        """The trade book, built on start (from the instruments in the cache)."""
        if self._book is None:
            raise RuntimeError("DolphinStrategy has not started: it has no book yet")
        return self._book

    def _position_of_trade(self, instrument_id: str, trade_id: str) -> PositionId | None:
        """With a HEDGING strategy OMS (the backtest: `oms_type` in the config) each trade is its own Nautilus
        position, named after it; the venue stays NETTING, and one trade per instrument is open at a time, so
        fills, fees and margin are those of the netted position. Why: a NETTING strategy re-opens one position
        per instrument, and NautilusTrader 1.231 then snapshots each finished cycle and re-unpickles all of an
        instrument's snapshots on every fill (the portfolio prunes the other instruments' snapshot counts), a
        cost that grows with the run. Live keeps the venue's netted position: None."""
        if not self._position_per_trade:
            return None
        return PositionId(f"{instrument_id}-{trade_id}")

    def _act(self, decision: Decision) -> None:
        if decision is _OK and not self.book.has_facts:
            return
        outcome = decision.outcome
        self.diagnostics[outcome.code.value] += 1
        if outcome.details.get("dust_widened"):
            self.diagnostics["RETRACT_DUST_FULL_CLOSE"] += 1
        request = decision.order
        if request is not None:
            instrument_id = self._instrument_ids[request.instrument_id]
            instrument = self.cache.instrument(instrument_id)
            order = self.order_factory.market(
                instrument_id=instrument_id,
                order_side=NtOrderSide.BUY if request.side == "BUY" else NtOrderSide.SELL,
                quantity=instrument.make_qty(request.quantity),
                reduce_only=request.reduce_only,
                client_order_id=ClientOrderId(request.client_order_id),
            )
            self.submit_order(order, position_id=self._position_of_trade(request.instrument_id, request.trade_id))
        cancel = decision.cancel
        if cancel is not None:
            order = self.cache.order(ClientOrderId(cancel.client_order_id))
            if order is not None and order.is_open:
                self.cancel_order(order)
        self._publish_facts()

    def _publish_facts(self) -> None:
        facts: list[Fact] = self.book.drain_facts()
        publish = self.msgbus.publish
        for fact in facts:
            publish(FACTS_TOPIC, fact)

    def _seed_position(self, iid: str) -> None:
        """Backtest only: open the simulated venue position behind a restored slot, at the first bar."""
        snapshot = self._pending_seeds.pop(iid, None)
        if snapshot is None:
            return
        instrument_id = self._instrument_ids[iid]
        instrument = self.cache.instrument(instrument_id)
        coid = f"{self.config.client_order_prefix}-{snapshot.trade_id[:12]}-s{snapshot.order_seq}"
        self._seed_orders.add(coid)
        self.submit_order(
            self.order_factory.market(
                instrument_id=instrument_id,
                order_side=NtOrderSide.BUY if snapshot.side == "LONG" else NtOrderSide.SELL,
                quantity=instrument.make_qty(snapshot.quantity),
                client_order_id=ClientOrderId(coid),
            ),
            position_id=self._position_of_trade(iid, snapshot.trade_id),
        )
