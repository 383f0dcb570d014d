"""The synthetic depth book around the last price, built from the contract's configured liquidity.

REST/WS depth show it; takers walk it level by level, so a large order pays slippage and moves the price."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from .model import Contract


def level_qty(contract: Contract) -> Decimal:
    spec = contract.spec
    return Decimal(spec.book_level_qty) if spec.book_level_qty else Decimal(spec.min_qty) * 1000


def _levels(contract: Contract, sign: int, count: int | None) -> Iterator[tuple[Decimal, Decimal]]:
    spec = contract.spec
    step = contract.tick * spec.book_level_ticks
    base = level_qty(contract)
    for i in range(1, min(count or spec.book_levels, spec.book_levels) + 1):
        price = contract.price + sign * step * i
        if price <= 0:
            return
        yield price, base * i


def asks(contract: Contract, count: int | None = None) -> Iterator[tuple[Decimal, Decimal]]:
    """Ask levels, best (lowest) first."""
    return _levels(contract, 1, count)


def bids(contract: Contract, count: int | None = None) -> Iterator[tuple[Decimal, Decimal]]:
    """Bid levels, best (highest) first."""
    return _levels(contract, -1, count)


def opposite(contract: Contract, side: str) -> Iterator[tuple[Decimal, Decimal]]:
    """The levels a taker on `side` (BUY/SELL) consumes, best first."""
    return asks(contract) if side == "BUY" else bids(contract)


def best_bid_ask(contract: Contract) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]:
    """((bid price, bid qty), (ask price, ask qty))."""
    return next(bids(contract, 1)), next(asks(contract, 1))
