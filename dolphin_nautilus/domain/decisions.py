"""What the book answers to every call: a `Decision` (a `BookOutcome`, plus at most one order or cancel to
send). The strategy turns `OrderToSend` / `CancelToSend` into Nautilus commands."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from .diagnostics import BookOutcome, Code, book_outcome
from .order_records import OrderSide, Purpose


class OrderToSend(msgspec.Struct, frozen=True, kw_only=True):
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


class CancelToSend(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    venue_order_id: str
    instrument_id: str
    trade_id: str
    reason: str


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    outcome: BookOutcome
    order: OrderToSend | None = None
    cancel: CancelToSend | None = None

    @property
    def code(self) -> Code:
        return self.outcome.code

    @property
    def ok(self) -> bool:
        return self.outcome.ok


# The one shared "applied, nothing to send" answer: the strategy skips work when it gets this very object.
OK_DECISION = Decision(outcome=book_outcome(Code.OK))
