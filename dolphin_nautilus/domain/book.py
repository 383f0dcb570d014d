"""The trade book: pure, deterministic owner of trade slots, orders and the retract policy.

The strategy feeds it intents (`enter`, `exit`, `retract`, `cancel`, `on_bar`) and venue events
(`on_order_accepted`, `on_fill`, ...) with timestamps it supplies; every call returns a `Decision` (an
`Outcome` plus, at most, one `OrderRequest` or `CancelRequest` to send). The book queues facts (rows for
the journal) that the caller takes with `drain_facts()`. No I/O, no clocks, no Nautilus imports.

Invariants (DESIGN.md §3): one live slot per instrument; a slot's size is derived from its fill ledger and
is never negative; exits are reduce-only, clamped to the remaining size, one in flight at a time; a slot
closes exactly once; no PositionState with status OPEN and a non-positive size or notional is ever emitted.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from .diagnostics import Code, Outcome, Severity, outcome
from .facts import (
    Anomaly,
    Fact,
    FillFact,
    OrderEvent,
    PositionState,
    TradeClosed,
    TradeEntry,
    TradeExitLeg,
    canonical_json,
)
from .instruments import InstrumentSpec
from .policy import is_effectively_zero, plan_exit
from .slots import (
    LedgerEntry,
    LedgerKind,
    Leg,
    OrderRecord,
    OrderSide,
    OrderStatus,
    Purpose,
    RestoredSlot,
    Side,
    SlotState,
    TradeSlot,
    entry_order_side,
    exit_order_side,
)

ZERO = Decimal(0)
MAX_CLIENT_ORDER_ID_LEN = 40
MAX_PREFIX_LEN = 20
_PREFIX_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TOKEN_RE = re.compile(r"^[a-z0-9]{1,12}$")
_OPEN, _EXIT_WORKING, _STALE = SlotState.OPEN, SlotState.EXIT_WORKING, SlotState.STALE_STATE_RECONCILING


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An order the strategy must submit. `price` is the reference price the intent was decided at."""

    client_order_id: str
    instrument_id: str
    trade_id: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    reduce_only: bool
    purpose: Purpose
    reason: str
    order_type: str = "MARKET"


class CancelRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    venue_order_id: str
    instrument_id: str
    trade_id: str
    reason: str


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    order: OrderRequest | None = None
    cancel: CancelRequest | None = None

    @property
    def code(self) -> Code:
        return self.outcome.code

    @property
    def ok(self) -> bool:
        return self.outcome.ok


_OK_DECISION = Decision(outcome=outcome(Code.OK))


class _BadInput(ValueError):
    pass


def _decimal(name: str, value: Any, *, positive: bool = True) -> Decimal:
    """Coerce to a finite Decimal (floats via repr, so 0.1 stays 0.1); positive unless told otherwise."""
    if isinstance(value, Decimal):
        d = value
    else:
        try:
            d = Decimal(repr(value) if isinstance(value, float) else str(value))
        except (InvalidOperation, ValueError):
            raise _BadInput(f"{name} is not a number: {value!r}") from None
    if not d.is_finite():
        raise _BadInput(f"{name} must be finite, got {value!r}")
    if positive and d <= ZERO:
        raise _BadInput(f"{name} must be > 0, got {value!r}")
    return d


def trade_id_for(namespace: str, instrument_id: str, ts: int, counter: int) -> str:
    """12 hex chars, deterministic from (namespace, instrument, ts, counter)."""
    key = f"{namespace}|{instrument_id}|{ts}|{counter}".encode()
    return hashlib.blake2b(key, digest_size=6).hexdigest()


def coid_token(trade_id: str) -> str:
    """The trade's part of a client order id: the trade id itself when it is short lowercase
    alphanumerics, else a stable 12-hex digest of it (legacy ids)."""
    if _TOKEN_RE.match(trade_id):
        return trade_id
    return hashlib.blake2b(trade_id.encode(), digest_size=6).hexdigest()


