"""BingX business error codes, in both generations (before/after the 2025-10-16 renumbering)."""

from __future__ import annotations

from typing import Literal, NamedTuple

Generation = Literal["old", "new"]


class ErrorCode(NamedTuple):
    """One venue error: its pre-2025-10-16 code, its current code and a default message."""

    old: int
    new: int
    msg: str

    def code(self, generation: Generation) -> int:
        return self.old if generation == "old" else self.new


def _same(code: int, msg: str) -> ErrorCode:
    return ErrorCode(code, code, msg)


# Renumbered codes (docs/reference/bingx_api.md §7.2 migration map).
INVALID_PARAM = ErrorCode(80014, 109400, "Invalid parameters")
REQUEST_FAILED = ErrorCode(80001, 109400, "request failed")
SYSTEM_BUSY = ErrorCode(80012, 109500, "The current system is busy, please try again later")
ORDER_NOT_EXIST = ErrorCode(80016, 109421, "order not exist")
ORDER_ALREADY_FILLED = ErrorCode(80018, 109422, "order is already filled")
ORDER_PROCESSING = ErrorCode(80019, 109423, "order is being processed, please query allOrders later")
RISK_FORBIDDEN = ErrorCode(80020, 109403, "risk forbidden")
RATE_LIMIT = ErrorCode(100410, 109429, "The current system is busy, please try again later")
SYMBOL_NOT_EXIST = ErrorCode(80012, 109425, "symbol not exist")

# Codes that did not change.
SIGNATURE_MISMATCH = _same(100001, "Signature verification failed due to signature mismatch")
PERMISSION_DENIED = _same(100004, "Permission denied as the API key was created without the permission")
INSUFFICIENT_BALANCE = _same(100202, "Insufficient balance")
NULL_SIGNATURE = _same(100412, "Null signature")
BAD_API_KEY = _same(100413, "Incorrect apiKey")
TIMESTAMP_MISMATCH = _same(100421, "Null timestamp or timestamp mismatch")
INTERNAL_ERROR = _same(100500, "Internal system error")
INSUFFICIENT_MARGIN = _same(101204, "Insufficient margin")
NO_POSITION_TO_CLOSE = _same(101205, "No position to close")
POST_ONLY_WOULD_TAKE = _same(101215, "The order would immediately match and take liquidity (PostOnly)")
REDUCE_ONLY_INCREASE = _same(101290, "Reduce-only order would open or increase a position")
ORDER_SIZE = _same(101400, "order size error")
LEVERAGE_TOO_HIGH = _same(101414, "The leverage exceeds the maximum allowed for this symbol")
DUPLICATE_CLIENT_ORDER_ID = _same(101481, "clientOrderID cannot be repeated")
REPEATED_WITHIN_1S = _same(109201, "The same order number is only allowed to be submitted once within 1 second")
PENDING_ORDERS_OR_POSITION = _same(109401, "user has pending orders or position")
MIN_NOTIONAL = _same(110425, "The minimum order amount is 2 USDT")


class VenueReject(Exception):
    """Raised by the engine; the server turns it into an HTTP-200 envelope with a non-zero code."""

    def __init__(self, error: ErrorCode, msg: str | None = None) -> None:
        super().__init__(msg or error.msg)
        self.error = error
        self.msg = msg or error.msg
