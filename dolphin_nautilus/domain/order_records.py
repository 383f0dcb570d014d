"""Order records: the orders the book created, their statuses, and what may still happen to them.

An `OrderRecord` holds what the book decided (side, size, purpose) and the venue's latest word on it
(`status`, `venue_order_id`). How much it filled is not kept here: the slot's fill ledger answers it.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from .slots import Side, TradeSlot


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
    REJECTED = "REJECTED"  # definitively refused by the venue: nothing placed
    DENIED = "DENIED"  # refused before it left the node (risk engine): nothing placed
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"  # maybe placed (timeout, dropped connection): being resolved by client order id
    NOT_PLACED = "NOT_PLACED"  # rate limited, or an unknown resolved as "never reached the venue"
    RECONCILED = "RECONCILED"  # still unknown when a reconcile took the venue's position as the truth


ACTIVE_ORDER_STATUSES = frozenset(
    {OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.UNKNOWN}
)
# Ended without the venue confirming it worked: a fill for one of these is still applied (the venue is the truth).
UNCONFIRMED_END_STATUSES = frozenset({OrderStatus.NOT_PLACED, OrderStatus.RECONCILED})


def entry_order_side(side: Side) -> OrderSide:
    return OrderSide.BUY if side is Side.LONG else OrderSide.SELL


def exit_order_side(side: Side) -> OrderSide:
    return OrderSide.SELL if side is Side.LONG else OrderSide.BUY


class OrderRecord:
    """An order the book created; mutated only by the book's order transitions as venue events arrive."""

    __slots__ = (
        "cancel_requested",
        "client_order_id",
        "instrument_id",
        "price",
        "purpose",
        "quantity",
        "reason",
        "reduce_only",
        "side",
        "slot",
        "status",
        "trade_id",
        "unknown_since",
        "venue_order_id",
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
        self.unknown_since = 0  # ts the outcome became unknown (status UNKNOWN)
        self.cancel_requested = False
        self.slot = slot

    @property
    def filled_quantity(self) -> Decimal:
        """Venue quantity filled on this order, from the slot's fill ledger."""
        return self.slot.ledger.filled(self.client_order_id)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ORDER_STATUSES

    @property
    def may_still_act(self) -> bool:
        """The venue may still fill or answer it: active, or settled by a reconcile with no venue answer."""
        return self.status in ACTIVE_ORDER_STATUSES or self.status is OrderStatus.RECONCILED

    def __repr__(self) -> str:
        return f"OrderRecord({self.client_order_id} {self.purpose} {self.side} {self.quantity} {self.status})"
