"""Matching, accounts, positions, funding and liquidation of the emulated venue. Single-threaded: it
runs on the server loop. Time comes from the injected clock; events go to `event_sinks` as typed
objects (model.VenueEvent) that the stream hub turns into the venue's wire format.

All prices and quantities are Decimal; the wire module formats them as the venue does.

This module holds the state and the feed (prints, funding times); `Engine` builds on OrderMatching
(engine_orders.py: placement and matching), which builds on MarginAccount (engine_margin.py: margin,
positions, funding, liquidation, events).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from decimal import Decimal

from . import errors as E
from .clock import Clock, WallClock
from .config import EmulatorConfig
from .engine_margin import EventSink
from .engine_orders import OrderMatching
from .errors import VenueReject
from .model import Account, Contract, Order, PublicTrade, SnowflakeIds

HOUR_MS = 3_600_000
TradeSink = Callable[[str, PublicTrade], None]


class Engine(OrderMatching):
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
