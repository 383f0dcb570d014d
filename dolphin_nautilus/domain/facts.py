"""The facts the trade book emits: one msgspec Struct per ClickHouse row family (docs/design.md §4).

A fact is immutable. Its `row_id` is derived from its content, so writing the same fact twice (a spool
replay, a retried batch) produces the same row id and the tables dedupe it.

Conventions: `ts` is UNIX nanoseconds; quantities, prices, money are `Decimal`; ids are strings;
`origin` says which component produced the fact (`kernel`, `strategy`, `restore`, `journal`, `ops`, ...).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import ClassVar

import msgspec


class Fact(msgspec.Struct, frozen=True, kw_only=True):
    table: ClassVar[str]
    ts: int
    origin: str

    @property
    def row_id(self) -> int:
        """A 63-bit id derived from the table and the fact's full content."""
        return row_id_of(self)


def row_id_of(fact: Fact) -> int:
    payload = fact.table.encode() + b"|" + msgspec.msgpack.encode(fact)
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "big") >> 1


class TradeEntry(Fact, frozen=True, kw_only=True):
    table: ClassVar[str] = "trade_entries"
    trade_id: str
    instrument_id: str
    side: str  # LONG | SHORT
    quantity: Decimal
    price: Decimal
    notional: Decimal
    fee: Decimal
    client_order_id: str


class TradeExitLeg(Fact, frozen=True, kw_only=True):
    table: ClassVar[str] = "trade_exit_legs"
    trade_id: str
    instrument_id: str
    leg_no: int
    reason: str
    quantity: Decimal
    price: Decimal
    notional: Decimal
    realized_pnl: Decimal  # this leg alone, gross of fees
    fee: Decimal  # this leg alone
    remaining_quantity: Decimal
    is_final: bool
    client_order_id: str
    venue_trade_id: str


class TradeClosed(Fact, frozen=True, kw_only=True):
    table: ClassVar[str] = "trades"
    trade_id: str
    instrument_id: str
    side: str
    entry_avg_px: Decimal
    exit_avg_px: Decimal
    quantity: Decimal
    realized_pnl: Decimal  # sum of leg PnL, gross of fees
    fees: Decimal  # entry + exit fees
    net_pnl: Decimal  # realized_pnl - fees
    bars_held: int
    legs: int
    exit_reason: str
    opened_ts: int


class PositionState(Fact, frozen=True, kw_only=True):
    """A slot snapshot. Invariant: status OPEN implies quantity > 0 and notional > 0."""

    table: ClassVar[str] = "position_state"
    trade_id: str
    instrument_id: str
    side: str
    status: str  # OPEN | CLOSED | TOMBSTONED
    quantity: Decimal
    notional: Decimal
    entry_price: Decimal
    bars_held: int
    realized_pnl: Decimal
    fees: Decimal
    legs: int
    seq: int  # strictly increasing per trade
    opened_ts: int
    order_seq: int  # last client-order-id sequence used for this trade, so a restored slot never reuses one


class CapitalUpdate(Fact, frozen=True, kw_only=True):
    table: ClassVar[str] = "capital_updates"
    currency: str
    total: Decimal
    free: Decimal
    locked: Decimal
    delta: Decimal
    reason: str


class OrderEvent(Fact, frozen=True, kw_only=True):
    table: ClassVar[str] = "orders"
    client_order_id: str
    venue_order_id: str
    trade_id: str
    instrument_id: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT
    quantity: Decimal
    price: Decimal  # 0 for market orders
    reduce_only: bool
    event: str  # SUBMITTED | ACCEPTED | REJECTED | CANCELED | CANCEL_REJECTED | FILLED | PARTIALLY_FILLED | UNKNOWN ...
    reason: str


class FillFact(Fact, frozen=True, kw_only=True):
    table: ClassVar[str] = "fills"
    venue_trade_id: str
    client_order_id: str
    venue_order_id: str
    trade_id: str
    instrument_id: str
    side: str  # BUY | SELL
    quantity: Decimal
    price: Decimal
    fee: Decimal
    liquidity: str  # MAKER | TAKER


class Anomaly(Fact, frozen=True, kw_only=True):
    table: ClassVar[str] = "anomalies"
    code: str
    severity: str  # INFO | WARNING | ERROR | CRITICAL
    trade_id: str
    instrument_id: str
    message: str
    details: str  # canonical JSON


FACT_TYPES: tuple[type[Fact], ...] = (
    TradeEntry,
    TradeExitLeg,
    TradeClosed,
    PositionState,
    CapitalUpdate,
    OrderEvent,
    FillFact,
    Anomaly,
)
FACT_TYPE_BY_TABLE: dict[str, type[Fact]] = {t.table: t for t in FACT_TYPES}


def canonical_json(obj: object) -> str:
    """Sorted-key JSON: equal values give equal bytes (compare-and-set, row ids, anomaly details)."""
    return msgspec.json.encode(obj, order="sorted").decode()
