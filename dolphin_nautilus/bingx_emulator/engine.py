"""Matching, accounts, positions, funding and liquidation of the emulated venue. Single-threaded: it
runs on the server loop. Time comes from the injected clock; events go to `event_sinks` as typed
objects (model.VenueEvent) that the stream hub turns into the venue's wire format.

All prices and quantities are Decimal; the wire module formats them as the venue does.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from decimal import Decimal

from . import book
from . import errors as E
from .clock import Clock, WallClock
from .config import EmulatorConfig
from .errors import VenueReject
from .model import (
    DOCUMENTED_UNSUPPORTED_TYPES,
    ORDER_TYPES,
    TIME_IN_FORCES,
    ZERO,
    Account,
    AccountEvent,
    ConfigEvent,
    Contract,
    Fill,
    Income,
    Order,
    OrderEvent,
    OrderRequest,
    Position,
    PublicTrade,
    SnowflakeIds,
    VenueEvent,
)

HOUR_MS = 3_600_000
EventSink = Callable[[VenueEvent], None]
TradeSink = Callable[[str, PublicTrade], None]


class Engine:
    """The venue's state and matching. Emits user-stream events through `event_sinks`."""

    def __init__(self, config: EmulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or WallClock(config.clock_offset_ms)
        self.ids = SnowflakeIds()
        self.contracts: dict[str, Contract] = {}
        for i, symbol in enumerate(config.symbols):
            spec = config.spec(symbol)
            self.contracts[symbol] = Contract(spec, 100 + i, Decimal(spec.price))
        self.account = Account(Decimal(config.initial_balance), config.dual_side_position)
        self.public_trades: dict[str, list[PublicTrade]] = {s: [] for s in self.contracts}
        self.event_sinks: list[EventSink] = []
        self.trade_sinks: list[TradeSink] = []
        self.funding_rate = Decimal(config.funding_rate)
        self.funding_history: dict[str, list[tuple[int, Decimal]]] = {s: [] for s in self.contracts}
        self.force_orders: list[Order] = []  # liquidations (GET trade/forceOrders)
        self._funding_interval_ms = config.funding_interval_h * HOUR_MS
        self.next_funding_ms = self._funding_after(self.now_ms())
        self._trade_ids = itertools.count(500_000_000)
        self._matching = False
        self._rematch = False
        self._seed_history()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def _funding_after(self, ms: int) -> int:
        """The next funding time: multiples of the interval since the epoch (00/08/16 UTC for 8 h)."""
        return (ms // self._funding_interval_ms + 1) * self._funding_interval_ms

    # ---------------------------------------------------------------- market feed
    def _seed_history(self) -> None:
        """Deterministic synthetic 1m history ending at the initial price, so klines have bars."""
        minutes = self.config.seed_history_minutes
        start = self.now_ms() - minutes * 60_000
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

    def set_price(self, symbol: str, price: Decimal, qty: Decimal | None = None, at_ms: int | None = None) -> None:
        """A new last/mark price from the feed: prints a public trade (stamped `at_ms`, default now),
        then triggers and fills resting orders, settles funding that fell due and liquidates what the
        new price puts under water."""
        contract = self.contract(symbol)
        new_price = contract.trunc_price(price)
        self._print(
            contract, new_price, qty or Decimal(self.config.public_trade_qty), new_price < contract.price, at_ms
        )

    def on_time(self) -> None:
        """Called by the server's timer (and after a manual clock moves): settle funding that fell due."""
        now = self.now_ms()
        while now >= self.next_funding_ms:
            self._settle_funding(self.next_funding_ms)
            self.next_funding_ms += self._funding_interval_ms
        self._check_liquidation()

    def _print(
        self, contract: Contract, price: Decimal, qty: Decimal, buyer_maker: bool, at_ms: int | None = None
    ) -> None:
        """A public trade at `price`: the new last/mark price. Re-entrant calls (a triggered stop that
        sweeps the book) only ask the outer call to match again."""
        contract.price = price
        trade = PublicTrade(price, qty, self.now_ms() if at_ms is None else at_ms, buyer_maker)
        trades = self.public_trades[contract.symbol]
        trades.append(trade)
        if len(trades) > 25_000:
            del trades[:-20_000]
        for sink in self.trade_sinks:
            sink(contract.symbol, trade)
        if self._matching:
            self._rematch = True
            return
        self._matching = True
        try:
            self._rematch = True
            while self._rematch:
                self._rematch = False
                self._match_resting(contract, trade)
        finally:
            self._matching = False
        self.on_time()

    def _match_resting(self, contract: Contract, trade: PublicTrade) -> None:
        """Resting orders against a feed print: stops trigger, crossed limits fill at their own price in
        price-time priority (best price first, then oldest)."""
        resting = [o for o in self.account.open_orders.values() if o.symbol == contract.symbol]
        for order in sorted(resting, key=lambda o: o.time):
            stop = order.type in ("STOP_MARKET", "TAKE_PROFIT_MARKET")
            if stop and order.is_open and self._stop_triggered(order, contract.price):
                order.triggered = True
                self._fill_market(order, contract)
        crossed = [o for o in resting if o.type == "LIMIT" and o.is_open and self._crosses(o, contract.price)]
        crossed.sort(key=lambda o: (-o.price if o.side == "BUY" else o.price, o.time, o.order_id))
        budget = trade.qty if self.config.fill_model.feed_qty_caps_resting else None
        fraction = Decimal(str(self.config.fill_model.limit_fill_fraction))
        for order in crossed:
            chunk = min(max(contract.trunc_qty(order.orig_qty * fraction), contract.step), order.remaining)
            if budget is not None:
                chunk = min(chunk, budget)
                if chunk <= 0:
                    break
                budget -= chunk
            self._execute(order, contract, order.price, chunk, "maker")

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
                raise VenueReject(
                    E.REQUEST_FAILED, "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT."
                )
            if req.reduce_only is not None:
                raise VenueReject(E.REQUEST_FAILED, "In the Hedge mode, the 'ReduceOnly' field can not be filled.")
        elif position_side != "BOTH":
            raise VenueReject(
                E.REQUEST_FAILED, "In the One-way mode, the 'PositionSide' field can only be set to BOTH."
            )
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
            raise VenueReject(
                E.ORDER_SIZE, f"The minimum order amount is {contract.spec.min_qty} {req.symbol.split('-')[0]}"
            )
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
        ms = self.now_ms()
        order = Order(
            order_id=self.ids.next(ms),
            client_order_id=cid,
            symbol=req.symbol,
            side=req.side,
            position_side=position_side,
            type=req.type,
            orig_qty=quantity,
            price=price,
            stop_price=stop_price,
            time_in_force=req.time_in_force,
            reduce_only=bool(req.reduce_only),
            time=ms,
            update_time=ms,
            leverage=self.leverage(req.symbol, position_side if position_side != "BOTH" else "BOTH"),
            working_type=req.working_type,
            price_places=contract.spec.price_precision,
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
        if order.reduce_only and (closing == 0 or order.orig_qty > closing):
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
        (bid, _), (ask, _) = book.best_bid_ask(contract)
        marketable = order.type == "MARKET" or (
            order.type == "LIMIT" and (order.price >= ask if order.side == "BUY" else order.price <= bid)
        )
        if order.time_in_force == "PostOnly" and marketable and order.type == "LIMIT":
            raise VenueReject(E.POST_ONLY_WOULD_TAKE)
        self.account.orders[order.order_id] = order
        self.account.open_orders[order.order_id] = order
        if order.client_order_id:
            self.account.client_ids[order.client_order_id] = order.order_id
        self._emit(OrderEvent(order, "NEW"))
        if order.type == "MARKET":
            self._fill_market(order, contract)
        elif marketable:
            if order.time_in_force == "FOK" and self._book_qty(contract, order) < order.remaining:
                self._finish(order, "EXPIRED")  # fill-or-kill: not enough within the limit
                return order
            self._sweep(order, contract, order.remaining, order.price)
        if order.is_open and order.type == "LIMIT" and order.time_in_force in ("IOC", "FOK"):
            self._finish(order, "EXPIRED")
        return order

    def _book_qty(self, contract: Contract, order: Order) -> Decimal:
        """Book quantity a LIMIT taker could take within its limit price."""
        buy = order.side == "BUY"
        total = ZERO
        for price, size in book.opposite(contract, order.side):
            if (price > order.price) if buy else (price < order.price):
                break
            total += size
            if total >= order.remaining:
                break
        return total

    def _fill_market(self, order: Order, contract: Contract) -> None:
        slices = max(1, self.config.fill_model.market_slices)
        chunk = max(contract.trunc_qty(order.orig_qty / slices), contract.step)
        while order.is_open:
            if self._sweep(order, contract, min(chunk, order.remaining), None) <= 0:
                if order.is_open:  # the configured book is exhausted: the rest expires
                    self._finish(order, "EXPIRED")
                return

    def _sweep(self, order: Order, contract: Contract, qty: Decimal, limit: Decimal | None) -> Decimal:
        """Take `qty` from the book level by level (up to `limit`); the last price moves to the deepest
        level touched. Returns the quantity filled."""
        buy = order.side == "BUY"
        takes: list[tuple[Decimal, Decimal]] = []
        left = qty
        for price, size in book.opposite(contract, order.side):
            if left <= 0 or (limit is not None and ((price > limit) if buy else (price < limit))):
                break
            take = min(size, left)
            takes.append((price, take))
            left -= take
        if not takes:
            return ZERO
        before = order.executed_qty
        if self.config.fill_model.fill_per_level:
            for price, take in takes:
                if order.is_open:
                    self._execute(order, contract, price, take, "taker")
        else:
            total = sum((t for _, t in takes), ZERO)
            vwap = sum((p * t for p, t in takes), ZERO) / total
            self._execute(order, contract, vwap, total, "taker")
        filled = order.executed_qty - before
        if filled > 0:
            self._print(contract, takes[-1][0], filled, buyer_maker=not buy)
        return filled

    def _execute(
        self, order: Order, contract: Contract, price: Decimal, qty: Decimal, role: str, execution: str = "TRADE"
    ) -> Fill | None:
        if order.reduce_only:
            qty = min(qty, self._closing_qty(order))
            if qty <= 0:
                self._finish(order, "EXPIRED")
                return None
        fee_rate = Decimal(contract.spec.maker_fee if role == "maker" else contract.spec.taker_fee)
        fee = -(qty * price * fee_rate)
        realized = self._apply_to_position(order, price, qty)
        ms = self.now_ms()
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
        fill = Fill(
            trade_id,
            order.order_id,
            order.client_order_id,
            order.symbol,
            order.side,
            order.position_side,
            price,
            qty,
            fee,
            realized,
            role,
            ms,
            order.price_places,
            order.qty_places,
        )
        account.fills.append(fill)
        account.income.append(Income(order.symbol, "TRADING_FEE", fee, ms, self.ids.next(ms), str(trade_id)))
        if realized:
            account.income.append(Income(order.symbol, "REALIZED_PNL", realized, ms, self.ids.next(ms), str(trade_id)))
        self._emit(OrderEvent(order, execution, fill))
        pos = account.positions.get((order.symbol, order.position_side))
        self._emit(AccountEvent("ORDER", (pos,) if pos else (), realized + fee))
        return fill

    def _apply_to_position(self, order: Order, price: Decimal, qty: Decimal) -> Decimal:
        """Update the position with one fill; returns the realized PnL of the reducing part."""
        key = (order.symbol, order.position_side)
        pos = self.account.positions.get(key)
        if pos is None:
            pos = Position(order.symbol, order.position_side, self.ids.next(self.now_ms()))
            self.account.positions[key] = pos
        pos.update_time = self.now_ms()
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
        order.update_time = self.now_ms()
        self._emit(OrderEvent(order, status))

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
        ms = self.now_ms()
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
            o
            for o in self.account.open_orders.values()
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
        order.update_time = self.now_ms()
        self._emit(OrderEvent(order, "NEW"))  # amend has no documented execution type
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
        return [p for p in self.account.positions.values() if p.qty != 0 and (not symbol or p.symbol == symbol)]

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

    # ---------------------------------------------------------------- funding and liquidation
    def _settle_funding(self, funding_ms: int) -> None:
        """Each open position pays (or receives) value x rate at the funding time; longs pay a positive
        rate. Reported as the venue does: income FUNDING_FEE, and ACCOUNT_UPDATE m=FUNDING_FEE with
        only the balance for cross positions, balance plus that position for isolated ones."""
        rate = self.funding_rate
        for symbol in self.contracts:
            self.funding_history[symbol].append((funding_ms, rate))
        now = self.now_ms()
        for pos in self.positions():
            mark = self.contracts[pos.symbol].price
            signed_qty = pos.qty if pos.side == "BOTH" else pos.qty * pos.direction
            payment = -(signed_qty * mark * rate)
            self.account.balance += payment
            self.account.income.append(Income(pos.symbol, "FUNDING_FEE", payment, now, self.ids.next(now)))
            isolated = self.margin_type(pos.symbol) != "CROSSED"
            self._emit(AccountEvent("FUNDING_FEE", (pos,) if isolated else (), payment))

    def maintenance_margin(self, pos: Position) -> Decimal:
        mark = self.contracts[pos.symbol].price
        return abs(pos.qty) * mark * Decimal(self.contracts[pos.symbol].spec.maint_margin_ratio)

    def _isolated_margin(self, pos: Position) -> Decimal:
        return self.position_margin(pos) + pos.unrealized(self.contracts[pos.symbol].price)

    def _cross_balance(self) -> Decimal:
        """Margin balance backing cross positions: wallet minus isolated margins plus cross unrealized PnL."""
        total = self.account.balance
        for p in self.positions():
            if self.margin_type(p.symbol) == "CROSSED":
                total += p.unrealized(self.contracts[p.symbol].price)
            else:
                total -= self.position_margin(p)
        return total

    def risk_rate(self, pos: Position) -> Decimal:
        """Maintenance margin / margin balance (the positions' `riskRate`); liquidation at >= 1."""
        if self.margin_type(pos.symbol) != "CROSSED":
            mm, balance = self.maintenance_margin(pos), self._isolated_margin(pos)
        else:
            cross = [p for p in self.positions() if self.margin_type(p.symbol) == "CROSSED"]
            mm, balance = sum((self.maintenance_margin(p) for p in cross), ZERO), self._cross_balance()
        return mm / balance if balance > 0 else Decimal(1) if mm > 0 else ZERO

    def liquidation_price(self, pos: Position) -> Decimal:
        """Mark price at which this position alone reaches risk rate 100% (others at their marks)."""
        entry, qty = pos.entry_price, abs(pos.qty)
        mmr = Decimal(self.contracts[pos.symbol].spec.maint_margin_ratio)
        if self.margin_type(pos.symbol) != "CROSSED":
            other = self.position_margin(pos)
        else:
            other = self._cross_balance() - pos.unrealized(self.contracts[pos.symbol].price)
            other -= sum(
                (
                    self.maintenance_margin(p)
                    for p in self.positions()
                    if p is not pos and self.margin_type(p.symbol) == "CROSSED"
                ),
                ZERO,
            )
        if pos.direction > 0:
            price = (entry * qty - other) / (qty * (1 - mmr))
        else:
            price = (other + entry * qty) / (qty * (1 + mmr))
        return max(price, ZERO)

    def _check_liquidation(self) -> None:
        if not self.config.liquidation or self._matching:
            return
        positions = self.positions()
        cross = [p for p in positions if self.margin_type(p.symbol) == "CROSSED"]
        if cross and self.risk_rate(cross[0]) >= 1:
            ratio = self.risk_rate(cross[0])
            for pos in cross:
                self._liquidate(pos, ratio)
        for pos in positions:
            if self.margin_type(pos.symbol) != "CROSSED" and pos.qty and self.risk_rate(pos) >= 1:
                self._liquidate(pos, self.risk_rate(pos))

    def _liquidate(self, pos: Position, ratio: Decimal) -> None:
        """Close the position at the mark with a LIQUIDATION order: ORDER_TRADE_UPDATE o=LIQUIDATION
        x=CALCULATED X=FILLED, then ACCOUNT_UPDATE; listed by forceOrders. A negative wallet after the
        close is cleared to zero (INSURANCE_CLEAR income)."""
        contract = self.contracts[pos.symbol]
        ms = self.now_ms()
        side = "SELL" if pos.direction > 0 else "BUY"
        order = Order(
            order_id=self.ids.next(ms),
            client_order_id="",
            symbol=pos.symbol,
            side=side,
            position_side=pos.side,
            type="LIQUIDATION",
            orig_qty=abs(pos.qty),
            price=contract.price,
            stop_price=ZERO,
            time_in_force="IOC",
            reduce_only=pos.side == "BOTH",
            time=ms,
            update_time=ms,
            leverage=self.leverage(pos.symbol, pos.side),
            price_places=contract.spec.price_precision,
            qty_places=contract.spec.quantity_precision,
        )
        self.account.orders[order.order_id] = order
        self.account.open_orders[order.order_id] = order
        self.force_orders.append(order)
        fill = self._execute(order, contract, contract.price, order.orig_qty, "taker", execution="CALCULATED")
        if fill is not None:
            fill.liquidation_margin_ratio = ratio
        if self.account.balance < 0:
            cleared = -self.account.balance
            self.account.balance = ZERO
            self.account.income.append(Income(pos.symbol, "INSURANCE_CLEAR", cleared, ms, self.ids.next(ms)))

    # ---------------------------------------------------------------- events
    def _emit(self, event: VenueEvent) -> None:
        for sink in self.event_sinks:
            sink(event)

    def _emit_config(self, symbol: str) -> None:
        self._emit(ConfigEvent(symbol))
