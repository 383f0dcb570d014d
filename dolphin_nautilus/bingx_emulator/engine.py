"""Matching, accounts and positions of the emulated venue. Single-threaded: runs on the server loop.

All prices and quantities are Decimal; the server formats them as the venue does (strings mostly).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from . import errors as E
from .config import ContractSpec, EmulatorConfig
from .errors import VenueReject

TWITTER_EPOCH_MS = 1288834974657
ZERO = Decimal(0)
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
ORDER_TYPES = ("LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET")
DOCUMENTED_UNSUPPORTED_TYPES = (
    "STOP", "TAKE_PROFIT", "TRIGGER_LIMIT", "TRIGGER_MARKET", "TRAILING_STOP_MARKET", "TRAILING_TP_SL",
)
TIME_IN_FORCES = ("GTC", "IOC", "FOK", "PostOnly")


def now_ms() -> int:
    return int(time.time() * 1000)


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


EventSink = Callable[[dict], None]
TradeSink = Callable[[str, PublicTrade], None]


class Engine:
    """The venue's state and matching. Emits user-stream events through `event_sinks`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.ids = SnowflakeIds()
        self.contracts: dict[str, Contract] = {}
        for i, symbol in enumerate(config.symbols):
            spec = config.spec(symbol)
            self.contracts[symbol] = Contract(spec, 100 + i, Decimal(spec.price))
        self.account = Account(Decimal(config.initial_balance), config.dual_side_position)
        self.public_trades: dict[str, list[PublicTrade]] = {s: [] for s in self.contracts}
        self.event_sinks: list[EventSink] = []
        self.trade_sinks: list[TradeSink] = []
        self.funding_rate = Decimal("0.0001")
        self._trade_ids = itertools.count(500_000_000)
        self._seed_history()

    # ---------------------------------------------------------------- market feed
    def _seed_history(self) -> None:
        """Deterministic synthetic 1m history ending at the initial price, so klines have bars."""
        minutes = self.config.seed_history_minutes
        start = now_ms() - minutes * 60_000
        for symbol, contract in self.contracts.items():
            rng = random.Random(symbol)
            price = contract.price
            path = [price]
            for _ in range(minutes - 1):
                price = contract.trunc_price(price * Decimal(1 + rng.uniform(-0.001, 0.001)))
                path.append(price)
            path.reverse()
            for i, px in enumerate(path):
                trade = PublicTrade(px, Decimal(self.config.public_trade_qty), start + i * 60_000, rng.random() < 0.5)
                self.public_trades[symbol].append(trade)

    def contract(self, symbol: str) -> Contract:
        contract = self.contracts.get(symbol)
        if contract is None:
            raise VenueReject(E.SYMBOL_NOT_EXIST, f"symbol {symbol!r} not exist")
        return contract

    def set_price(self, symbol: str, price: Decimal, qty: Decimal | None = None) -> None:
        """A new last/mark price: prints a public trade, then triggers and fills resting orders."""
        contract = self.contract(symbol)
        previous = contract.price
        contract.price = contract.trunc_price(price)
        trade = PublicTrade(
            contract.price, qty or Decimal(self.config.public_trade_qty), now_ms(), contract.price < previous
        )
        self.public_trades[symbol].append(trade)
        del self.public_trades[symbol][:-20_000]
        for sink in self.trade_sinks:
            sink(symbol, trade)
        self._match_resting(contract)

    def _match_resting(self, contract: Contract) -> None:
        resting = [o for o in self.account.open_orders.values() if o.symbol == contract.symbol]
        for order in sorted(resting, key=lambda o: o.time):
            if order.type in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                if self._stop_triggered(order, contract.price):
                    order.triggered = True
                    self._fill_market(order, contract)
            elif order.type == "LIMIT" and self._crosses(order, contract.price):
                fraction = Decimal(str(self.config.fill_model.limit_fill_fraction))
                chunk = max(contract.trunc_qty(order.orig_qty * fraction), contract.step)
                self._execute(order, contract, order.price, min(chunk, order.remaining), "maker")

    @staticmethod
    def _crosses(order: Order, price: Decimal) -> bool:
        return price <= order.price if order.side == "BUY" else price >= order.price

    @staticmethod
    def _stop_triggered(order: Order, price: Decimal) -> bool:
        buy = order.side == "BUY"
        if order.type == "STOP_MARKET":
            return price >= order.stop_price if buy else price <= order.stop_price
        return price <= order.stop_price if buy else price >= order.stop_price

    # ---------------------------------------------------------------- orders
    def validate(self, req: OrderRequest) -> tuple[Contract, Order]:
        """Apply the venue's placement rules; returns the order that would be created."""
        contract = self.contract(req.symbol)
        account = self.account
        if req.type in DOCUMENTED_UNSUPPORTED_TYPES:
            raise VenueReject(E.INVALID_PARAM, f"order type {req.type} is not supported by this emulator")
        if req.type not in ORDER_TYPES:
            raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:type {req.type!r} is invalid")
        if req.side not in ("BUY", "SELL"):
            raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:side {req.side!r} is invalid")
        if req.time_in_force not in TIME_IN_FORCES:
            raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:timeInForce {req.time_in_force!r}")
        position_side = req.position_side or "LONG"  # documented: empty defaults to LONG
        if account.dual_side:
            if position_side not in ("LONG", "SHORT"):
                raise VenueReject(E.REQUEST_FAILED, "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT.")
            if req.reduce_only is not None:
                raise VenueReject(E.REQUEST_FAILED, "In the Hedge mode, the 'ReduceOnly' field can not be filled.")
        elif position_side != "BOTH":
            raise VenueReject(E.REQUEST_FAILED, "In the One-way mode, the 'PositionSide' field can only be set to BOTH.")
        quantity = req.quantity
        ref_price = contract.price
        if quantity is None and req.quote_order_qty is not None and req.type == "MARKET":
            quantity = req.quote_order_qty / ref_price
        if quantity is None or quantity <= 0:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:quantity is required")
        quantity = contract.trunc_qty(quantity)
        price = ZERO
        if req.type == "LIMIT":
            if req.price is None or req.price <= 0:
                raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:price is required for LIMIT")
            price = contract.trunc_price(req.price)
            ref_price = price
        stop_price = ZERO
        if req.type in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
            if req.stop_price is None or req.stop_price <= 0:
                raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:stopPrice is required")
            stop_price = contract.trunc_price(req.stop_price)
        if quantity < Decimal(contract.spec.min_qty):
            raise VenueReject(E.ORDER_SIZE, f"The minimum order amount is {contract.spec.min_qty} {req.symbol.split('-')[0]}")
        if quantity * ref_price < Decimal(contract.spec.min_notional):
            raise VenueReject(E.MIN_NOTIONAL, f"The minimum order amount is {contract.spec.min_notional} USDT")
        cid = req.client_order_id.lower()
        if cid:
            if len(cid) > 40:
                raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:clientOrderId length must be 1-40")
            if req.type not in ("LIMIT", "MARKET"):
                cid = ""  # documented: only honoured on LIMIT/MARKET
            elif cid in account.client_ids:
                raise VenueReject(E.DUPLICATE_CLIENT_ORDER_ID)
        ms = now_ms()
        order = Order(
            order_id=self.ids.next(ms), client_order_id=cid, symbol=req.symbol, side=req.side,
            position_side=position_side, type=req.type, orig_qty=quantity, price=price, stop_price=stop_price,
            time_in_force=req.time_in_force, reduce_only=bool(req.reduce_only), time=ms, update_time=ms,
            leverage=self.leverage(req.symbol, position_side if position_side != "BOTH" else "BOTH"),
            working_type=req.working_type, price_places=contract.spec.price_precision,
            qty_places=contract.spec.quantity_precision,
        )
        self._check_position_rules(order, contract)
        return contract, order

    def _check_position_rules(self, order: Order, contract: Contract) -> None:
        closing = self._closing_qty(order)
        if order.type in ("STOP_MARKET", "TAKE_PROFIT_MARKET") and self._position_qty(order) == 0:
            raise VenueReject(E.NO_POSITION_TO_CLOSE)
        if self.account.dual_side and self._is_close_side(order):
            if self._position_qty(order) == 0:
                raise VenueReject(E.NO_POSITION_TO_CLOSE)
            if order.orig_qty > abs(self._position_qty(order)):
                raise VenueReject(E.REQUEST_FAILED, "The order quantity exceeds the closable position quantity")
        if order.reduce_only:
            if closing == 0 or order.orig_qty > closing:
                raise VenueReject(E.REDUCE_ONLY_INCREASE)
        opening = order.orig_qty - closing
        if opening > 0:
            price = order.price if order.type == "LIMIT" else contract.price
            required = opening * price / order.leverage
            if required > self.available_margin():
                raise VenueReject(E.INSUFFICIENT_MARGIN)

    def _position_qty(self, order: Order) -> Decimal:
        pos = self.account.positions.get((order.symbol, order.position_side))
        return pos.qty if pos else ZERO

    def _is_close_side(self, order: Order) -> bool:
        return (order.position_side, order.side) in (("LONG", "SELL"), ("SHORT", "BUY"))

    def _closing_qty(self, order: Order) -> Decimal:
        """How much of this order would reduce the current position."""
        qty = self._position_qty(order)
        if order.position_side == "BOTH":
            if (qty > 0 and order.side == "SELL") or (qty < 0 and order.side == "BUY"):
                return min(abs(qty), order.orig_qty)
            return ZERO
        return min(qty, order.orig_qty) if self._is_close_side(order) else ZERO

    def place(self, req: OrderRequest) -> Order:
        contract, order = self.validate(req)
        marketable = order.type == "MARKET" or (order.type == "LIMIT" and self._crosses(order, contract.price))
        if order.time_in_force == "PostOnly" and marketable and order.type == "LIMIT":
            raise VenueReject(E.POST_ONLY_WOULD_TAKE)
        self.account.orders[order.order_id] = order
        self.account.open_orders[order.order_id] = order
        if order.client_order_id:
            self.account.client_ids[order.client_order_id] = order.order_id
        self._emit_order(order, "NEW")
        if order.type == "MARKET":
            self._fill_market(order, contract)
        elif marketable:
            # an aggressive LIMIT takes at the current price (price improvement), as a taker
            self._execute(order, contract, contract.price, order.remaining, "taker")
        if order.is_open and order.type == "LIMIT" and order.time_in_force in ("IOC", "FOK"):
            self._finish(order, "EXPIRED")
        return order

    def _fill_market(self, order: Order, contract: Contract) -> None:
        slices = max(1, self.config.fill_model.market_slices)
        chunk = max(contract.trunc_qty(order.orig_qty / slices), contract.step)
        while order.is_open:
            self._execute(order, contract, contract.price, min(chunk, order.remaining), "taker")

    def _execute(self, order: Order, contract: Contract, price: Decimal, qty: Decimal, role: str) -> None:
        if order.reduce_only:
            qty = min(qty, self._closing_qty(order))
            if qty <= 0:
                self._finish(order, "EXPIRED")
                return
        fee_rate = Decimal(contract.spec.maker_fee if role == "maker" else contract.spec.taker_fee)
        fee = -(qty * price * fee_rate)
        realized = self._apply_to_position(order, price, qty)
        ms = now_ms()
        order.executed_qty += qty
        order.cum_quote += qty * price
        order.commission += fee
        order.profit += realized
        order.update_time = ms
        order.status = "FILLED" if order.remaining <= 0 else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self.account.open_orders.pop(order.order_id, None)
        account = self.account
        account.balance += realized + fee
        account.realised_total += realized
        trade_id = next(self._trade_ids)
        fill = Fill(trade_id, order.order_id, order.client_order_id, order.symbol, order.side,
                    order.position_side, price, qty, fee, realized, role, ms, order.price_places, order.qty_places)
        account.fills.append(fill)
        account.income.append(Income(order.symbol, "TRADING_FEE", fee, ms, self.ids.next(ms), str(trade_id)))
        if realized:
            account.income.append(Income(order.symbol, "REALIZED_PNL", realized, ms, self.ids.next(ms), str(trade_id)))
        self._emit_order(order, "TRADE", fill)
        self._emit_account(order)

    def _apply_to_position(self, order: Order, price: Decimal, qty: Decimal) -> Decimal:
        """Update the position with one fill; returns the realized PnL of the reducing part."""
        key = (order.symbol, order.position_side)
        pos = self.account.positions.get(key)
        if pos is None:
            pos = Position(order.symbol, order.position_side, self.ids.next(now_ms()))
            self.account.positions[key] = pos
        pos.update_time = now_ms()
        if order.position_side == "BOTH":
            signed = qty if order.side == "BUY" else -qty
            if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
                pos.entry_price = (pos.entry_price * abs(pos.qty) + price * qty) / (abs(pos.qty) + qty)
                pos.qty += signed
                return ZERO
            closed = min(abs(pos.qty), qty)
            realized = (price - pos.entry_price) * closed * (1 if pos.qty > 0 else -1)
            pos.qty += signed
            pos.realized_pnl += realized
            if pos.qty != 0 and (pos.qty > 0) == (signed > 0):  # flipped: remainder opens at this price
                pos.entry_price = price
            elif pos.qty == 0:
                pos.entry_price = ZERO
            return realized
        if self._is_close_side(order):
            closed = min(pos.qty, qty)
            realized = (price - pos.entry_price) * closed * pos.direction
            pos.qty -= closed
            pos.realized_pnl += realized
            if pos.qty == 0:
                pos.entry_price = ZERO
            return realized
        pos.entry_price = (pos.entry_price * pos.qty + price * qty) / (pos.qty + qty)
        pos.qty += qty
        return ZERO

    def _finish(self, order: Order, status: str) -> None:
        order.status = status
        self.account.open_orders.pop(order.order_id, None)
        order.update_time = now_ms()
        self._emit_order(order, status)

    def find(self, symbol: str | None, order_id: int | None, client_order_id: str | None) -> Order:
        account = self.account
        if order_id is None and client_order_id:
            order_id = account.client_ids.get(client_order_id.lower())
        order = account.orders.get(order_id) if order_id is not None else None
        if order is None or (symbol and order.symbol != symbol):
            raise VenueReject(E.ORDER_NOT_EXIST)
        return order

    def cancel(self, symbol: str, order_id: int | None, client_order_id: str | None) -> Order:
        order = self.find(symbol, order_id, client_order_id)
        ms = now_ms()
        if ms - order.last_cancel_ms < 1000:
            raise VenueReject(E.REPEATED_WITHIN_1S)
        order.last_cancel_ms = ms
        if order.status == "FILLED":
            raise VenueReject(E.ORDER_ALREADY_FILLED)
        if not order.is_open:
            raise VenueReject(E.ORDER_NOT_EXIST, "order not exist or already cancelled")
        self._finish(order, "CANCELED")
        return order

    def cancel_all(self, symbol: str | None, type_filter: str | None) -> list[Order]:
        victims = [
            o for o in self.account.open_orders.values()
            if (not symbol or o.symbol == symbol) and (not type_filter or o.type == type_filter)
        ]
        for order in victims:
            self._finish(order, "CANCELED")
        return victims

    def amend(self, order: Order, quantity: Decimal) -> Order:
        contract = self.contract(order.symbol)
        quantity = contract.trunc_qty(quantity)
        if not order.is_open:
            raise VenueReject(E.ORDER_ALREADY_FILLED if order.status == "FILLED" else E.ORDER_NOT_EXIST)
        if quantity <= order.executed_qty or quantity < Decimal(contract.spec.min_qty):
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:quantity")
        order.orig_qty = quantity
        order.update_time = now_ms()
        self._emit_order(order, "NEW")  # amend has no documented execution type
        return order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.account.open_orders.values() if not symbol or o.symbol == symbol]

    # ---------------------------------------------------------------- account
    def leverage(self, symbol: str, side: str) -> int:
        return self.account.leverage.get((symbol, side), self.config.default_leverage)

    def set_leverage(self, symbol: str, side: str, leverage: int) -> None:
        contract = self.contract(symbol)
        if self.account.dual_side and side not in ("LONG", "SHORT"):
            raise VenueReject(E.REQUEST_FAILED, "In the Hedge mode, the 'Side' field can only be set to LONG or SHORT.")
        if not self.account.dual_side and side != "BOTH":
            raise VenueReject(E.REQUEST_FAILED, "In the One-way mode, the 'Side' field can only be set to BOTH.")
        if not 1 <= leverage <= contract.spec.max_leverage:
            raise VenueReject(E.LEVERAGE_TOO_HIGH)
        self.account.leverage[(symbol, side)] = leverage
        self._emit_config(symbol)

    def set_margin_type(self, symbol: str, margin_type: str) -> None:
        self.contract(symbol)
        if margin_type not in ("ISOLATED", "CROSSED", "SEPARATE_ISOLATED"):
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:marginType")
        if self.open_orders(symbol) or any(p.qty for p in self.positions(symbol)):
            raise VenueReject(E.REQUEST_FAILED, "the account has positions or pending orders")
        self.account.margin_type[symbol] = margin_type
        self._emit_config(symbol)

    def margin_type(self, symbol: str) -> str:
        return self.account.margin_type.get(symbol, "CROSSED")

    def set_dual_side(self, dual: bool) -> None:
        if self.open_orders() or any(p.qty for p in self.account.positions.values()):
            raise VenueReject(E.PENDING_ORDERS_OR_POSITION)
        self.account.dual_side = dual

    def positions(self, symbol: str | None = None) -> list[Position]:
        return [
            p for p in self.account.positions.values() if p.qty != 0 and (not symbol or p.symbol == symbol)
        ]

    def position_margin(self, pos: Position) -> Decimal:
        return abs(pos.qty) * pos.entry_price / self.leverage(pos.symbol, pos.side)

    def unrealized(self) -> Decimal:
        return sum((p.unrealized(self.contracts[p.symbol].price) for p in self.positions()), ZERO)

    def used_margin(self) -> Decimal:
        return sum((self.position_margin(p) for p in self.positions()), ZERO)

    def frozen_margin(self) -> Decimal:
        total = ZERO
        for o in self.open_orders():
            if o.type == "LIMIT" and not o.reduce_only and not self._is_close_side(o):
                total += o.remaining * o.price / o.leverage
        return total

    def equity(self) -> Decimal:
        return self.account.balance + self.unrealized()

    def available_margin(self) -> Decimal:
        return self.equity() - self.used_margin() - self.frozen_margin()

    # ---------------------------------------------------------------- events
    def _emit(self, event: dict) -> None:
        for sink in self.event_sinks:
            sink(event)

    def _emit_order(self, order: Order, execution: str, fill: Fill | None = None) -> None:
        from .wire import order_trade_update

        self._emit(order_trade_update(order, execution, fill))

    def _emit_account(self, order: Order) -> None:
        from .wire import account_update

        pos = self.account.positions.get((order.symbol, order.position_side))
        self._emit(account_update(self, [pos] if pos else []))

    def _emit_config(self, symbol: str) -> None:
        from .wire import account_config_update

        self._emit(account_config_update(self, symbol))
