"""The emulated venue's state as plain data: contracts, orders, fills, positions, account, and the events
the engine emits (the stream hub turns them into the venue's wire format)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from .config import ContractSpec

TWITTER_EPOCH_MS = 1288834974657
ZERO = Decimal(0)
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
ORDER_TYPES = ("LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET")
DOCUMENTED_UNSUPPORTED_TYPES = (
    "STOP",
    "TAKE_PROFIT",
    "TRIGGER_LIMIT",
    "TRIGGER_MARKET",
    "TRAILING_STOP_MARKET",
    "TRAILING_TP_SL",
)
TIME_IN_FORCES = ("GTC", "IOC", "FOK", "PostOnly")


class SnowflakeIds:
    """Order ids like the venue's: (ms - Twitter epoch) << 22 | sequence, always > 2**53."""

    def __init__(self) -> None:
        self._seq = itertools.count(random.randrange(1 << 20))

    def next(self, ms: int) -> int:
        return ((ms - TWITTER_EPOCH_MS) << 22) | (next(self._seq) & ((1 << 22) - 1))


@dataclass
class Contract:
    spec: ContractSpec
    contract_id: int
    price: Decimal

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.spec.price_precision)

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.spec.quantity_precision)

    def trunc_price(self, value: Decimal) -> Decimal:
        return value.quantize(self.tick, rounding=ROUND_DOWN)

    def trunc_qty(self, value: Decimal) -> Decimal:
        return value.quantize(self.step, rounding=ROUND_DOWN)


@dataclass
class Order:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    position_side: str  # BOTH / LONG / SHORT
    type: str
    orig_qty: Decimal
    price: Decimal  # 0 for MARKET
    stop_price: Decimal
    time_in_force: str
    reduce_only: bool
    leverage: int
    time: int
    working_type: str = "MARK_PRICE"
    status: str = "NEW"  # WS vocabulary; REST maps NEW->PENDING, CANCELED->CANCELLED
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    commission: Decimal = ZERO  # negative when paid
    profit: Decimal = ZERO
    update_time: int = 0
    triggered: bool = False
    last_cancel_ms: int = 0
    price_places: int = 8  # the contract's precisions, for the wire format
    qty_places: int = 8

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class Fill:
    trade_id: int
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    position_side: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    realized_pnl: Decimal
    role: str  # maker / taker
    time: int
    price_places: int = 8
    qty_places: int = 8
    liquidation_margin_ratio: Decimal | None = None  # set on liquidation fills


@dataclass
class Position:
    symbol: str
    side: str  # BOTH (signed qty) / LONG / SHORT (positive qty)
    position_id: int
    qty: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    update_time: int = 0

    @property
    def direction(self) -> int:
        if self.side == "LONG":
            return 1
        if self.side == "SHORT":
            return -1
        return 1 if self.qty > 0 else -1

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.entry_price) * self.qty if self.side != "SHORT" else (self.entry_price - mark) * self.qty


@dataclass
class PublicTrade:
    price: Decimal
    qty: Decimal
    time: int
    buyer_maker: bool


@dataclass
class Income:
    symbol: str
    income_type: str
    income: Decimal
    time: int
    tran_id: int
    trade_id: str = ""


@dataclass
class Account:
    balance: Decimal
    dual_side: bool
    orders: dict[int, Order] = field(default_factory=dict)
    open_orders: dict[int, Order] = field(default_factory=dict)  # index of the open subset
    client_ids: dict[str, int] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    leverage: dict[tuple[str, str], int] = field(default_factory=dict)
    margin_type: dict[str, str] = field(default_factory=dict)
    realised_total: Decimal = ZERO


@dataclass
class OrderRequest:
    """A validated place-order request (values already parsed from the wire)."""

    symbol: str
    side: str
    position_side: str
    type: str
    quantity: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    reduce_only: bool | None
    client_order_id: str
    working_type: str = "MARK_PRICE"
    quote_order_qty: Decimal | None = None


@dataclass(frozen=True)
class OrderEvent:
    """An order changed: `execution` is the venue's `x` (NEW, TRADE, CANCELED, EXPIRED, CALCULATED)."""

    order: Order
    execution: str
    fill: Fill | None = None


@dataclass(frozen=True)
class AccountEvent:
    """Balance/positions changed for `reason` (the venue's `m`: ORDER, FUNDING_FEE)."""

    reason: str
    positions: tuple[Position, ...]
    balance_change: Decimal = ZERO


@dataclass(frozen=True)
class ConfigEvent:
    """Leverage or margin mode of `symbol` changed."""

    symbol: str


VenueEvent = OrderEvent | AccountEvent | ConfigEvent
