"""BingX venue enums (string-valued, exactly as the venue spells them) and tolerant parsers.

The venue spells the same thing differently per endpoint (docs/reference/bingx_api.md §11.15): `CANCELED` vs
`CANCELLED`,
`PENDING` (REST) vs `NEW` (WS), lower-case `buy`/`short` in fillHistory. The parsers fold those onto one
canonical member so callers never compare raw strings.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class BingXEnvironment(StrEnum):
    LIVE = "LIVE"
    VST = "VST"  # demo / simulated trading


class BingXOrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class BingXPositionSide(StrEnum):
    BOTH = "BOTH"  # one-way mode
    LONG = "LONG"
    SHORT = "SHORT"


class BingXOrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    STOP = "STOP"
    TAKE_PROFIT = "TAKE_PROFIT"
    TRIGGER_LIMIT = "TRIGGER_LIMIT"
    TRIGGER_MARKET = "TRIGGER_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"
    TRAILING_TP_SL = "TRAILING_TP_SL"
    LIQUIDATION = "LIQUIDATION"
    UNKNOWN = "UNKNOWN"


class BingXTimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "PostOnly"  # exact venue spelling


class BingXOrderStatus(StrEnum):
    """Canonical order status. `NEW` covers the venue's NEW/PENDING/WORKING/RUNNING."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_open(self) -> bool:
        return self in (BingXOrderStatus.NEW, BingXOrderStatus.PARTIALLY_FILLED)


class BingXExecutionType(StrEnum):
    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    CALCULATED = "CALCULATED"  # ADL / liquidation
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"


class BingXPositionMode(Enum):
    ONE_WAY = "false"  # dualSidePosition value
    HEDGE = "true"


class BingXMarginMode(StrEnum):
    CROSSED = "CROSSED"
    ISOLATED = "ISOLATED"
    SEPARATE_ISOLATED = "SEPARATE_ISOLATED"
    UNKNOWN = "UNKNOWN"


_STATUS_ALIASES = {
    "PENDING": BingXOrderStatus.NEW,
    "WORKING": BingXOrderStatus.NEW,
    "RUNNING": BingXOrderStatus.NEW,
    "CANCELLED": BingXOrderStatus.CANCELED,
}

_MARGIN_ALIASES = {"CROSS": BingXMarginMode.CROSSED}


def _lookup[E: StrEnum](enum: type[E], raw: str, aliases: dict[str, E] | None = None) -> E | None:
    key = raw.strip().upper()
    if aliases and key in aliases:
        return aliases[key]
    for member in enum:
        if member.value.upper() == key:
            return member
    return None


def parse_order_status(raw: str) -> BingXOrderStatus:
    return _lookup(BingXOrderStatus, raw, _STATUS_ALIASES) or BingXOrderStatus.UNKNOWN


def parse_order_type(raw: str) -> BingXOrderType:
    return _lookup(BingXOrderType, raw) or BingXOrderType.UNKNOWN


def parse_execution_type(raw: str) -> BingXExecutionType:
    return _lookup(BingXExecutionType, raw, {"CANCELLED": BingXExecutionType.CANCELED}) or BingXExecutionType.UNKNOWN


def parse_order_side(raw: str) -> BingXOrderSide:
    side = _lookup(BingXOrderSide, raw, {"BID": BingXOrderSide.BUY, "ASK": BingXOrderSide.SELL})
    if side is None:
        raise ValueError(f"unknown BingX order side: {raw!r}")
    return side


def parse_position_side(raw: str) -> BingXPositionSide:
    side = _lookup(BingXPositionSide, raw)
    if side is None:
        raise ValueError(f"unknown BingX position side: {raw!r}")
    return side


def parse_margin_mode(raw: str) -> BingXMarginMode:
    return _lookup(BingXMarginMode, raw, _MARGIN_ALIASES) or BingXMarginMode.UNKNOWN
