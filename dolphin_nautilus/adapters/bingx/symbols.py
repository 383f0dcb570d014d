"""Venue symbol <-> our instrument id, as plain strings.

`BTC-USDT` (BingX USDT-M swap symbol) <-> `BTC-USDT-PERP.BINGX` (our instrument id).
"""

from __future__ import annotations

import re

from dolphin_nautilus.adapters.bingx.constants import BINGX, PERP_SUFFIX

# Base assets are upper case but not always ASCII (e.g. `MØTH-USDT`, docs/reference/bingx_api.md §2.2).
_SYMBOL = re.compile(r"^[^\s.\-]+-(USDT|USDC)$")


def _is_symbol(symbol: str) -> bool:
    return bool(_SYMBOL.match(symbol)) and symbol == symbol.upper()


def to_instrument_id(symbol: str) -> str:
    """`BTC-USDT` -> `BTC-USDT-PERP.BINGX`. Raises ValueError on anything that is not a swap symbol."""
    if not _is_symbol(symbol):
        raise ValueError(f"not a BingX USDT/USDC-M swap symbol (expected like 'BTC-USDT'): {symbol!r}")
    return f"{symbol}{PERP_SUFFIX}.{BINGX}"


def to_venue_symbol(instrument_id: str) -> str:
    """`BTC-USDT-PERP.BINGX` -> `BTC-USDT`. Raises ValueError for other venues or shapes."""
    head, sep, venue = instrument_id.rpartition(".")
    if not sep or venue != BINGX:
        raise ValueError(f"not a {BINGX} instrument id (expected like 'BTC-USDT-PERP.BINGX'): {instrument_id!r}")
    if not head.endswith(PERP_SUFFIX):
        raise ValueError(f"not a perpetual instrument id (missing {PERP_SUFFIX!r}): {instrument_id!r}")
    symbol = head[: -len(PERP_SUFFIX)]
    if not _is_symbol(symbol):
        raise ValueError(f"instrument id does not wrap a BingX swap symbol: {instrument_id!r}")
    return symbol


def base_quote(symbol: str) -> tuple[str, str]:
    """`BTC-USDT` -> ("BTC", "USDT")."""
    to_instrument_id(symbol)  # validates
    base, quote = symbol.split("-")
    return base, quote
