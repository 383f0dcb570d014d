"""Margin, positions and their risk in the emulated venue: leverage and margin type per symbol, position
margin, equity and available margin, funding settlement, maintenance margin and liquidation; and the events
the engine emits. The base of `Engine` (engine.py); placement and matching build on it (engine_orders.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from . import errors as E
from .config import EmulatorConfig
from .errors import VenueReject
from .model import (
    ZERO,
    Account,
    AccountEvent,
    ConfigEvent,
    Contract,
    Fill,
    Income,
    Order,
    Position,
    SnowflakeIds,
    VenueEvent,
)

EventSink = Callable[[VenueEvent], None]


class MarginAccount:
    """The account side of the engine (see the module docstring)."""

    # Set up by Engine.__init__ (engine.py).
    config: EmulatorConfig
    ids: SnowflakeIds
    contracts: dict[str, Contract]
    account: Account
    event_sinks: list[EventSink]
    funding_rate: Decimal
    funding_history: dict[str, list[tuple[int, Decimal]]]
    force_orders: list[Order]
    _matching: bool
    # Provided by Engine and OrderMatching (engine_orders.py), which build on this class.
    now_ms: Callable[[], int]
    contract: Callable[[str], Contract]
    open_orders: Callable[..., list[Order]]
    _is_close_side: Callable[[Order], bool]
    _execute: Callable[..., Fill | None]

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
