"""Trade slots: states, the append-only fill ledger and the legs derived from it.

A slot's size, average entry price, notional, fees, realized PnL, legs, the venue trade ids it has seen and
how much each of its orders has filled are all answered by its `FillLedger`, an append-only list of entries
keyed by venue trade id (or a synthetic key for restore/reconcile entries). The ledger's running totals and
indexes are maintained by `append` alone; `FillLedger.fold()` recomputes them from the entries so tests can
prove they never drift. Nothing beside the ledger keeps a copy of what it knows. Slots are mutated only by
the trade book's transition modules; callers read them.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

import msgspec

from .instruments import InstrumentSpec

if TYPE_CHECKING:  # order_records imports this module for TradeSlot; annotations only
    from .order_records import OrderRecord

ZERO = Decimal(0)


class SlotState(StrEnum):
    IDLE = "IDLE"
    ENTRY_WORKING = "ENTRY_WORKING"
    OPEN = "OPEN"
    EXIT_WORKING = "EXIT_WORKING"
    CLOSED = "CLOSED"
    STALE_STATE_RECONCILING = "STALE_STATE_RECONCILING"


class Side(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"


LIVE_SLOT_STATES = frozenset(
    {SlotState.ENTRY_WORKING, SlotState.OPEN, SlotState.EXIT_WORKING, SlotState.STALE_STATE_RECONCILING}
)


class LedgerKind(StrEnum):
    ENTRY = "ENTRY"  # entry fill
    EXIT = "EXIT"  # exit fill (one leg)
    RESTORE_ENTRY = "RESTORE_ENTRY"  # restored trade: its entry quantity at its entry price, fees so far
    RESTORE_EXIT = "RESTORE_EXIT"  # restored trade: quantity already exited and PnL already realized
    ADJUST_IN = "ADJUST_IN"  # reconcile: venue holds more than the book
    ADJUST_OUT = "ADJUST_OUT"  # reconcile: venue holds less than the book (a leg with unknown PnL, booked 0)
    UNAPPLIED = "UNAPPLIED"  # a fill recorded after the trade ended: seen (idempotence), not applied


_INCREASING = frozenset({LedgerKind.ENTRY, LedgerKind.RESTORE_ENTRY, LedgerKind.ADJUST_IN})
_DECREASING = frozenset({LedgerKind.EXIT, LedgerKind.RESTORE_EXIT, LedgerKind.ADJUST_OUT})
LEG_KINDS = frozenset({LedgerKind.EXIT, LedgerKind.ADJUST_OUT})  # each such entry is one exit leg


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # venue trade id, or a synthetic "restore:..." / "reconcile:..." key
    kind: LedgerKind
    quantity: Decimal  # applied to the position: > 0 (RESTORE_EXIT may be 0; UNAPPLIED is 0)
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal = ZERO  # for decreasing entries: PnL of this entry alone, gross of fees
    ts: int
    client_order_id: str = ""
    reason: str = ""  # exit legs: why the exit was sent
    excess: Decimal = ZERO  # venue quantity of the fill NOT applied (overfill beyond what remained)


class LedgerTotals(msgspec.Struct, frozen=True, kw_only=True):
    entry_quantity: Decimal
    entry_value: Decimal  # sum of quantity * price over increasing entries
    entry_fees: Decimal
    exit_quantity: Decimal
    exit_value: Decimal
    fees: Decimal
    realized_pnl: Decimal
    leg_count: int
    filled_by_order: dict[str, Decimal]


class Leg(msgspec.Struct, frozen=True, kw_only=True):
    """One exit fill of a trade. PnL and fee are this leg's alone (isolated, not cumulative)."""

    leg_no: int
    quantity: Decimal
    price: Decimal
    realized_pnl: Decimal
    fee: Decimal
    remaining: Decimal
    is_final: bool
    reason: str
    ts: int
    client_order_id: str
    venue_trade_id: str


