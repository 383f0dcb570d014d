"""`DolphinStrategy`: the Nautilus Strategy that owns the trade book. It does no I/O.

It turns Nautilus events into calls on the pure `TradeBook`, turns the book's decisions into Nautilus orders,
and publishes the book's facts on the message bus (`FACTS_TOPIC`) for the journal actor. The same class runs
in a `BacktestEngine` and in a live `TradingNode`.

What an order event cannot say (rate limited: nothing placed; unknown: being resolved; resolved; a definitive
reject with the venue's code) arrives typed on `PLACEMENT_OUTCOME_TOPIC` from the execution client, before the
Nautilus event it explains; `hand_to_book` is the one place it meets the book. An OrderRejected with no
published outcome (the backtest's simulated venue, the risk engine) is a definitive reject. No reject reason is
parsed.

Targets are state (`TargetBoard`): the latest target per instrument is kept and applied whenever it is
actionable (a bar, the end of min-hold, the end of a rate-limit wait, after a reject), whatever its ts; an
exit target is never dropped. When the book puts an instrument into reconcile (an order outcome unknown past
`unknown_outcome_timeout_s`, a fill after close, an overfill), the strategy applies the venue's position as
the Nautilus cache holds it (the execution client keeps it current) on the next bar, so no slot stays stuck.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from nautilus_trader.common.events import TimeEvent
from nautilus_trader.config import StrategyConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide as NtOrderSide
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
)
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, PositionId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.contracts.control import FLATTEN_REASON, FLATTEN_TOPIC, FlattenRequest
from dolphin_nautilus.contracts.placement import (
    PLACEMENT_OUTCOME_TOPIC,
    PlacementAccepted,
    PlacementOutcome,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
)
from dolphin_nautilus.contracts.restore import (
    RESTORE_HANDOVER_CACHE_KEY,
    VENUE_RECONCILED_TOPIC,
    RestoredSlot,
    VenueReconciled,
    decode_handover,
)
from dolphin_nautilus.contracts.topics import FACTS_TOPIC, SIGNAL_TOPIC, bar_type_name
from dolphin_nautilus.domain.book import TradeBook
from dolphin_nautilus.domain.decisions import OK_DECISION as _OK
from dolphin_nautilus.domain.decisions import Decision
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.domain.facts import Fact
from dolphin_nautilus.domain.identifiers import start_epoch
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.domain.order_records import Purpose
from dolphin_nautilus.domain.signal_policy import Intent, IntentKind, ReferenceSignalModel, TargetBoard, TargetPolicy
from dolphin_nautilus.resources import spec_of_instrument


def hand_to_book(book: TradeBook, outcome: PlacementOutcome) -> Decision | None:
    """The one place a placement outcome meets the book. None for the kinds a Nautilus event carries anyway:
    an accepted order, and an unknown resolved as placed (the exec client's OrderAccepted follows)."""
    if isinstance(outcome, PlacementAccepted) or (isinstance(outcome, PlacementResolved) and outcome.placed):
        return None
    return book.on_placement_outcome(outcome)


def _ends_with_reject(outcome: PlacementOutcome) -> bool:
    """The execution client follows these with an OrderRejected, which the outcome has already explained."""
    if isinstance(outcome, PlacementResolved):
        return not outcome.placed
    return isinstance(outcome, (PlacementRejected, PlacementRateLimited))


# Refusals a later chance may lift (an order in flight, a wait, a reconcile): the target stays pending.
_TRANSIENT_REFUSALS = frozenset(
    {
        Code.RATE_LIMITED,
        Code.INTENT_BLOCKED,
        Code.SLOT_BUSY,
        Code.ENTRY_IN_FLIGHT,
        Code.EXIT_ALREADY_WORKING,
        Code.UNKNOWN_ORDER_OUTCOME,
        Code.STALE_STATE_RECONCILING,
    }
)


def bar_type_for(instrument_id: str, minutes: int) -> BarType:
    """The venue's closed 1..n-minute bars the strategy trades on (named in contracts.topics)."""
    return BarType.from_str(bar_type_name(instrument_id, minutes))


class DolphinStrategyConfig(StrategyConfig, frozen=True):
    instrument_ids: list[str]
    namespace: str
    client_order_prefix: str
    bar_minutes: int = 1
    trade_notional_usdt: str = "250"
    max_hold_bars: int = 250
    signal_source: str = "reference"  # reference | file | hazelcast
    fast_bars: int = 20
    slow_bars: int = 120
    full_exposure_spread: float = 0.004
    emit_step: float = 0.05
    enter_above: float = 0.5
    retract_step: float = 0.2
    min_hold_bars: int = 5
    # An order outcome still unknown this long puts its slot into reconcile against the venue position.
    unknown_outcome_timeout_s: float = 10.0
    reconcile_retry_bars: int = 10  # a reconcile the venue position did not settle is tried again this often
    snapshot_every_bars: int = 10  # bars-only snapshots; 1 makes bars_held survive a crash exactly
    seed_restored_positions: bool = False  # backtest: re-create restored positions with seed orders
    trade_from_ns: int = 0  # bars before this only warm up the signal models (a restarted run's history)


class DolphinStrategy(Strategy):
    """Takes only its config (importable). The book is built on start from the instruments in the Nautilus
    cache (the venue's own precisions and minimums), which the data side loaded before strategies start."""

    def __init__(self, config: DolphinStrategyConfig) -> None:
        super().__init__(config)
        self._specs: dict[str, InstrumentSpec] = {}
        self._book: TradeBook | None = None
        self._policy = TargetPolicy(
            trade_notional=Decimal(config.trade_notional_usdt),
            enter_above=config.enter_above,
            retract_step=config.retract_step,
            min_hold_bars=config.min_hold_bars,
        )
        self._bar_type_of = {iid: bar_type_for(iid, config.bar_minutes) for iid in config.instrument_ids}
        self._bar_types = {bar_type: iid for iid, bar_type in self._bar_type_of.items()}
        self._models = (
            {
                iid: ReferenceSignalModel(
                    config.fast_bars, config.slow_bars, config.full_exposure_spread, config.emit_step
                )
                for iid in config.instrument_ids
            }
            if config.signal_source == "reference"
            else {}
        )
        self._trade_from_ns = config.trade_from_ns
        self._instrument_ids = {iid: InstrumentId.from_str(iid) for iid in config.instrument_ids}
        self._pending_seeds: dict[str, RestoredSlot] = {}
        self._seed_orders: set[str] = set()
        self._outcome_handed: set[str] = set()  # client order ids whose OrderRejected the outcome explained
        self._board = TargetBoard(self._policy)
        self._exit_wanted: dict[str, str] = {}  # instrument -> reason of a rejected exit no target re-asks
        self._reconcile_tried: dict[str, int] = {}  # instrument -> bars since the last reconcile attempt
        self.diagnostics: Counter[str] = Counter()
        self.bars_seen = 0
        self._position_per_trade = self.oms_type == OmsType.HEDGING

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

    @property
    def book(self) -> TradeBook:
        """The trade book, built on start (from the instruments in the cache)."""
        if self._book is None:
            raise RuntimeError("DolphinStrategy has not started: it has no book yet")
        return self._book

    # ----------------------------------------------------------------------------------------- lifecycle
    def on_start(self) -> None:
        self._book = self._new_book()
        self._apply_restore()
        self.msgbus.subscribe(VENUE_RECONCILED_TOPIC, self._on_venue_reconciled)
        self.msgbus.subscribe(PLACEMENT_OUTCOME_TOPIC, self._on_placement_outcome)
        self.msgbus.subscribe(FLATTEN_TOPIC, self._on_flatten_request)
        for bar_type in self._bar_types:
            self.subscribe_bars(bar_type)
        if self.config.signal_source != "reference":
            self.msgbus.subscribe(SIGNAL_TOPIC, self._on_signal_message)

    def _new_book(self) -> TradeBook:
        config = self.config
        missing = [
            iid for iid, instrument_id in self._instrument_ids.items() if self.cache.instrument(instrument_id) is None
        ]
        if missing:
            raise RuntimeError(f"instruments {missing} are not in the cache: the venue did not load them")
        self._specs = {
            iid: spec_of_instrument(self.cache.instrument(instrument_id))
            for iid, instrument_id in self._instrument_ids.items()
        }
        return TradeBook(
            self._specs,
            namespace=config.namespace,
            client_order_prefix=config.client_order_prefix,
            max_hold_bars=config.max_hold_bars,
            snapshot_every_bars=config.snapshot_every_bars,
            id_epoch=start_epoch(self.clock.timestamp_ns()),  # ids of this life never repeat a previous life's
            unknown_outcome_timeout_ns=int(config.unknown_outcome_timeout_s * 1_000_000_000),
        )

    def on_stop(self) -> None:
        # A final snapshot of every live slot, so a restart restores exact bars_held and legs.
        self.book.snapshot_all(self.clock.timestamp_ns())
        self._publish_facts()

    def _apply_restore(self) -> None:
        raw = self.cache.get(RESTORE_HANDOVER_CACHE_KEY)
        if raw is None:
            return  # no restore actor ran (tests of the bare strategy): nothing to restore
        handover = decode_handover(bytes(raw))
        if handover.safe_mode:
            self.book.block_entries(handover.safe_mode)
            self.log.warning(f"SAFE MODE (exits only): {handover.safe_mode}")
        for snapshot in handover.slots:
            self._act(self.book.restore_slot(snapshot, ts=self.clock.timestamp_ns()))
            if self.config.seed_restored_positions:
                self._pending_seeds[snapshot.instrument_id] = snapshot
        self._flatten(handover.flatten)
        self._publish_facts()

    def _flatten(self, instrument_ids: list[str]) -> None:
        """Exit at once the slots restore adopted from venue positions no trade owned (config: flatten)."""
        for iid in instrument_ids:
            slot = self.book.slot(iid)
            if slot is not None:
                self._act(
                    self.book.exit(iid, price=slot.entry_price, ts=self.clock.timestamp_ns(), reason="RESTORE_FLATTEN")
                )

    def _on_flatten_request(self, request: FlattenRequest) -> None:
        """The operator's `dolphin-ctl flatten --apply` (via the node-control actor): exit each live slot now,
        reduce-only, priced at the last bar close (the entry price before any bar)."""
        book, ts = self.book, self.clock.timestamp_ns()
        if book is None:
            return  # not started: nothing is held
        for iid in request.instrument_ids:
            slot = book.live_slot(iid)
            if slot is not None:
                bar = self.cache.bar(self._bar_type_of[iid])
                price = bar.close.as_decimal() if bar is not None else slot.entry_price
                self._act(book.exit(iid, price=price, ts=ts, reason=FLATTEN_REASON))
        self._publish_facts()

    def _on_venue_reconciled(self, message: VenueReconciled) -> None:
        """The venue answered after a failed start-up query: the venue is the truth for size."""
        ts = self.clock.timestamp_ns()
        adopted = set()
        for snapshot in message.adopt:
            self._act(self.book.restore_slot(snapshot, ts=ts))
            adopted.add(snapshot.instrument_id)
        for iid, (qty, avg_px) in message.positions.items():
            if iid in adopted or (self.book.live_slot(iid) is None and Decimal(qty) == 0):
                continue
            self._act(self.book.begin_reconcile(iid, "venue answered after restore", ts))
            self._act(self.book.resolve_reconcile(iid, Decimal(qty), Decimal(avg_px), ts))
        self._flatten(message.flatten)
        if message.safe_mode:
            self.book.block_entries(message.safe_mode)
        else:
            self.book.allow_entries()
        self._publish_facts()

    # -------------------------------------------------------------------------------------------- data
    def on_bar(self, bar: Bar) -> None:
        # Nautilus hands on_bar only the bar types this strategy subscribed (one per instrument), so the
        # instrument id names the bar; a BarType as dict key costs ~1.4 us a bar (it hashes its formatted text).
        iid = bar.bar_type.instrument_id.value
        if iid not in self._instrument_ids:
            return
        self.bars_seen += 1
        close = bar.close
        ts = bar.ts_event
        model = self._models.get(iid)
        if ts < self._trade_from_ns:
            if model is not None:
                model.update(close.as_double())  # warm-up only: no orders, no bars_held
            return
        if self._pending_seeds:
            self._seed_position(iid)
        book = self.book
        price = None
        if book.is_reconciling(iid):
            self._reconcile_with_venue(iid, ts)
        if book.live_slot(iid) is not None:
            price = close.as_decimal()
            self._act(book.on_bar(iid, price, ts))
            if book.is_reconciling(iid):  # an unknown outcome went overdue on this bar: the venue decides now
                self._reconcile_with_venue(iid, ts)
        board = self._board
        if model is not None:
            target = model.update(close.as_double())
            if target is not None:
                board.update(iid, target, 1.0, ts)
        if self._exit_wanted or board.is_pending(iid):  # most bars: nothing waits, no Decimal is made
            price = price if price is not None else close.as_decimal()
            self._retry_exit(iid, price, ts)
            self._apply_target(iid, price, ts)

    def _on_signal_message(self, signal: Data) -> None:
        """A `DolphinSignal` (actors.signals) on SIGNAL_TOPIC: read by its fields, so the strategy does not
        import the actors that publish it. The target is kept; it is applied now if a price is known, else at
        the first bar."""
        iid = signal.instrument_id.value
        if iid not in self._specs:
            self.diagnostics["SIGNAL_UNKNOWN_INSTRUMENT"] += 1
            return
        if not self._board.update(iid, signal.target, signal.strength, signal.ts_event):
            return
        bar = self.cache.bar(self._bar_type_of[iid])
        if bar is None:
            self.diagnostics["SIGNAL_BEFORE_FIRST_BAR"] += 1  # kept: acted on at the first bar
            return
        self._apply_target(iid, bar.close.as_decimal(), self.clock.timestamp_ns())

    def _target_blocked(self, iid: str, ts: int) -> bool:
        """Nothing can be sent for the instrument now; the target stays pending for the next chance."""
        book = self.book
        if book.is_reconciling(iid) or ts < book.retry_not_before(iid):
            return True
        slot = book.live_slot(iid)
        if slot is None:
            return bool(book.entries_blocked) and self._board.latest(iid) != 0
        return not slot.can_exit  # an entry or an exit works, or the slot is reconciling

    def _apply_target(self, iid: str, price: Decimal, ts: int) -> None:
        """Act on the instrument's latest target if it asks for something now (TargetBoard)."""
        board = self._board
        if not board.is_pending(iid):
            return
        slot = self.book.live_slot(iid)
        held = slot if slot is not None and slot.holds_position else None
        intent = board.next_intent(
            iid,
            price,
            held.side.value if held else None,
            held.quantity if held else Decimal(0),
            held.bars_held if held else 0,
            blocked=self._target_blocked(iid, ts),
        )
        if intent is None:
            return
        decision = self._decide(iid, intent, price, ts)
        if decision.order is not None or decision.outcome.code not in _TRANSIENT_REFUSALS:
            board.accepted(iid)  # sent, or refused for a reason a later chance would not change
        self._act(decision)

    def _decide(self, iid: str, intent: Intent, price: Decimal, ts: int) -> Decision:
        if intent.kind is IntentKind.ENTER:
            return self.book.enter(iid, intent.side, intent.quantity, price, ts, intent.reason)
        if intent.kind is IntentKind.RETRACT:
            return self.book.retract(iid, quantity=intent.quantity, price=price, ts=ts, reason=intent.reason)
        self._exit_wanted.pop(iid, None)
        return self.book.exit(iid, price=price, ts=ts, reason=intent.reason)

    def _retry_exit(self, iid: str, price: Decimal, ts: int) -> None:
        """An exit the venue refused that no target asks for again (a restore flatten): sent again as soon as
        the slot can exit. (Max-hold exits are re-sent by the book itself, signal exits by the board.)"""
        reason = self._exit_wanted.get(iid)
        if reason is None:
            return
        slot = self.book.live_slot(iid)
        if slot is None or not slot.holds_position:
            del self._exit_wanted[iid]
            return
        if slot.can_exit and not self.book.is_reconciling(iid) and ts >= self.book.retry_not_before(iid):
            del self._exit_wanted[iid]
            self._act(self.book.exit(iid, price=price, ts=ts, reason=reason))

    def _after_refusal(self, coid: str) -> None:
        """The venue (or the risk engine) refused an order, or rate limited it: the decision is taken again at
        the next chance (the board's target for signal orders, `_exit_wanted` for others)."""
        record = self.book.order(coid)
        if record is None:
            return
        iid = record.instrument_id
        if record.reason.startswith("SIGNAL"):
            self._board.reopen(iid)
        elif record.purpose is Purpose.EXIT and record.reason != "MAX_HOLD":
            self._exit_wanted[iid] = record.reason
        retry_at = self.book.retry_not_before(iid)
        if retry_at > self.clock.timestamp_ns():
            self._wake_at(iid, retry_at)

    def _wake_at(self, iid: str, ts: int) -> None:
        """Act on the instrument again when a rate-limit wait ends, not only at the next bar."""
        name = f"dolphin-retry-{iid}"
        if name in self.clock.timer_names:
            self.clock.cancel_timer(name)
        self.clock.set_time_alert_ns(name, ts, self._on_wake)

    def _on_wake(self, event: TimeEvent) -> None:
        iid = event.name.removeprefix("dolphin-retry-")
        bar = self.cache.bar(self._bar_type_of[iid])
        if bar is not None:
            ts = self.clock.timestamp_ns()
            self._retry_exit(iid, bar.close.as_decimal(), ts)
            self._apply_target(iid, bar.close.as_decimal(), ts)

    # --------------------------------------------------------------------------------------- reconcile
    def _reconcile_with_venue(self, iid: str, ts: int) -> None:
        """The book is reconciling the instrument: apply the venue's position as the Nautilus cache holds it
        (one-way mode: one net position per instrument). Tried at once, then every `reconcile_retry_bars`
        bars while the venue position does not settle it (e.g. a venue position no trade owns)."""
        tried = self._reconcile_tried.get(iid)
        if tried is not None and tried < self.config.reconcile_retry_bars:
            self._reconcile_tried[iid] = tried + 1
            return
        signed, avg_px = self._venue_position(iid)
        self.diagnostics["venue_reconciles"] += 1  # a count, not a fault code
        self._act(self.book.resolve_reconcile(iid, signed, avg_px, ts))
        self._board.reopen(iid)  # the venue's position may differ from what the target asked: decide again
        if self.book.is_reconciling(iid):
            self._reconcile_tried[iid] = 0
        else:
            self._reconcile_tried.pop(iid, None)

    def _venue_position(self, iid: str) -> tuple[Decimal, Decimal]:
        signed, avg_px = Decimal(0), Decimal(0)
        for position in self.cache.positions_open(instrument_id=self._instrument_ids[iid]):
            qty = position.signed_decimal_qty()
            signed += qty
            if qty:
                avg_px = Decimal(str(position.avg_px_open))
        return signed, avg_px

    # ---------------------------------------------------------------------------------------- decisions
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

    # ------------------------------------------------------------------------------------ order events
    def on_order_accepted(self, event: OrderAccepted) -> None:
        self._act(self.book.on_order_accepted(event.client_order_id.value, event.venue_order_id.value, event.ts_event))

    def _on_placement_outcome(self, outcome: PlacementOutcome) -> None:
        coid = outcome.client_order_id
        if coid in self._seed_orders:
            self.log.error(f"seed order {coid}: {outcome}")
            return
        if _ends_with_reject(outcome):
            self._outcome_handed.add(coid)
        decision = hand_to_book(self.book, outcome)
        if decision is not None:
            self._act(decision)
            if _ends_with_reject(outcome):
                self._after_refusal(coid)

    def on_order_rejected(self, event: OrderRejected) -> None:
        coid = event.client_order_id.value
        if coid in self._outcome_handed:
            self._outcome_handed.discard(coid)  # the typed outcome before it told the book everything
            return
        self._on_refused(coid, event.reason, event.ts_event)

    def on_order_denied(self, event: OrderDenied) -> None:
        coid = event.client_order_id.value
        if coid in self._seed_orders:
            self.log.error(f"seed order {coid} denied: {event.reason}")
            return
        self._act(self.book.on_order_denied(coid, f"denied by risk engine: {event.reason}", event.ts_event))
        self._after_refusal(coid)

    def on_order_expired(self, event: OrderExpired) -> None:
        self._act(self.book.on_order_expired(event.client_order_id.value, event.ts_event))

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        self._act(self.book.on_modify_rejected(event.client_order_id.value, event.reason, event.ts_event))

    def _on_refused(self, coid: str, reason: str, ts: int) -> None:
        """A refusal no placement outcome explained (simulated venue): a definitive reject."""
        if coid in self._seed_orders:
            self.log.error(f"seed order {coid} refused: {reason}")
            return
        self._act(self.book.on_order_rejected(coid, reason, ts))
        self._after_refusal(coid)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._act(self.book.on_order_canceled(event.client_order_id.value, event.ts_event))

    def on_order_cancel_rejected(self, event: OrderCancelRejected) -> None:
        self._act(self.book.on_cancel_rejected(event.client_order_id.value, event.reason, event.ts_event))

    def on_order_filled(self, event: OrderFilled) -> None:
        coid = event.client_order_id.value
        if coid in self._seed_orders:
            return  # a seed re-creates a restored position in the simulated venue; the book already has it
        self._act(
            self.book.on_fill(
                coid,
                event.trade_id.value,
                event.last_qty.as_decimal(),
                event.last_px.as_decimal(),
                event.commission.as_decimal(),
                event.ts_event,
                event.liquidity_side.name,
                instrument_id=event.instrument_id.value,
            )
        )

    # ----------------------------------------------------------------------------------------- restore
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