class TradeBook:
    """Owns the trade slots of one node (one namespace). See the module docstring."""

    def __init__(
        self,
        specs: dict[str, InstrumentSpec],
        *,
        namespace: str,
        client_order_prefix: str,
        max_hold_bars: int = 250,
        origin: str = "kernel",
        rate_limit_alert_after: int = 5,
        rate_limit_cooldown_ms: int = 1000,
        snapshot_every_bars: int = 10,
    ) -> None:
        if not _PREFIX_RE.match(client_order_prefix) or len(client_order_prefix) > MAX_PREFIX_LEN:
            raise ValueError(
                f"client_order_prefix must be lowercase [a-z0-9] words joined by '-', at most "
                f"{MAX_PREFIX_LEN} chars; got {client_order_prefix!r}"
            )
        if max_hold_bars < 1 or rate_limit_alert_after < 1 or rate_limit_cooldown_ms < 0 or snapshot_every_bars < 0:
            raise ValueError("max_hold_bars, rate_limit_alert_after must be >= 1; cooldown, snapshot_every_bars >= 0")
        for key, spec in specs.items():
            if key != spec.instrument_id:
                raise ValueError(f"spec keyed {key!r} describes {spec.instrument_id!r}")
        self.namespace = namespace
        self.client_order_prefix = client_order_prefix
        self.max_hold_bars = max_hold_bars
        self.origin = origin
        self.rate_limit_alert_after = rate_limit_alert_after
        self.rate_limit_cooldown_ms = rate_limit_cooldown_ms
        # bars_held alone changing writes a snapshot every N bars (0: never), bounding how stale a restored
        # bars_held can be without a PositionState allocation on every bar.
        self.snapshot_every_bars = snapshot_every_bars
        self._specs = dict(specs)
        self._live: dict[str, TradeSlot] = {}
        self._last: dict[str, TradeSlot] = {}  # the latest finished (CLOSED / IDLE) slot per instrument
        self._orders: dict[str, OrderRecord] = {}
        self._reconciling: dict[str, str] = {}  # instrument -> why it is blocked pending reconcile
        self._entries_blocked = ""  # safe mode: non-empty reason blocks new entries
        self._facts: list[Fact] = []
        self._trade_counter = 0
        self._rate_limited_streak = 0
        self._cooldown_until = 0

    # ------------------------------------------------------------------------------------------ queries
    def drain_facts(self) -> list[Fact]:
        facts, self._facts = self._facts, []
        return facts

    def slot(self, instrument_id: str) -> TradeSlot | None:
        """The live slot, else the latest finished one (CLOSED or IDLE), else None. Read-only."""
        return self._live.get(instrument_id) or self._last.get(instrument_id)

    def open_slots(self) -> list[TradeSlot]:
        """Live slots holding a position (OPEN, EXIT_WORKING, or reconciling with size > 0)."""
        return [s for s in self._live.values() if s.ledger.remaining > ZERO]

    def live_slot(self, instrument_id: str) -> TradeSlot | None:
        """The slot that is not finished (entry working, open, exiting or reconciling), or None. Cheap: the
        strategy asks it on every bar."""
        return self._live.get(instrument_id)

    @property
    def has_facts(self) -> bool:
        return bool(self._facts)

    def live_slots(self) -> list[TradeSlot]:
        return list(self._live.values())

    def order(self, client_order_id: str) -> OrderRecord | None:
        return self._orders.get(client_order_id)

    def is_reconciling(self, instrument_id: str) -> bool:
        return instrument_id in self._reconciling

    @property
    def entries_blocked(self) -> str:
        return self._entries_blocked

    def spec(self, instrument_id: str) -> InstrumentSpec | None:
        return self._specs.get(instrument_id)

    def snapshot_all(self, ts: int) -> None:
        """Snapshot every slot holding a position (on a graceful stop), so a restart restores exact
        bars_held and legs even when periodic bar snapshots are sparse."""
        for slot in self._live.values():
            if slot.ledger.remaining > ZERO:
                self._position_state(slot, ts)

    # ---------------------------------------------------------------------------------------- safe mode
    def block_entries(self, reason: str) -> None:
        """Safe mode: refuse new entries (exits still work) until `allow_entries()`."""
        self._entries_blocked = reason or "safe mode"

    def allow_entries(self) -> None:
        self._entries_blocked = ""

    # ------------------------------------------------------------------------------------------ intents
    def enter(
        self, instrument_id: str, side: Side | str, quantity: Any, price: Any, ts: int, reason: str = "SIGNAL"
    ) -> Decision:
        spec = self._specs.get(instrument_id)
        if spec is None:
            return self._refuse(Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
        try:
            side = Side(side)
        except ValueError:
            return self._refuse(Code.INVALID_INPUT, ts, f"side must be LONG or SHORT, got {side!r}", instrument_id)
        try:
            qty = _decimal("quantity", quantity)
            px = _decimal("price", price)
        except _BadInput as exc:
            return self._refuse(Code.INVALID_INPUT, ts, str(exc), instrument_id)
        if self._entries_blocked:
            return self._refuse(
                Code.INTENT_BLOCKED, ts, f"entries blocked: {self._entries_blocked}", instrument_id
            )
        if instrument_id in self._reconciling:
            return self._refuse(
                Code.INTENT_BLOCKED, ts, f"reconciling: {self._reconciling[instrument_id]}", instrument_id
            )
        live = self._live.get(instrument_id)
        if live is not None:
            return self._refuse(
                Code.SLOT_BUSY, ts, f"trade {live.trade_id} is {live.state}", instrument_id, slot=live
            )
        if ts < self._cooldown_until:
            return self._cooldown_refusal(ts, instrument_id)
        rounded = spec.round_qty_down(qty)
        if is_effectively_zero(spec, rounded, px):
            return self._refuse(
                Code.BELOW_VENUE_MINIMUM,
                ts,
                f"entry {qty} @ {px} is below the venue minimum "
                f"(min qty {spec.min_quantity}, min notional {spec.min_notional})",
                instrument_id,
                requested=qty,
                rounded=rounded,
            )
        slot = self._new_slot(spec, side, ts)
        slot.state = SlotState.ENTRY_WORKING
        self._live[instrument_id] = slot
        request = self._new_order(slot, Purpose.ENTRY, entry_order_side(side), rounded, px, reason, ts)
        return Decision(outcome=outcome(Code.OK, "entry sent"), order=request)

    def exit(
        self, instrument_id: str, *, price: Any, ts: int, reason: str = "SIGNAL", quantity: Any = None
    ) -> Decision:
        """Exit the trade: everything (quantity None) or `quantity`, clamped to what remains."""
        return self._exit_intent(instrument_id, quantity, None, price, ts, reason)

    def retract(
        self,
        instrument_id: str,
        *,
        quantity: Any = None,
        fraction: Any = None,
        price: Any,
        ts: int,
        reason: str = "RETRACT",
    ) -> Decision:
        """Partial exit of `quantity` or `fraction` (0 < f <= 1) of the remaining size (DESIGN.md §3.2)."""
        if (quantity is None) == (fraction is None):
            return self._refuse(
                Code.INVALID_INPUT, ts, "retract needs exactly one of quantity or fraction", instrument_id
            )
        return self._exit_intent(instrument_id, quantity, fraction, price, ts, reason)

    def cancel(self, instrument_id: str, ts: int, reason: str = "CANCEL") -> Decision:
        """Cancel the slot's working order (the exit, or the entry while ENTRY_WORKING)."""
        slot = self._live.get(instrument_id)
        record = None
        if slot is not None:
            if slot.exit_order is not None and slot.exit_order.is_active:
                record = slot.exit_order
            elif slot.entry_order is not None and slot.entry_order.is_active:
                record = slot.entry_order
        if record is None:
            return self._refuse(Code.NO_ACTIVE_EXIT_ORDER, ts, "no working order to cancel", instrument_id, slot=slot)
        self._order_event(record, "CANCEL_REQUESTED", ts, reason)
        cancel = CancelRequest(
            client_order_id=record.client_order_id,
            venue_order_id=record.venue_order_id,
            instrument_id=instrument_id,
            trade_id=record.trade_id,
            reason=reason,
        )
        return Decision(outcome=outcome(Code.OK, "cancel sent"), cancel=cancel)

    def on_bar(self, instrument_id: str, close: Decimal, ts: int) -> Decision:
        """Count a bar for a held position; at max_hold_bars, exit it fully (reason MAX_HOLD)."""
        slot = self._live.get(instrument_id)
        if slot is None:
            return _OK_DECISION
        state = slot.state
        if state is not _OPEN and state is not _EXIT_WORKING:
            return _OK_DECISION
        slot.bars_held += 1
        slot.last_price = close
        every = self.snapshot_every_bars
        if every and slot.bars_held % every == 0:
            self._position_state(slot, ts)
        if slot.bars_held >= self.max_hold_bars and slot.exit_order is None:
            return self._exit_intent(instrument_id, None, None, close, ts, "MAX_HOLD", ok_code=Code.MAX_HOLD_EXIT)
        return _OK_DECISION

    # ------------------------------------------------------------------------------------- venue events
    def on_order_accepted(self, client_order_id: str, venue_order_id: str, ts: int) -> Decision:
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, "ACCEPTED")
        self._venue_answered()
        if venue_order_id:
            record.venue_order_id = venue_order_id
        status = record.status
        if status is OrderStatus.ACCEPTED:
            return self._refuse(Code.DUPLICATE_EVENT, ts, "accepted twice", record.instrument_id)
        self._order_event(record, "ACCEPTED", ts)
        if status is OrderStatus.SUBMITTED or status is OrderStatus.UNKNOWN:
            record.status = OrderStatus.ACCEPTED
            return _OK_DECISION
        if status is OrderStatus.PARTIALLY_FILLED or status is OrderStatus.FILLED:
            return _OK_DECISION  # the fill overtook the acknowledgement
        return self._refuse(Code.LATE_EVENT, ts, f"accepted after {status}", record.instrument_id)

    def on_order_rejected(self, client_order_id: str, reason: str, ts: int) -> Decision:
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, "REJECTED", reason)
        self._venue_answered()
        if record.status is OrderStatus.REJECTED:
            return self._refuse(Code.DUPLICATE_EVENT, ts, "rejected twice", record.instrument_id)
        self._order_event(record, "REJECTED", ts, reason)
        if not record.is_active:
            return self._refuse(Code.LATE_EVENT, ts, f"rejected after {record.status}", record.instrument_id)
        record.status = OrderStatus.REJECTED
        slot = record.slot
        details = {"client_order_id": client_order_id, "reason": reason}
        if record.purpose is Purpose.ENTRY:
            if slot.entry_order is record:
                self._entry_finished(slot, ts)
            return self._refuse(Code.ORDER_REJECTED, ts, f"entry rejected: {reason}", slot=slot, **details)
        if slot.exit_order is record:
            slot.exit_order = None  # the slot stays EXIT_WORKING; the next exit decision sends again
        return self._refuse(Code.EXIT_ORDER_REJECTED, ts, f"exit rejected: {reason}", slot=slot, **details)

    def on_order_canceled(self, client_order_id: str, ts: int) -> Decision:
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, "CANCELED")
        self._venue_answered()
        if record.status is OrderStatus.CANCELED:
            return self._refuse(Code.DUPLICATE_EVENT, ts, "canceled twice", record.instrument_id)
        self._order_event(record, "CANCELED", ts)
        if not record.is_active:
            return self._refuse(Code.LATE_EVENT, ts, f"canceled after {record.status}", record.instrument_id)
        record.status = OrderStatus.CANCELED
        self._order_gone(record, ts)
        return _OK_DECISION

    def on_cancel_rejected(self, client_order_id: str, reason: str, ts: int) -> Decision:
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, "CANCEL_REJECTED", reason)
        self._venue_answered()
        self._order_event(record, "CANCEL_REJECTED", ts, reason)
        return self._refuse(
            Code.CANCEL_REJECTED, ts, f"cancel rejected: {reason}", slot=record.slot,
            client_order_id=client_order_id, reason=reason,
        )

    def on_order_rate_limited(self, client_order_id: str, retry_after_ms: int | None, ts: int) -> Decision:
        """The submit was rate limited: its outcome is unknown. Query it by client order id, never resend."""
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, "RATE_LIMITED")
        self._rate_limited_streak += 1
        wait_ms = retry_after_ms if retry_after_ms and retry_after_ms > 0 else self.rate_limit_cooldown_ms
        self._cooldown_until = max(self._cooldown_until, ts + wait_ms * 1_000_000)
        self._order_event(record, "RATE_LIMITED", ts, f"retry_after_ms={wait_ms}")
        if record.status is OrderStatus.SUBMITTED:
            record.status = OrderStatus.UNKNOWN
        persistent = self._rate_limited_streak >= self.rate_limit_alert_after
        return self._refuse(
            Code.RATE_LIMIT_PERSISTENT if persistent else Code.RATE_LIMITED,
            ts,
            f"rate limited {self._rate_limited_streak}x in a row; query {client_order_id} before resending",
            slot=record.slot,
            client_order_id=client_order_id,
            retry_after_ms=wait_ms,
            consecutive=self._rate_limited_streak,
        )

    def on_order_unknown(self, client_order_id: str, reason: str, ts: int) -> Decision:
        """The submit's outcome is unknown (timeout, dropped connection). Query it, never resend."""
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, "UNKNOWN", reason)
        self._order_event(record, "UNKNOWN", ts, reason)
        if record.status is OrderStatus.SUBMITTED:
            record.status = OrderStatus.UNKNOWN
        return self._refuse(
            Code.UNKNOWN_ORDER_OUTCOME, ts, f"outcome of {client_order_id} unknown: {reason}",
            slot=record.slot, client_order_id=client_order_id, reason=reason,
        )

    def on_order_unknown_resolved(
        self, client_order_id: str, *, found: bool, ts: int, venue_order_id: str = ""
    ) -> Decision:
        """The venue was queried by client order id: `found` means the order exists (fills follow as
        usual); not found means it never reached the venue and a new order may be sent."""
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, "UNKNOWN_RESOLVED")
        self._venue_answered()
        if record.status is not OrderStatus.UNKNOWN:
            return self._refuse(Code.DUPLICATE_EVENT, ts, f"already {record.status}", record.instrument_id)
        if found:
            record.status = OrderStatus.ACCEPTED
            if venue_order_id:
                record.venue_order_id = venue_order_id
            self._order_event(record, "ACCEPTED", ts, "resolved: found at venue")
            return _OK_DECISION
        record.status = OrderStatus.NOT_FOUND
        self._order_event(record, "NOT_FOUND", ts, "resolved: never reached the venue")
        self._order_gone(record, ts)
        return _OK_DECISION

    def on_fill(
        self,
        client_order_id: str,
        venue_trade_id: str,
        quantity: Any,
        price: Any,
        fee: Any,
        ts: int,
        liquidity: str = "TAKER",
        *,
        instrument_id: str = "",
    ) -> Decision:
        """Apply one execution. Idempotent by venue trade id; never oversells, never flips."""
        try:
            qty = _decimal("quantity", quantity)
            px = _decimal("price", price)
            fee_d = _decimal("fee", fee, positive=False)
        except _BadInput as exc:
            return self._refuse(Code.INVALID_INPUT, ts, str(exc), instrument_id, venue_trade_id=venue_trade_id)
        record = self._orders.get(client_order_id)
        if record is None:
            return self._foreign_fill(client_order_id, venue_trade_id, qty, px, fee_d, ts, liquidity, instrument_id)
        slot = record.slot
        if venue_trade_id in slot.seen_trade_ids:
            return self._refuse(
                Code.DUPLICATE_EVENT, ts, f"fill {venue_trade_id} already applied", slot=slot,
                venue_trade_id=venue_trade_id,
            )
        slot.seen_trade_ids.add(venue_trade_id)
        self._venue_answered()
        self._emit(
            FillFact(
                ts=ts, origin=self.origin, venue_trade_id=venue_trade_id, client_order_id=client_order_id,
                venue_order_id=record.venue_order_id, trade_id=slot.trade_id, instrument_id=slot.instrument_id,
                side=record.side, quantity=qty, price=px, fee=fee_d, liquidity=liquidity,
            )
        )
        record.filled_quantity += qty
        was_active = record.is_active
        if record.is_active or record.status is OrderStatus.NOT_FOUND:
            full = record.filled_quantity >= record.quantity
            record.status = OrderStatus.FILLED if full else OrderStatus.PARTIALLY_FILLED
        self._order_event(record, "FILLED" if record.filled_quantity >= record.quantity else "PARTIALLY_FILLED", ts)
        if slot.closed or slot.state is SlotState.IDLE:
            self._reconciling[slot.instrument_id] = f"fill {venue_trade_id} after trade {slot.trade_id} finished"
            return self._refuse(
                Code.FILL_AFTER_CLOSE, ts, f"fill {venue_trade_id} for finished trade {slot.trade_id}",
                slot=slot, venue_trade_id=venue_trade_id, quantity=qty, client_order_id=client_order_id,
            )
        order_overfill = record.filled_quantity - record.quantity
        if record.purpose is Purpose.ENTRY:
            return self._apply_entry_fill(slot, record, venue_trade_id, qty, px, fee_d, ts, order_overfill)
        return self._apply_exit_fill(slot, record, venue_trade_id, qty, px, fee_d, ts, order_overfill, was_active)

    # ---------------------------------------------------------------------------------------- reconcile
    def begin_reconcile(self, instrument_id: str, reason: str, ts: int) -> Decision:
        """Block intents on the instrument until `resolve_reconcile` says what the venue holds."""
        if instrument_id not in self._specs:
            return self._refuse(Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
        again = instrument_id in self._reconciling
        self._reconciling[instrument_id] = reason
        slot = self._live.get(instrument_id)
        if slot is not None:
            self._make_stale(slot)
        return self._refuse(
            Code.STALE_STATE_RECONCILING, ts, f"reconciling: {reason}", instrument_id, slot=slot,
            severity=Severity.INFO if again else None, reason=reason,
        )

    def resolve_reconcile(self, instrument_id: str, venue_signed_qty: Any, avg_px: Any, ts: int) -> Decision:
        """Apply the venue's position (signed: + long, - short, 0 flat). The venue is the truth for size."""
        spec = self._specs.get(instrument_id)
        if spec is None:
            return self._refuse(Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
        try:
            venue_qty = _decimal("venue_signed_qty", venue_signed_qty, positive=False)
            venue_px = _decimal("avg_px", avg_px, positive=False)
        except _BadInput as exc:
            return self._refuse(Code.INVALID_INPUT, ts, str(exc), instrument_id)
        self._reconciling.pop(instrument_id, None)
        slot = self._live.get(instrument_id)
        if slot is None:
            if venue_qty == ZERO:
                return _OK_DECISION
            self._reconciling[instrument_id] = f"unowned venue position {venue_qty}"
            return self._refuse(
                Code.VENUE_POSITION_MISMATCH, ts, f"venue holds {venue_qty} that no trade owns",
                instrument_id, venue_signed_qty=venue_qty, avg_px=venue_px,
            )
        if slot.state is _STALE:
            slot.state = slot.resume_state
        own = venue_qty if slot.side is Side.LONG else -venue_qty
        target = own if own > ZERO else ZERO
        diff = target - slot.ledger.remaining
        key = f"reconcile:{ts}:{slot.seq}:{len(slot.ledger.entries)}"
        if diff > ZERO:
            fill_px = venue_px if venue_px > ZERO else (slot.entry_price or slot.last_price)
            slot.ledger.append(
                LedgerEntry(key=key, kind=LedgerKind.ADJUST_IN, quantity=diff, price=fill_px, fee=ZERO, ts=ts)
            )
            slot.ledger_changed()
        elif diff < ZERO:
            self._append_leg(slot, LedgerKind.ADJUST_OUT, key, -diff, slot.entry_price, ZERO, ts, "RECONCILE", "")
        if target == ZERO:
            if slot.ledger.entry_quantity == ZERO:
                self._finish_idle(slot)
            else:
                self._close(slot, ts, "RECONCILE")
        else:
            if slot.state is SlotState.ENTRY_WORKING:
                slot.state = _OPEN
            if not slot.entry_reported:
                self._report_entry(slot, ts)
            if slot.state is _OPEN and slot.exit_order is not None and slot.exit_order.is_active:
                slot.state = _EXIT_WORKING
            self._position_state(slot, ts)
        if own < ZERO:
            self._reconciling[instrument_id] = f"venue holds {venue_qty} opposite to trade {slot.trade_id}"
            return self._refuse(
                Code.VENUE_POSITION_MISMATCH, ts, f"venue holds {venue_qty}, opposite to our {slot.side}",
                instrument_id, slot=slot, venue_signed_qty=venue_qty, avg_px=venue_px,
            )
        if diff != ZERO:
            return self._refuse(
                Code.RECONCILE_ADJUSTED, ts, f"adjusted by {diff} to the venue's {venue_qty}", instrument_id,
                slot=slot, adjustment=diff, venue_signed_qty=venue_qty,
            )
        return _OK_DECISION

    # ------------------------------------------------------------------------------------------ restore
    def restore_slot(self, snapshot: RestoredSlot, *, ts: int | None = None) -> Decision:
        """Re-establish a validated open trade as an OPEN slot. Legs and client order ids continue."""
        when = snapshot.opened_ts if ts is None else ts
        inst = snapshot.instrument_id
        spec = self._specs.get(inst)
        problem = self._restore_problem(snapshot, spec)
        if problem:
            return self._refuse(Code.INVALID_RESTORE, when, problem, inst, trade_id=snapshot.trade_id)
        live = self._live.get(inst)
        if live is not None:
            return self._refuse(Code.SLOT_BUSY, when, f"trade {live.trade_id} already live", inst, slot=live)
        assert spec is not None
        slot = TradeSlot(
            trade_id=snapshot.trade_id, coid_token=coid_token(snapshot.trade_id), spec=spec,
            side=Side(snapshot.side), opened_ts=snapshot.opened_ts,
        )
        entry_qty = snapshot.entry_quantity if snapshot.entry_quantity is not None else snapshot.quantity
        exited = entry_qty - snapshot.quantity
        key = f"restore:{snapshot.trade_id}"
        slot.ledger.append(
            LedgerEntry(key=key + ":entry", kind=LedgerKind.RESTORE_ENTRY, quantity=entry_qty,
                        price=snapshot.entry_price, fee=snapshot.fees, ts=snapshot.opened_ts)
        )
        if exited > ZERO or snapshot.realized_pnl != ZERO:
            sign = 1 if slot.side is Side.LONG else -1
            implied_px = snapshot.entry_price + sign * snapshot.realized_pnl / exited if exited else snapshot.entry_price
            slot.ledger.append(
                LedgerEntry(key=key + ":exits", kind=LedgerKind.RESTORE_EXIT, quantity=exited, price=implied_px,
                            fee=ZERO, realized_pnl=snapshot.realized_pnl, ts=snapshot.opened_ts)
            )
        slot.prior_legs = snapshot.legs
        slot.bars_held = snapshot.bars_held
        slot.order_seq = snapshot.order_seq
        slot.seq = snapshot.seq
        slot.entry_reported = True
        slot.state = _OPEN
        slot.last_price = snapshot.entry_price
        self._retire_last(inst)
        self._live[inst] = slot
        self._reconciling.pop(inst, None)
        self._position_state(slot, when)
        return Decision(outcome=outcome(Code.OK, f"restored {snapshot.trade_id}"))

    # ---------------------------------------------------------------------------------- order lifecycle
    def record_order_event(self, client_order_id: str, event: str, ts: int, reason: str = "") -> Decision:
        """Write an `orders` row for a lifecycle event the book does not model (e.g. Nautilus DENIED,
        EXPIRED, PENDING_UPDATE), with the order's details filled in from the book."""
        record = self._orders.get(client_order_id)
        if record is None:
            return self._unknown_order(client_order_id, ts, event, reason)
        self._order_event(record, event, ts, reason)
        return _OK_DECISION

    # ================================================================================= internals: intents
    def _exit_intent(
        self, instrument_id: str, quantity: Any, fraction: Any, price: Any, ts: int, reason: str,
        ok_code: Code = Code.OK,
    ) -> Decision:
        spec = self._specs.get(instrument_id)
        if spec is None:
            return self._refuse(Code.UNKNOWN_INSTRUMENT, ts, f"no spec for {instrument_id}", instrument_id)
        try:
            px = _decimal("price", price)
            requested = None if quantity is None else _decimal("quantity", quantity)
            frac = None if fraction is None else _decimal("fraction", fraction)
        except _BadInput as exc:
            return self._refuse(Code.INVALID_INPUT, ts, str(exc), instrument_id)
        if frac is not None and frac > 1:
            return self._refuse(Code.INVALID_INPUT, ts, f"fraction must be in (0, 1], got {fraction!r}", instrument_id)
        slot = self._live.get(instrument_id)
        if slot is None:
            last = self._last.get(instrument_id)
            if last is not None and last.state is SlotState.CLOSED:
                return self._refuse(
                    Code.EXIT_ON_CLOSED_SLOT, ts, f"trade {last.trade_id} is already closed", slot=last,
                    reason=reason,
                )
            return self._refuse(Code.NO_OPEN_SLOT, ts, "no trade to exit", instrument_id, reason=reason)
        if instrument_id in self._reconciling:
            return self._refuse(
                Code.INTENT_BLOCKED, ts, f"reconciling: {self._reconciling[instrument_id]}", slot=slot
            )
        if slot.state is SlotState.ENTRY_WORKING:
            return self._refuse(Code.ENTRY_IN_FLIGHT, ts, "entry order still working", slot=slot)
        working = slot.exit_order
        if working is not None:
            if working.status is OrderStatus.UNKNOWN:
                return self._refuse(
                    Code.UNKNOWN_ORDER_OUTCOME, ts,
                    f"exit {working.client_order_id} outcome unknown: query it before sending another",
                    slot=slot, client_order_id=working.client_order_id,
                )
            return self._refuse(
                Code.EXIT_ALREADY_WORKING, ts, f"exit {working.client_order_id} is working", slot=slot,
                client_order_id=working.client_order_id,
            )
        if ts < self._cooldown_until:
            return self._cooldown_refusal(ts, instrument_id, slot)
        remaining = slot.ledger.remaining
        if frac is not None:
            requested = remaining * frac
        plan = plan_exit(spec, remaining, requested, px)
        if plan.refused:
            return self._refuse(
                Code.BELOW_VENUE_MINIMUM, ts,
                f"exit of {requested} @ {px} is below the venue minimum (min qty {spec.min_quantity}, "
                f"min notional {spec.min_notional}) and would leave {remaining - (requested or ZERO)}",
                slot=slot, requested=requested, remaining=remaining,
            )
        request = self._new_order(slot, Purpose.EXIT, exit_order_side(slot.side), plan.quantity, px, reason, ts)
        slot.exit_order = self._orders[request.client_order_id]
        slot.state = _EXIT_WORKING
        self._position_state(slot, ts)  # persists the order sequence before the order can be lost
        result = outcome(
            ok_code, "exit sent", requested=requested, quantity=plan.quantity, full_close=plan.full_close,
            clamped=plan.clamped, dust_widened=plan.dust_widened,
        )
        return Decision(outcome=result, order=request)

    def _cooldown_refusal(self, ts: int, instrument_id: str, slot: TradeSlot | None = None) -> Decision:
        return self._refuse(
            Code.RATE_LIMITED, ts, "venue rate limit cooldown: nothing sent", instrument_id, slot=slot,
            retry_at=self._cooldown_until, retry_after_ms=(self._cooldown_until - ts) // 1_000_000,
        )

    # ================================================================================== internals: fills
    def _apply_entry_fill(
        self, slot: TradeSlot, record: OrderRecord, venue_trade_id: str, qty: Decimal, px: Decimal,
        fee: Decimal, ts: int, order_overfill: Decimal,
    ) -> Decision:
        slot.ledger.append(
            LedgerEntry(key=venue_trade_id, kind=LedgerKind.ENTRY, quantity=qty, price=px, fee=fee, ts=ts,
                        client_order_id=record.client_order_id)
        )
        slot.ledger_changed()
        if slot.ledger.entry_quantity == qty and not slot.entry_reported:
            slot.opened_ts = ts  # the position exists from its first fill
        if order_overfill > ZERO:
            self._make_stale(slot)
            self._reconciling[slot.instrument_id] = f"entry {record.client_order_id} overfilled by {order_overfill}"
            self._position_state(slot, ts)
            return self._refuse(
                Code.OVERFILL_DETECTED, ts, f"entry overfilled by {order_overfill}", slot=slot,
                client_order_id=record.client_order_id, excess=order_overfill,
            )
        if record.status is OrderStatus.FILLED and slot.entry_order is record:
            self._entry_finished(slot, ts)  # reports the entry and writes the OPEN snapshot
        else:
            self._position_state(slot, ts)
        return _OK_DECISION

    def _apply_exit_fill(
        self, slot: TradeSlot, record: OrderRecord, venue_trade_id: str, qty: Decimal, px: Decimal,
        fee: Decimal, ts: int, order_overfill: Decimal, was_active: bool,
    ) -> Decision:
        remaining = slot.ledger.remaining
        applied = min(qty, remaining)
        excess = qty - applied
        is_working_exit = was_active and slot.exit_order is record
        self._append_leg(
            slot, LedgerKind.EXIT, venue_trade_id, applied, px, fee, ts, record.reason, record.client_order_id
        )
        if slot.ledger.remaining == ZERO:
            self._close(slot, ts, record.reason)
        else:
            if slot.exit_order is record and record.status is OrderStatus.FILLED:
                slot.exit_order = None
                self._set_state(slot, _OPEN)
            self._position_state(slot, ts)
        if excess > ZERO or order_overfill > ZERO:
            why = f"exit {record.client_order_id} overfilled: applied {applied} of {qty}, excess {max(excess, order_overfill)}"
            self._reconciling[slot.instrument_id] = why
            if not slot.closed:
                self._make_stale(slot)
            return self._refuse(
                Code.OVERFILL_DETECTED, ts, why, slot=slot, client_order_id=record.client_order_id,
                applied=applied, excess=excess, order_overfill=max(order_overfill, ZERO),
            )
        if not is_working_exit:
            return self._refuse(
                Code.NO_ACTIVE_EXIT_ORDER, ts, f"fill on {record.client_order_id}, not the working exit; applied",
                slot=slot, client_order_id=record.client_order_id, venue_trade_id=venue_trade_id,
            )
        return _OK_DECISION

    def _append_leg(
        self, slot: TradeSlot, kind: LedgerKind, key: str, qty: Decimal, px: Decimal, fee: Decimal, ts: int,
        reason: str, client_order_id: str,
    ) -> None:
        avg = slot.ledger.avg_entry_price
        pnl = ZERO if kind is LedgerKind.ADJUST_OUT else (px - avg) * qty if slot.side is Side.LONG else (avg - px) * qty
        slot.ledger.append(
            LedgerEntry(key=key, kind=kind, quantity=qty, price=px, fee=fee, realized_pnl=pnl, ts=ts,
                        client_order_id=client_order_id)
        )
        slot.ledger_changed()
        remaining = slot.ledger.remaining
        leg = Leg(
            leg_no=slot.leg_count + 1, quantity=qty, price=px, realized_pnl=pnl, fee=fee, remaining=remaining,
            is_final=remaining == ZERO, reason=reason, ts=ts, client_order_id=client_order_id, venue_trade_id=key,
        )
        slot.legs.append(leg)
        self._emit(
            TradeExitLeg(
                ts=ts, origin=self.origin, trade_id=slot.trade_id, instrument_id=slot.instrument_id,
                leg_no=leg.leg_no, reason=reason, quantity=qty, price=px, notional=qty * px, realized_pnl=pnl,
                fee=fee, remaining_quantity=remaining, is_final=leg.is_final, client_order_id=client_order_id,
                venue_trade_id=key,
            )
        )

    def _foreign_fill(
        self, client_order_id: str, venue_trade_id: str, qty: Decimal, px: Decimal, fee: Decimal, ts: int,
        liquidity: str, instrument_id: str,
    ) -> Decision:
        """A fill for an order the book did not create: record it, block the instrument for reconcile."""
        self._emit(
            FillFact(
                ts=ts, origin=self.origin, venue_trade_id=venue_trade_id, client_order_id=client_order_id,
                venue_order_id="", trade_id="", instrument_id=instrument_id, side="", quantity=qty, price=px,
                fee=fee, liquidity=liquidity,
            )
        )
        if instrument_id in self._specs:
            self._reconciling[instrument_id] = f"foreign fill {venue_trade_id} ({client_order_id})"
            slot = self._live.get(instrument_id)
            if slot is not None:
                self._make_stale(slot)
        return self._unknown_order(client_order_id, ts, "FILLED", f"fill {venue_trade_id}", instrument_id)

    # ============================================================================ internals: transitions
    def _new_slot(self, spec: InstrumentSpec, side: Side, ts: int) -> TradeSlot:
        self._trade_counter += 1
        trade_id = trade_id_for(self.namespace, spec.instrument_id, ts, self._trade_counter)
        last = self._last.get(spec.instrument_id)
        while last is not None and last.trade_id == trade_id:  # never reuse the previous trade's ids
            self._trade_counter += 1
            trade_id = trade_id_for(self.namespace, spec.instrument_id, ts, self._trade_counter)
        return TradeSlot(trade_id=trade_id, coid_token=trade_id, spec=spec, side=side, opened_ts=ts)

    def _new_order(
        self, slot: TradeSlot, purpose: Purpose, side: OrderSide, qty: Decimal, px: Decimal, reason: str, ts: int
    ) -> OrderRequest:
        slot.order_seq += 1
        letter = "e" if purpose is Purpose.ENTRY else "x"
        coid = f"{self.client_order_prefix}-{slot.coid_token}-{letter}{slot.order_seq}"
        if len(coid) > MAX_CLIENT_ORDER_ID_LEN:  # only reachable after ~10^5 orders on one trade
            raise RuntimeError(f"client order id {coid!r} exceeds {MAX_CLIENT_ORDER_ID_LEN} chars")
        record = OrderRecord(
            client_order_id=coid, slot=slot, side=side, quantity=qty, price=px, purpose=purpose, reason=reason
        )
        self._orders[coid] = record
        slot.order_ids.append(coid)
        if purpose is Purpose.ENTRY:
            slot.entry_order = record
        self._order_event(record, "SUBMITTED", ts, reason)
        return OrderRequest(
            client_order_id=coid, instrument_id=slot.instrument_id, trade_id=slot.trade_id, side=side,
            quantity=qty, price=px, reduce_only=record.reduce_only, purpose=purpose, reason=reason,
        )

    def _order_gone(self, record: OrderRecord, ts: int) -> None:
        """An order stopped working without (more) fills: canceled, or resolved as never placed."""
        slot = record.slot
        if record.purpose is Purpose.ENTRY:
            if slot.entry_order is record and slot.is_live:
                self._entry_finished(slot, ts)
        elif slot.exit_order is record:
            slot.exit_order = None
            if slot.state is _EXIT_WORKING or (slot.state is _STALE and slot.resume_state is _EXIT_WORKING):
                self._set_state(slot, _OPEN)

    def _entry_finished(self, slot: TradeSlot, ts: int) -> None:
        """The entry order stopped working: OPEN with what filled, or IDLE if nothing did."""
        if slot.ledger.entry_quantity == ZERO:
            if slot.state is not _STALE:
                self._finish_idle(slot)
            return
        if slot.state is SlotState.ENTRY_WORKING:
            slot.state = _OPEN
        elif slot.state is _STALE and slot.resume_state is SlotState.ENTRY_WORKING:
            slot.resume_state = _OPEN
        if not slot.entry_reported:
            self._report_entry(slot, ts)
        self._position_state(slot, ts)

    def _report_entry(self, slot: TradeSlot, ts: int) -> None:
        slot.entry_reported = True
        ledger = slot.ledger
        entry = slot.entry_order
        self._emit(
            TradeEntry(
                ts=ts, origin=self.origin, trade_id=slot.trade_id, instrument_id=slot.instrument_id,
                side=slot.side, quantity=ledger.entry_quantity, price=ledger.avg_entry_price,
                notional=ledger.entry_value, fee=ledger.entry_fees,
                client_order_id=entry.client_order_id if entry else "",
            )
        )

    def _set_state(self, slot: TradeSlot, state: SlotState) -> None:
        if slot.state is _STALE:
            slot.resume_state = state
        else:
            slot.state = state

    def _make_stale(self, slot: TradeSlot) -> None:
        if slot.state is not _STALE and slot.is_live:
            slot.resume_state = slot.state
            slot.state = _STALE

    def _close(self, slot: TradeSlot, ts: int, reason: str) -> None:
        if slot.closed:
            return
        slot.closed = True
        slot.state = SlotState.CLOSED
        slot.exit_reason = reason
        slot.exit_order = None
        self._position_state(slot, ts, closed=True)
        ledger = slot.ledger
        exit_avg = ledger.exit_value / ledger.exit_quantity if ledger.exit_quantity else ZERO
        self._emit(
            TradeClosed(
                ts=ts, origin=self.origin, trade_id=slot.trade_id, instrument_id=slot.instrument_id,
                side=slot.side, entry_avg_px=ledger.avg_entry_price, exit_avg_px=exit_avg,
                quantity=ledger.entry_quantity, realized_pnl=ledger.realized_pnl, fees=ledger.fees,
                net_pnl=ledger.realized_pnl - ledger.fees, bars_held=slot.bars_held, legs=slot.leg_count,
                exit_reason=reason, opened_ts=slot.opened_ts,
            )
        )
        self._retire(slot)

    def _finish_idle(self, slot: TradeSlot) -> None:
        slot.state = SlotState.IDLE
        self._retire(slot)

    def _retire(self, slot: TradeSlot) -> None:
        inst = slot.instrument_id
        if self._live.get(inst) is slot:
            del self._live[inst]
        self._retire_last(inst)
        self._last[inst] = slot

    def _retire_last(self, instrument_id: str) -> None:
        """Forget the previous finished trade's orders (bounded memory; its late events become unknown)."""
        old = self._last.pop(instrument_id, None)
        if old is not None:
            for coid in old.order_ids:
                self._orders.pop(coid, None)

    def _venue_answered(self) -> None:
        self._rate_limited_streak = 0

    # ================================================================================= internals: facts
    def _emit(self, fact: Fact) -> None:
        self._facts.append(fact)

    def _position_state(self, slot: TradeSlot, ts: int, *, closed: bool = False) -> None:
        """Snapshot the slot. An OPEN snapshot needs size > 0 and notional > 0; otherwise nothing is
        written (the close path writes CLOSED), so a zero-size OPEN row cannot exist."""
        if closed:
            quantity = notional = ZERO
        else:
            quantity = slot.ledger.remaining
            notional = slot.notional
            if quantity <= ZERO or notional <= ZERO:
                return
        slot.seq += 1
        self._emit(
            PositionState(
                ts=ts, origin=self.origin, trade_id=slot.trade_id, instrument_id=slot.instrument_id,
                side=slot.side, status="CLOSED" if closed else "OPEN", quantity=quantity, notional=notional,
                entry_price=slot.ledger.avg_entry_price, bars_held=slot.bars_held,
                realized_pnl=slot.ledger.realized_pnl, fees=slot.ledger.fees, legs=slot.leg_count,
                seq=slot.seq, opened_ts=slot.opened_ts, order_seq=slot.order_seq,
            )
        )

    def _order_event(self, record: OrderRecord, event: str, ts: int, reason: str = "") -> None:
        self._emit(
            OrderEvent(
                ts=ts, origin=self.origin, client_order_id=record.client_order_id,
                venue_order_id=record.venue_order_id, trade_id=record.trade_id,
                instrument_id=record.instrument_id, side=record.side, type="MARKET", quantity=record.quantity,
                price=record.price, reduce_only=record.reduce_only, event=event, reason=reason,
            )
        )

    def _refuse(
        self, code: Code, ts: int, message: str, instrument_id: str = "", *, slot: TradeSlot | None = None,
        severity: Severity | None = None, **details: Any,
    ) -> Decision:
        """A decision with no order; outcomes at WARNING or above also become Anomaly facts."""
        result = outcome(code, message, severity, **details)
        if result.severity >= Severity.WARNING:
            self._emit(
                Anomaly(
                    ts=ts, origin=self.origin, code=code.value, severity=str(result.severity),
                    trade_id=slot.trade_id if slot else "",
                    instrument_id=slot.instrument_id if slot else instrument_id,
                    message=message, details=canonical_json(details),
                )
            )
        return Decision(outcome=result)

    def _unknown_order(
        self, client_order_id: str, ts: int, event: str, reason: str = "", instrument_id: str = ""
    ) -> Decision:
        return self._refuse(
            Code.UNKNOWN_CLIENT_ORDER, ts, f"{event} for unknown client order id {client_order_id}",
            instrument_id, client_order_id=client_order_id, event=event, reason=reason,
        )

    @staticmethod
    def _restore_problem(snap: RestoredSlot, spec: InstrumentSpec | None) -> str:
        if spec is None:
            return f"unknown instrument {snap.instrument_id}"
        if not snap.trade_id:
            return "empty trade_id"
        for name in ("quantity", "entry_price", "realized_pnl", "fees"):
            value = getattr(snap, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                return f"{name} is not a finite Decimal: {value!r}"
        if snap.quantity <= ZERO:
            return f"quantity must be > 0, got {snap.quantity}"
        if snap.entry_price <= ZERO:
            return f"entry_price must be > 0, got {snap.entry_price}"
        if snap.entry_quantity is not None and (
            not snap.entry_quantity.is_finite() or snap.entry_quantity < snap.quantity
        ):
            return f"entry_quantity {snap.entry_quantity} is below the remaining {snap.quantity}"
        if snap.bars_held < 0 or snap.legs < 0 or snap.order_seq < 0 or snap.seq < 0:
            return "bars_held, legs, order_seq and seq must be >= 0"
        if snap.side not in (Side.LONG, Side.SHORT):
            return f"side must be LONG or SHORT, got {snap.side!r}"
        return ""
