"""Shared builders for the domain tests: instrument specs, a book, and short-hands for venue round trips."""

from __future__ import annotations

from decimal import Decimal as D

from dolphin_nautilus.domain import InstrumentSpec, TradeBook
from dolphin_nautilus.domain.facts import PositionState

BTC = "BTC-USDT-PERP.BINGX"
ATOM = "ATOM-USDT-PERP.BINGX"

SPECS = {
    BTC: InstrumentSpec(
        instrument_id=BTC,
        price_precision=1,
        size_precision=4,
        price_increment=D("0.1"),
        size_increment=D("0.0001"),
        min_quantity=D("0.0001"),
        min_notional=D("2"),
    ),
    ATOM: InstrumentSpec(
        instrument_id=ATOM,
        price_precision=3,
        size_precision=1,
        price_increment=D("0.001"),
        size_increment=D("0.1"),
        min_quantity=D("0.1"),
        min_notional=D("2"),
    ),
}


def new_book(**kwargs) -> TradeBook:
    kwargs.setdefault("namespace", "pink")
    kwargs.setdefault("client_order_prefix", "pink")
    return TradeBook(SPECS, **kwargs)


class Venue:
    """Drives a book through venue round trips with unique venue trade ids."""

    def __init__(self, book: TradeBook) -> None:
        self.book = book
        self.n = 0
        self.ts = 1_000

    def tick(self) -> int:
        self.ts += 1
        return self.ts

    def trade_id(self) -> str:
        self.n += 1
        return f"vt{self.n}"

    def open(self, instrument: str, side: str, qty: str, price: str, fee: str = "0") -> str:
        d = self.book.enter(instrument, side, D(qty), D(price), self.tick())
        assert d.order is not None, d.outcome
        self.book.on_order_accepted(d.order.client_order_id, f"v-{d.order.client_order_id}", self.tick())
        self.book.on_fill(d.order.client_order_id, self.trade_id(), d.order.quantity, D(price), D(fee), self.tick())
        return d.order.client_order_id

    def fill(self, coid: str, qty, price, fee="0"):
        return self.book.on_fill(coid, self.trade_id(), D(str(qty)), D(str(price)), D(str(fee)), self.tick())


def position_states(facts) -> list[PositionState]:
    return [f for f in facts if isinstance(f, PositionState)]


def assert_no_zero_open_rows(facts) -> None:
    for row in position_states(facts):
        if row.status == "OPEN":
            assert row.quantity > 0 and row.notional > 0, row
