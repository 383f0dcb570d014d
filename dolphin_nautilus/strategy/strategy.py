"""`DolphinStrategy`: the Nautilus Strategy that owns the trade book. It does no I/O.

It turns Nautilus events into calls on the pure `TradeBook`, turns the book's decisions into Nautilus orders,
and publishes the book's facts on the message bus (`FACTS_TOPIC`) for the journal actor. The same class runs
in a `BacktestEngine` and in a live `TradingNode`.

What an order event cannot say (rate limited: nothing placed; unknown: being resolved; resolved; a definitive
reject with the venue's code) arrives typed on `PLACEMENT_OUTCOME_TOPIC` from the execution client, before the
Nautilus event it explains; `hand_to_book` is the one place it meets the book. An OrderRejected with no
published outcome (the backtest's simulated venue, the risk engine) is a definitive reject. No reject reason is
parsed.

Split by concern: this module keeps the config, the lifecycle, restore, bars and targets; `order_submission`
(decisions -> orders, facts -> the bus, seed orders), `order_events` (order events and placement outcomes into
the book) and `net_position` (reconcile against the venue position, flatten) are the parts it is built from.

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
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price

from dolphin_nautilus.contracts.control import FLATTEN_TOPIC
from dolphin_nautilus.contracts.placement import PLACEMENT_OUTCOME_TOPIC
from dolphin_nautilus.contracts.restore import (
    RESTORE_HANDOVER_CACHE_KEY,
    VENUE_RECONCILED_TOPIC,
    RestoredSlot,
    decode_handover,
)
from dolphin_nautilus.contracts.topics import SIGNAL_TOPIC, bar_type_name
from dolphin_nautilus.domain.book import TradeBook
from dolphin_nautilus.domain.decisions import Decision
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.domain.identifiers import start_epoch
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.domain.signal_policy import Intent, IntentKind, ReferenceSignalModel, TargetBoard, TargetPolicy
from dolphin_nautilus.resources import spec_of_instrument
from dolphin_nautilus.strategy.net_position import NetPosition
from dolphin_nautilus.strategy.order_events import OrderEvents

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


_DECIMAL_CACHE_MAX = 20_000  # distinct closes kept (a few MB at most)


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


class DolphinStrategy(OrderEvents, NetPosition):
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
        self._decimals: dict[int, Decimal] = {}  # raw fixed-point price -> its as_decimal() (see _close_decimal)
        self._position_per_trade = self.oms_type == OmsType.HEDGING

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
            price = self._close_decimal(close)
            self._act(book.on_bar(iid, price, ts))
            if book.is_reconciling(iid):  # an unknown outcome went overdue on this bar: the venue decides now
                self._reconcile_with_venue(iid, ts)
        board = self._board
        if model is not None:
            target = model.update(close.as_double())
            if target is not None:
                board.update(iid, target, 1.0, ts)
        if self._exit_wanted or board.is_pending(iid):  # most bars: nothing waits, no Decimal is made
            price = price if price is not None else self._close_decimal(close)
            self._retry_exit(iid, price, ts)
            self._apply_target(iid, price, ts)

    def _close_decimal(self, close: Price) -> Decimal:
        """`close.as_decimal()`, the same Decimal, looked up by the price's raw fixed-point value: building one
        costs several us and a held instrument needs it every bar, while closes repeat (a tick grid). Bounded."""
        decimals = self._decimals
        raw = close.raw
        value = decimals.get(raw)
        if value is None:
            if len(decimals) >= _DECIMAL_CACHE_MAX:
                decimals.clear()
            value = decimals[raw] = close.as_decimal()
        return value

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

    def _on_wake(self, event: TimeEvent) -> None:
        iid = event.name.removeprefix("dolphin-retry-")
        bar = self.cache.bar(self._bar_type_of[iid])
        if bar is not None:
            ts = self.clock.timestamp_ns()
            self._retry_exit(iid, bar.close.as_decimal(), ts)
            self._apply_target(iid, bar.close.as_decimal(), ts)
