"""Order placement and matching of the emulated venue: the placement rules, market sweeps of the book,
resting orders against feed prints (stops trigger, crossed limits fill in price-time priority), fills applied
to positions, cancels and amends. The orders half of `Engine` (engine.py); margin and positions are in
engine_margin.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

from . import book
from . import errors as E
from .engine_margin import MarginAccount
from .errors import VenueReject
from .model import (
    DOCUMENTED_UNSUPPORTED_TYPES,
    ORDER_TYPES,
    TIME_IN_FORCES,
    ZERO,
    AccountEvent,
    Contract,
    Fill,
    Income,
    Order,
    OrderEvent,
    OrderRequest,
    Position,
    PublicTrade,
)


class OrderMatching(MarginAccount):
    """Placement and matching (see the module docstring); `Engine` supplies the feed and the clock."""

    # From Engine (engine.py): the public trade print a market order's sweep leaves behind, and its trade ids.
    _print: Callable[..., None]
    _trade_ids: Iterator[int]

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