class FillLedger:
    """Append-only fill ledger of one trade. Totals and indexes are maintained by `append` only."""

    __slots__ = (
        "_filled_by_order",
        "_keys",
        "entries",
        "entry_fees",
        "entry_quantity",
        "entry_value",
        "exit_quantity",
        "exit_value",
        "fees",
        "leg_count",
        "realized_pnl",
    )

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []
        self._keys: set[str] = set()
        self._filled_by_order: dict[str, Decimal] = {}
        self.entry_quantity = ZERO
        self.entry_value = ZERO
        self.entry_fees = ZERO
        self.exit_quantity = ZERO
        self.exit_value = ZERO
        self.fees = ZERO
        self.realized_pnl = ZERO
        self.leg_count = 0

    def append(self, entry: LedgerEntry) -> None:
        if entry.key in self._keys:
            raise ValueError(f"ledger already holds {entry.key!r}")  # callers check `has` first
        self.entries.append(entry)
        self._keys.add(entry.key)
        if entry.client_order_id:
            seen = self._filled_by_order.get(entry.client_order_id, ZERO)
            self._filled_by_order[entry.client_order_id] = seen + entry.quantity + entry.excess
        if entry.kind is LedgerKind.UNAPPLIED:
            return
        self.fees += entry.fee
        if entry.kind in _INCREASING:
            self.entry_quantity += entry.quantity
            self.entry_value += entry.quantity * entry.price
            self.entry_fees += entry.fee
        else:
            self.exit_quantity += entry.quantity
            self.exit_value += entry.quantity * entry.price
            self.realized_pnl += entry.realized_pnl
            if entry.kind in LEG_KINDS:
                self.leg_count += 1

    def has(self, key: str) -> bool:
        """Whether a fill with this venue trade id (or synthetic key) is already recorded."""
        return key in self._keys

    def filled(self, client_order_id: str) -> Decimal:
        """Venue quantity filled on this order so far (applied or not)."""
        return self._filled_by_order.get(client_order_id, ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.entry_quantity - self.exit_quantity

    @property
    def avg_entry_price(self) -> Decimal:
        return self.entry_value / self.entry_quantity if self.entry_quantity else ZERO

    @property
    def notional(self) -> Decimal:
        """Remaining size at the average entry price."""
        return self.remaining * self.avg_entry_price

    def legs(self, prior_legs: int = 0) -> list[Leg]:
        """The exit legs recorded in this ledger, numbered after `prior_legs` (legs before a restore)."""
        legs: list[Leg] = []
        remaining = ZERO
        for entry in self.entries:
            if entry.kind in _INCREASING:
                remaining += entry.quantity
            elif entry.kind in _DECREASING:
                remaining -= entry.quantity
                if entry.kind in LEG_KINDS:
                    legs.append(
                        Leg(
                            leg_no=prior_legs + len(legs) + 1,
                            quantity=entry.quantity,
                            price=entry.price,
                            realized_pnl=entry.realized_pnl,
                            fee=entry.fee,
                            remaining=remaining,
                            is_final=remaining == ZERO,
                            reason=entry.reason,
                            ts=entry.ts,
                            client_order_id=entry.client_order_id,
                            venue_trade_id=entry.key,
                        )
                    )
        return legs

    def totals(self) -> LedgerTotals:
        return LedgerTotals(
            entry_quantity=self.entry_quantity,
            entry_value=self.entry_value,
            entry_fees=self.entry_fees,
            exit_quantity=self.exit_quantity,
            exit_value=self.exit_value,
            fees=self.fees,
            realized_pnl=self.realized_pnl,
            leg_count=self.leg_count,
            filled_by_order=dict(self._filled_by_order),
        )

    def fold(self) -> LedgerTotals:
        """Recompute the totals from the entries alone (the source of truth)."""
        fresh = FillLedger()
        for entry in self.entries:
            fresh.append(entry)
        return fresh.totals()


class TradeSlot:
    """One trade on one instrument. Read its properties; only the book's transition modules change it."""

    __slots__ = (
        "bars_held",
        "coid_token",
        "entry_order",
        "entry_reported",
        "exit_order",
        "exit_reason",
        "instrument_id",
        "last_price",
        "ledger",
        "opened_ts",
        "order_ids",
        "order_seq",
        "prior_legs",
        "resume_state",
        "seq",
        "side",
        "spec",
        "state",
        "trade_id",
    )

    def __init__(self, *, trade_id: str, coid_token: str, spec: InstrumentSpec, side: Side, opened_ts: int) -> None:
        self.trade_id = trade_id
        self.coid_token = coid_token
        self.instrument_id = spec.instrument_id
        self.spec = spec
        self.side = side
        self.state = SlotState.IDLE
        self.ledger = FillLedger()
        self.prior_legs = 0  # legs filled before a restore; `leg_count` includes them
        self.bars_held = 0
        self.opened_ts = opened_ts
        self.order_seq = 0
        self.seq = 0  # last PositionState seq written for this trade
        self.entry_order: OrderRecord | None = None
        self.exit_order: OrderRecord | None = None  # the working exit, if any
        self.entry_reported = False  # the TradeEntry fact was emitted
        self.exit_reason = ""
        self.last_price = ZERO
        self.order_ids: list[str] = []
        self.resume_state = SlotState.OPEN  # where a reconcile returns to

    # Derived views -------------------------------------------------------------------------------------
    @property
    def quantity(self) -> Decimal:
        """Remaining size (entry fills minus exit fills), never negative."""
        return self.ledger.remaining

    @property
    def entry_quantity(self) -> Decimal:
        return self.ledger.entry_quantity

    @property
    def entry_price(self) -> Decimal:
        return self.ledger.avg_entry_price

    @property
    def realized_pnl(self) -> Decimal:
        return self.ledger.realized_pnl

    @property
    def fees(self) -> Decimal:
        return self.ledger.fees

    @property
    def notional(self) -> Decimal:
        return self.ledger.notional

    @property
    def legs(self) -> list[Leg]:
        """Legs filled in this process (restored legs are only counted, in `prior_legs`)."""
        return self.ledger.legs(self.prior_legs)

    @property
    def leg_count(self) -> int:
        return self.prior_legs + self.ledger.leg_count

    @property
    def closed(self) -> bool:
        return self.state is SlotState.CLOSED

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_SLOT_STATES

    @property
    def holds_position(self) -> bool:
        return self.ledger.remaining > ZERO

    @property
    def can_exit(self) -> bool:
        """A new exit could be sent now (book-wide blocks aside): a position, no entry or exit working."""
        return (
            self.holds_position and self.state in (SlotState.OPEN, SlotState.EXIT_WORKING) and self.exit_order is None
        )

    def __repr__(self) -> str:
        return (
            f"TradeSlot({self.trade_id} {self.instrument_id} {self.side} {self.state} "
            f"qty={self.quantity} legs={self.leg_count} bars={self.bars_held})"
        )
