"""The venue's own history as plain rows (orders, fills, the instruments' precisions): what the adapter
builds from its order and fill history and the back-fill plans from (`journal.backfill`)."""

from __future__ import annotations

from decimal import Decimal

import msgspec


class VenueOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One order as the venue's history has it (open or finished)."""

    venue_order_id: str
    client_order_id: str  # lower case, as the venue stores it
    instrument_id: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT
    status: str  # NEW | PENDING | PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED | ...
    quantity: Decimal
    price: Decimal  # 0 for market orders
    reduce_only: bool
    created_ms: int
    updated_ms: int


class VenueFill(msgspec.Struct, frozen=True, kw_only=True):
    """One execution as the venue's fill history has it. `fee` is what was paid (the venue's commission
    negated, as the live path hands it to the strategy)."""

    venue_trade_id: str
    venue_order_id: str
    instrument_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    ts_ms: int


class VenueHistory(msgspec.Struct, frozen=True, kw_only=True):
    start_ms: int
    end_ms: int
    orders: list[VenueOrder]
    fills: list[VenueFill]


class Precision(msgspec.Struct, frozen=True):
    price: int
    size: int
