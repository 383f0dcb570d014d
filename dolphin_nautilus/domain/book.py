"""The trade book: pure, deterministic owner of trade slots, orders and the retract policy.

The strategy feeds it intents (`enter`, `exit`, `retract`, `cancel`, `on_bar`), venue and Nautilus order
events (`on_order_accepted`, `on_fill`, `on_order_canceled`, ...) and typed placement outcomes
(`on_placement_outcome`), each with a timestamp it supplies; every call returns a `Decision` (a
`BookOutcome` plus, at most, one `OrderToSend` or `CancelToSend`). The book queues facts (rows for the
journal) that the caller takes with `drain_facts()`. No I/O, no clocks, no timers, no Nautilus imports.

This class is a facade; the work is done by one module per concern over a shared `BookState`:
intents.py (intents and the bar clock), order_transitions.py (order events and placement outcomes),
fill_application.py (fills into the ledger), slot_transitions.py (the slot state machine, ids),
reconcile.py (restore and reconcile), book_facts.py (the rows), coercion.py (input numbers).

Invariants (docs/design.md §3): one live slot per instrument; a slot's size is derived from its fill ledger and
is never negative; exits are reduce-only, clamped to the remaining size, one in flight at a time; a slot
closes exactly once; no PositionState with status OPEN and a non-positive size or notional is ever emitted;
every slot holding a position can always reach an exit (no order state freezes it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dolphin_nautilus.contracts.placement import PlacementOutcome, PlacementRateLimited

from . import book_facts as facts
from . import fill_application, intents, order_transitions, reconcile
from .book_state import BookState
from .decisions import Decision
from .diagnostics import Code
from .facts import Fact
from .identifiers import coid_token, trade_id_for
from .instruments import InstrumentSpec
from .order_records import OrderRecord, OrderStatus
from .restored import RestoredSlot
from .slots import Side, TradeSlot

__all__ = ["TradeBook", "coid_token", "trade_id_for"]

DEFAULT_UNKNOWN_OUTCOME_TIMEOUT_NS = 30 * 1_000_000_000  # docs/design.md §3: a reconcile escalates after 30 s


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
        snapshot_every_bars: int = 10,
        unknown_outcome_timeout_ns: int = DEFAULT_UNKNOWN_OUTCOME_TIMEOUT_NS,
    ) -> None:
        self._book = BookState(
            specs,
            namespace=namespace,
            client_order_prefix=client_order_prefix,
            max_hold_bars=max_hold_bars,
            origin=origin,
            snapshot_every_bars=snapshot_every_bars,
            unknown_outcome_timeout_ns=unknown_outcome_timeout_ns,
        )

    # ------------------------------------------------------------------------------------------ settings
    @property
    def namespace(self) -> str:
        return self._book.namespace

    @property
    def client_order_prefix(self) -> str:
        return self._book.client_order_prefix

    @property
    def max_hold_bars(self) -> int:
        return self._book.max_hold_bars

    @property
    def origin(self) -> str:
        return self._book.origin

    # ------------------------------------------------------------------------------------------ queries
    def drain_facts(self) -> list[Fact]:
        queued, self._book.facts = self._book.facts, []
        return queued

    @property
    def has_facts(self) -> bool:
        return bool(self._book.facts)

    def slot(self, instrument_id: str) -> TradeSlot | None:
        """The live slot, else the latest finished one (CLOSED or IDLE), else None. Read-only."""
        return self._book.live.get(instrument_id) or self._book.last.get(instrument_id)

    def live_slot(self, instrument_id: str) -> TradeSlot | None:
        """The slot that is not finished (entry working, open, exiting or reconciling), or None. Cheap: the
        strategy asks it on every bar."""
        return self._book.live.get(instrument_id)

    def live_slots(self) -> list[TradeSlot]:
        return list(self._book.live.values())

    def open_slots(self) -> list[TradeSlot]:
        """Live slots holding a position (OPEN, EXIT_WORKING, or reconciling with size > 0)."""
        return [s for s in self._book.live.values() if s.holds_position]

    def order(self, client_order_id: str) -> OrderRecord | None:
        return self._book.orders.get(client_order_id)

    def is_reconciling(self, instrument_id: str) -> bool:
        return instrument_id in self._book.reconciling

    def retry_not_before(self, instrument_id: str) -> int:
        """The ts before which the venue asked us not to send for this instrument (0: no wait)."""
        return self._book.retry_not_before.get(instrument_id, 0)

    @property
    def entries_blocked(self) -> str:
        return self._book.entries_blocked

    def spec(self, instrument_id: str) -> InstrumentSpec | None:
        return self._book.specs.get(instrument_id)

    def snapshot_all(self, ts: int) -> None:
        """Snapshot every slot holding a position (on a graceful stop), so a restart restores exact
        bars_held and legs even when periodic bar snapshots are sparse."""
        for slot in self._book.live.values():
            if slot.holds_position:
                facts.position_state(self._book, slot, ts)

    # ---------------------------------------------------------------------------------------- safe mode
    def block_entries(self, reason: str) -> None:
        """Safe mode: refuse new entries (exits still work) until `allow_entries()`."""
        self._book.entries_blocked = reason or "safe mode"

    def allow_entries(self) -> None:
        self._book.entries_blocked = ""

    # ------------------------------------------------------------------------------------------ intents
    def enter(
        self, instrument_id: str, side: Side | str, quantity: Any, price: Any, ts: int, reason: str = "SIGNAL"
    ) -> Decision:
        return intents.enter(self._book, instrument_id, side, quantity, price, ts, reason)

    def exit(
        self, instrument_id: str, *, price: Any, ts: int, reason: str = "SIGNAL", quantity: Any = None
    ) -> Decision:
        """Exit the trade: everything (quantity None) or `quantity`, clamped to what remains."""
        return intents.exit_intent(self._book, instrument_id, quantity, None, price, ts, reason)

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
        """Partial exit of `quantity` or `fraction` (0 < f <= 1) of the remaining size (docs/design.md §3.2)."""
        if (quantity is None) == (fraction is None):
            return facts.refuse(
                self._book, Code.INVALID_INPUT, ts, "retract needs exactly one of quantity or fraction", instrument_id
            )
        return intents.exit_intent(self._book, instrument_id, quantity, fraction, price, ts, reason)

    def cancel(self, instrument_id: str, ts: int, reason: str = "CANCEL") -> Decision:
        """Cancel the slot's working order (the exit, or the entry while ENTRY_WORKING)."""
        return intents.cancel(self._book, instrument_id, ts, reason)

    def on_bar(self, instrument_id: str, close: Decimal, ts: int) -> Decision:
        """Count a bar for a held position; from max_hold_bars on, exit it fully (reason MAX_HOLD). Also the
        book's clock for unresolved order outcomes (they put the slot into reconcile when overdue)."""
        return intents.on_bar(self._book, instrument_id, close, ts)

    # ------------------------------------------------------------------------------------- order events
    def on_placement_outcome(self, outcome: PlacementOutcome) -> Decision:
        """The execution client's typed word on a placement (dolphin_nautilus.contracts.placement)."""
        return order_transitions.on_placement_outcome(self._book, outcome)

    def on_order_accepted(self, client_order_id: str, venue_order_id: str, ts: int) -> Decision:
        return order_transitions.on_accepted(self._book, client_order_id, venue_order_id, ts)

    def on_order_rejected(self, client_order_id: str, reason: str, ts: int) -> Decision:
        """A definitive venue reject (Nautilus OrderRejected): nothing placed."""
        return order_transitions.on_rejected(self._book, client_order_id, reason, ts)

    def on_order_denied(self, client_order_id: str, reason: str, ts: int) -> Decision:
        """Nautilus OrderDenied: refused before it left the node; nothing placed."""
        return order_transitions.on_rejected(self._book, client_order_id, reason, ts, status=OrderStatus.DENIED)

    def on_order_canceled(self, client_order_id: str, ts: int) -> Decision:
        return order_transitions.on_ended(self._book, client_order_id, ts, OrderStatus.CANCELED)

    def on_order_expired(self, client_order_id: str, ts: int) -> Decision:
        return order_transitions.on_ended(self._book, client_order_id, ts, OrderStatus.EXPIRED)

    def on_cancel_rejected(self, client_order_id: str, reason: str, ts: int) -> Decision:
        return order_transitions.on_change_rejected(self._book, client_order_id, reason, ts, "CANCEL_REJECTED")

    def on_modify_rejected(self, client_order_id: str, reason: str, ts: int) -> Decision:
        return order_transitions.on_change_rejected(self._book, client_order_id, reason, ts, "MODIFY_REJECTED")

    def on_order_rate_limited(self, client_order_id: str, retry_after_ms: int | None, ts: int) -> Decision:
        """Kept for the strategy's reject-reason path until it consumes the placement-outcome topic."""
        return self.on_placement_outcome(
            PlacementRateLimited(
                client_order_id=client_order_id,
                retry_after_ms=retry_after_ms or 0,
                message="rate limited",
                ts=ts,
            )
        )

    def on_order_unknown(self, client_order_id: str, reason: str, ts: int) -> Decision:
        """Kept for the strategy's reject-reason path until it consumes the placement-outcome topic."""
        return order_transitions.on_unknown(self._book, client_order_id, reason, ts)

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
        return fill_application.on_fill(
            self._book, client_order_id, venue_trade_id, quantity, price, fee, ts, liquidity, instrument_id
        )

    # ---------------------------------------------------------------------------- reconcile and restore
    def begin_reconcile(self, instrument_id: str, reason: str, ts: int) -> Decision:
        """Block intents on the instrument until `resolve_reconcile` says what the venue holds."""
        return reconcile.begin(self._book, instrument_id, reason, ts)

    def resolve_reconcile(self, instrument_id: str, venue_signed_qty: Any, avg_px: Any, ts: int) -> Decision:
        """Apply the venue's position (signed: + long, - short, 0 flat). The venue is the truth for size."""
        return reconcile.resolve(self._book, instrument_id, venue_signed_qty, avg_px, ts)

    def restore_slot(self, snapshot: RestoredSlot, *, ts: int | None = None) -> Decision:
        """Re-establish a validated open trade as an OPEN slot. Legs and client order ids continue."""
        return reconcile.restore_slot(self._book, snapshot, ts)
