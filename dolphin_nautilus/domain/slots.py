"""Trade slots: states, the append-only fill ledger, legs, order records and restored-slot snapshots.

A slot's size, average entry price, fees and realized PnL are derived from its `FillLedger`, an append-only
list of entries keyed by venue trade id (or a synthetic key for restore/reconcile entries). The running
totals are caches that only `append` updates; `FillLedger.fold()` recomputes them from the entries so
tests can prove the cache never drifts. Slots are mutated only by `TradeBook`; callers read them.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from dolphin_nautilus.contracts.restore import RestoredSlot  # the hand-over message: restore -> book

from .instruments import InstrumentSpec

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


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Purpose(StrEnum):
    ENTRY = "ENTRY"
    EXIT = "EXIT"


class OrderStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    REJECTED = "REJECTED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"  # outcome unknown (rate limit, timeout): query by client order id, never resend
    NOT_FOUND = "NOT_FOUND"  # an unknown outcome resolved as "never reached the venue"


ACTIVE_ORDER_STATUSES = frozenset(
    {OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.UNKNOWN}
)
LIVE_SLOT_STATES = frozenset(
    {SlotState.ENTRY_WORKING, SlotState.OPEN, SlotState.EXIT_WORKING, SlotState.STALE_STATE_RECONCILING}
)


def entry_order_side(side: Side) -> OrderSide:
    return OrderSide.BUY if side is Side.LONG else OrderSide.SELL


def exit_order_side(side: Side) -> OrderSide:
    return OrderSide.SELL if side is Side.LONG else OrderSide.BUY


class LedgerKind(StrEnum):
    ENTRY = "ENTRY"  # entry fill
    EXIT = "EXIT"  # exit fill (one leg)
    RESTORE_ENTRY = "RESTORE_ENTRY"  # restored trade: its entry quantity at its entry price, fees so far
    RESTORE_EXIT = "RESTORE_EXIT"  # restored trade: quantity already exited and PnL already realized
    ADJUST_IN = "ADJUST_IN"  # reconcile: venue holds more than the book
    ADJUST_OUT = "ADJUST_OUT"  # reconcile: venue holds less than the book (a leg with unknown PnL, booked 0)


_INCREASING = frozenset({LedgerKind.ENTRY, LedgerKind.RESTORE_ENTRY, LedgerKind.ADJUST_IN})


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # venue trade id, or a synthetic "restore:..." / "reconcile:..." key
    kind: LedgerKind
    quantity: Decimal  # > 0 (RESTORE_EXIT may be 0)
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal = ZERO  # for decreasing entries: PnL of this entry alone, gross of fees
    ts: int
    client_order_id: str = ""


class LedgerTotals(msgspec.Struct, frozen=True, kw_only=True):
    entry_quantity: Decimal
    entry_value: Decimal  # sum of quantity * price over increasing entries
    entry_fees: Decimal
    exit_quantity: Decimal
    exit_value: Decimal
    fees: Decimal
    realized_pnl: Decimal


class FillLedger:
    """Append-only fill ledger of one trade. Totals are caches maintained by `append` only."""

    __slots__ = (
        "entries",
        "entry_quantity",
        "entry_value",
        "entry_fees",
        "exit_quantity",
        "exit_value",
        "fees",
        "realized_pnl",
    )

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []
        self.entry_quantity = ZERO
        self.entry_value = ZERO
        self.entry_fees = ZERO
        self.exit_quantity = ZERO
        self.exit_value = ZERO
        self.fees = ZERO
        self.realized_pnl = ZERO

    def append(self, entry: LedgerEntry) -> None:
        self.entries.append(entry)
        self.fees += entry.fee
        if entry.kind in _INCREASING:
            self.entry_quantity += entry.quantity
            self.entry_value += entry.quantity * entry.price
            self.entry_fees += entry.fee
        else:
            self.exit_quantity += entry.quantity
            self.exit_value += entry.quantity * entry.price
            self.realized_pnl += entry.realized_pnl

    @property
    def remaining(self) -> Decimal:
        return self.entry_quantity - self.exit_quantity

    @property
    def avg_entry_price(self) -> Decimal:
        return self.entry_value / self.entry_quantity if self.entry_quantity else ZERO

    def totals(self) -> LedgerTotals:
        return LedgerTotals(
            entry_quantity=self.entry_quantity,
            entry_value=self.entry_value,
            entry_fees=self.entry_fees,
            exit_quantity=self.exit_quantity,
            exit_value=self.exit_value,
            fees=self.fees,
            realized_pnl=self.realized_pnl,
        )

    def fold(self) -> LedgerTotals:
        """Recompute the totals from the entries alone (the source of truth)."""
        fresh = FillLedger()
        for entry in self.entries:
            fresh.append(entry)
        return fresh.totals()


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


class OrderRecord:
    """An order the book created; mutated only by `TradeBook` as venue events arrive."""

    __slots__ = (
        "client_order_id",
        "venue_order_id",
        "trade_id",
        "instrument_id",
        "side",
        "quantity",
        "price",
        "purpose",
        "reduce_only",
        "reason",
        "status",
        "filled_quantity",
        "slot",
    )

    def __init__(
        self,
        *,
        client_order_id: str,
        slot: TradeSlot,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal,
        purpose: Purpose,
        reason: str,
    ) -> None:
        self.client_order_id = client_order_id
        self.venue_order_id = ""
        self.trade_id = slot.trade_id
        self.instrument_id = slot.instrument_id
        self.side = side
        self.quantity = quantity
        self.price = price
        self.purpose = purpose
        self.reduce_only = purpose is Purpose.EXIT
        self.reason = reason
        self.status = OrderStatus.SUBMITTED
        self.filled_quantity = ZERO
        self.slot = slot

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ORDER_STATUSES


class TradeSlot:
    """One trade on one instrument. Read its properties; only `TradeBook` changes it."""

    __slots__ = (
        "trade_id",
        "instrument_id",
        "spec",
        "side",
        "state",
        "ledger",
        "legs",
        "prior_legs",
        "bars_held",
        "opened_ts",
        "order_seq",
        "coid_token",
        "seq",
        "entry_order",
        "exit_order",
        "entry_reported",
        "closed",
        "exit_reason",
        "last_price",
        "seen_trade_ids",
        "order_ids",
        "resume_state",
        "_notional",
    )

    def __init__(
        self, *, trade_id: str, coid_token: str, spec: InstrumentSpec, side: Side, opened_ts: int
    ) -> None:
        self.trade_id = trade_id
        self.coid_token = coid_token
        self.instrument_id = spec.instrument_id
        self.spec = spec
        self.side = side
        self.state = SlotState.IDLE
        self.ledger = FillLedger()
        self.legs: list[Leg] = []  # legs filled in this process; `leg_count` includes restored ones
        self.prior_legs = 0
        self.bars_held = 0
        self.opened_ts = opened_ts
        self.order_seq = 0
        self.seq = 0  # last PositionState seq written for this trade
        self.entry_order: OrderRecord | None = None
        self.exit_order: OrderRecord | None = None  # the working exit, if any
        self.entry_reported = False
        self.closed = False
        self.exit_reason = ""
        self.last_price = ZERO
        self.seen_trade_ids: set[str] = set()
        self.order_ids: list[str] = []
        self.resume_state = SlotState.OPEN  # where a reconcile returns to
        self._notional: Decimal | None = None

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
    def leg_count(self) -> int:
        return self.prior_legs + len(self.legs)

    @property
    def notional(self) -> Decimal:
        """Remaining size at the average entry price (cached; invalidated by `ledger_changed`)."""
        if self._notional is None:
            self._notional = self.ledger.remaining * self.ledger.avg_entry_price
        return self._notional

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_SLOT_STATES

    def ledger_changed(self) -> None:
        self._notional = None

    def __repr__(self) -> str:
        return (
            f"TradeSlot({self.trade_id} {self.instrument_id} {self.side} {self.state} "
            f"qty={self.quantity} legs={self.leg_count} bars={self.bars_held})"
        )
