"""Venue error codes -> (outcome class, domain fault code), and the typed exceptions the client raises.

Both code generations are mapped: BingX renumbered swap codes on 2025-10-16 (docs/reference/bingx_api.md §7.2, e.g.
80016 -> 109421, 100410 -> 109429) and either may arrive.

Outcome classes say what the caller may assume about the request's effect:
- DEFINITIVE_REJECT: the venue refused it; nothing happened.
- UNKNOWN_OUTCOME: it may have taken effect (5xx/504, timeout or connection loss after sending, rpc
  timeout, "being processed", duplicate id). Query by client order id before doing anything else.
- RETRYABLE: nothing happened and the same request may be sent again (after `retry_after_ms` if set).

Fault codes are the domain's `Code` (docs/design.md §3's taxonomy), mapped in ONE table, `FAULT_CODES`. This layer
cannot know a slot's state, so it reports the command-level code: ORDER_REJECTED / EXIT_ORDER_REJECTED
(reduce-only placement) / CANCEL_REJECTED / RATE_LIMITED / STALE_STATE_RECONCILING (outcome unknown:
reconcile). Errors of non-order calls (balance, positions, listenKey...) carry no fault code (None): they are
not slot faults.
"""

from __future__ import annotations

from enum import StrEnum

from dolphin_nautilus.domain.diagnostics import Code


class VenueOutcome(StrEnum):
    DEFINITIVE_REJECT = "DEFINITIVE_REJECT"
    UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
    RETRYABLE = "RETRYABLE"


class Operation(StrEnum):
    """What the failed request was trying to do; decides outcome and fault for ambiguous errors."""

    PLACE = "PLACE"
    PLACE_EXIT = "PLACE_EXIT"  # reduce-only placement
    CANCEL = "CANCEL"
    WRITE = "WRITE"  # other state-changing calls (leverage, listenKey create, ...)
    READ = "READ"

    @property
    def mutates(self) -> bool:
        return self is not Operation.READ


class ErrorKind(StrEnum):
    RATE_LIMIT = "RATE_LIMIT"
    BUSY = "BUSY"  # venue/system busy or 5xx: unknown for writes, retryable for reads
    IN_FLIGHT = "IN_FLIGHT"  # the venue may be executing it right now
    NOT_FOUND = "NOT_FOUND"
    AUTH = "AUTH"
    REJECT = "REJECT"


# (kind, meaning) per business code. Old (pre-2025-10-16) and new generations side by side.
ERROR_CODES: dict[int, tuple[ErrorKind, str]] = {
    # rate limits: old 100409/100410 -> new 109429
    100409: (ErrorKind.RATE_LIMIT, "API rate limit (legacy)"),
    100410: (ErrorKind.RATE_LIMIT, "API rate limit (legacy)"),
    109429: (ErrorKind.RATE_LIMIT, "API rate limit"),
    80013: (ErrorKind.REJECT, "too many open orders"),
    # system busy: old 80012 -> new 109500
    80012: (ErrorKind.BUSY, "service unavailable / system busy (legacy)"),
    100500: (ErrorKind.BUSY, "internal error / system busy"),
    100503: (ErrorKind.BUSY, "server busy"),
    109500: (ErrorKind.BUSY, "system busy"),
    110500: (ErrorKind.BUSY, "system busy"),
    # in flight: the request may still take effect
    101500: (ErrorKind.IN_FLIGHT, "rpc timeout"),
    80019: (ErrorKind.IN_FLIGHT, "order being processed (legacy)"),
    109423: (ErrorKind.IN_FLIGHT, "order being processed"),
    109201: (ErrorKind.IN_FLIGHT, "same order/cancel submitted twice within 1 s"),
    101481: (ErrorKind.IN_FLIGHT, "clientOrderId already used: an order with this id exists"),
    # not found: old 80016/80017/109414 -> new 109421/109422/109400
    80016: (ErrorKind.NOT_FOUND, "order does not exist (legacy)"),
    80017: (ErrorKind.NOT_FOUND, "position does not exist (legacy)"),
    109414: (ErrorKind.NOT_FOUND, "order does not exist (legacy)"),
    109421: (ErrorKind.NOT_FOUND, "order does not exist"),
    # auth / permission / clock
    100001: (ErrorKind.AUTH, "signature verification failed"),
    100004: (ErrorKind.AUTH, "permission denied"),
    100401: (ErrorKind.AUTH, "authentication failed"),
    100403: (ErrorKind.AUTH, "authorization failed"),
    100412: (ErrorKind.AUTH, "null signature"),
    100413: (ErrorKind.AUTH, "incorrect or null apiKey"),
    100414: (ErrorKind.AUTH, "account abnormal / risk control"),
    100419: (ErrorKind.AUTH, "IP not in whitelist"),
    100421: (ErrorKind.AUTH, "null timestamp or timestamp mismatch"),
    # definitive rejects (old -> new where renumbered)
    80001: (ErrorKind.REJECT, "request failed / invalid parameter (legacy)"),
    80014: (ErrorKind.REJECT, "invalid parameter (legacy)"),
    109400: (ErrorKind.REJECT, "invalid parameter"),
    80018: (ErrorKind.REJECT, "order already filled (legacy)"),
    109422: (ErrorKind.REJECT, "order already filled / position does not exist"),
    80020: (ErrorKind.REJECT, "risk forbidden (legacy)"),
    40029: (ErrorKind.REJECT, "risk forbidden (legacy)"),
    109403: (ErrorKind.REJECT, "risk forbidden"),
    109401: (ErrorKind.REJECT, "pending orders or position exist"),
    109424: (ErrorKind.REJECT, "twap change marginType failed"),
    100202: (ErrorKind.REJECT, "insufficient balance"),
    100204: (ErrorKind.REJECT, "no data / symbol not found"),
    100400: (ErrorKind.REJECT, "invalid or missing arguments"),
    101204: (ErrorKind.REJECT, "insufficient margin"),
    101205: (ErrorKind.REJECT, "no position to close"),
    101209: (ErrorKind.REJECT, "max position value for this leverage"),
    101211: (ErrorKind.REJECT, "price outside band"),
    101212: (ErrorKind.REJECT, "pending orders exist"),
    101215: (ErrorKind.REJECT, "post-only order would take liquidity"),
    101290: (ErrorKind.REJECT, "reduce-only order would increase the position"),
    101400: (ErrorKind.REJECT, "order size below minimum / not tradeable"),
    101414: (ErrorKind.REJECT, "leverage above symbol max"),
    101415: (ErrorKind.REJECT, "symbol suspended from opening"),
    101419: (ErrorKind.REJECT, "order size at upper limit"),
    101424: (ErrorKind.REJECT, "exceeds KYC position limit"),
    101460: (ErrorKind.REJECT, "price beyond liquidation price"),
    101514: (ErrorKind.REJECT, "temporarily suspended from opening"),
    101515: (ErrorKind.REJECT, "temporarily suspended from trading"),
    109418: (ErrorKind.REJECT, "symbol offline"),
    109425: (ErrorKind.REJECT, "symbol does not exist"),
    110400: (ErrorKind.REJECT, "parameters do not meet requirements"),
    110406: (ErrorKind.REJECT, "position stop-loss already exists"),
    110407: (ErrorKind.REJECT, "position take-profit already exists"),
    110411: (ErrorKind.REJECT, "trigger price on wrong side"),
    110412: (ErrorKind.REJECT, "trigger price on wrong side"),
    110413: (ErrorKind.REJECT, "trigger price on wrong side"),
    110425: (ErrorKind.REJECT, "below minimum notional"),
}

RATE_LIMIT_CODES = frozenset(c for c, (k, _) in ERROR_CODES.items() if k is ErrorKind.RATE_LIMIT)
ORDER_NOT_FOUND_CODES = frozenset({80016, 109414, 109421})
TIMESTAMP_SKEW_CODE = 100421


def kind_of_code(code: int, msg: str = "") -> ErrorKind:
    """Code first, then message text where one code carries several meanings (docs/reference/bingx_api.md §7.2)."""
    kind, _ = ERROR_CODES.get(code, (ErrorKind.REJECT, ""))
    low = msg.lower()
    if code == 80012 and "busy" not in low and "unavailable" not in low:
        return ErrorKind.REJECT  # 80012 also carried "symbol not exist", "margin is not enough"
    if code == 100421 and "restricted" in low:
        return ErrorKind.REJECT  # second meaning: pair restricted from API trading
    return kind


def kind_of_http_status(status: int) -> ErrorKind | None:
    """None for statuses that are not errors on their own (200: look at the body code)."""
    if status in (429, 418):
        return ErrorKind.RATE_LIMIT
    if status >= 500:
        return ErrorKind.BUSY  # 504 in particular: the gateway lost the answer, the order may exist
    if status in (401, 403):
        return ErrorKind.AUTH
    if status >= 400:
        return ErrorKind.REJECT
    return None


def outcome_of(kind: ErrorKind, operation: Operation) -> VenueOutcome:
    if kind is ErrorKind.RATE_LIMIT:
        return VenueOutcome.RETRYABLE
    if kind in (ErrorKind.BUSY, ErrorKind.IN_FLIGHT):
        return VenueOutcome.UNKNOWN_OUTCOME if operation.mutates else VenueOutcome.RETRYABLE
    return VenueOutcome.DEFINITIVE_REJECT


# THE table from the adapter's view of a failed request (what the venue said, what the request tried to do)
# to the domain's fault vocabulary. A rate limit (any operation) is RATE_LIMITED; a cancel that failed in any
# way is CANCEL_REJECTED (a fill in between converges on reconcile, docs/design.md §3); a placement whose outcome is
# unknown must be reconciled. A pair not listed (reads, other writes) is no slot fault.
_RATE_LIMITED = "rate limited"
FAULT_CODES: dict[tuple[VenueOutcome | str, Operation], Code] = {
    **{(_RATE_LIMITED, operation): Code.RATE_LIMITED for operation in Operation},
    **{(outcome, Operation.CANCEL): Code.CANCEL_REJECTED for outcome in VenueOutcome},
    (VenueOutcome.DEFINITIVE_REJECT, Operation.PLACE): Code.ORDER_REJECTED,
    (VenueOutcome.RETRYABLE, Operation.PLACE): Code.ORDER_REJECTED,
    (VenueOutcome.UNKNOWN_OUTCOME, Operation.PLACE): Code.STALE_STATE_RECONCILING,
    (VenueOutcome.DEFINITIVE_REJECT, Operation.PLACE_EXIT): Code.EXIT_ORDER_REJECTED,
    (VenueOutcome.RETRYABLE, Operation.PLACE_EXIT): Code.EXIT_ORDER_REJECTED,
    (VenueOutcome.UNKNOWN_OUTCOME, Operation.PLACE_EXIT): Code.STALE_STATE_RECONCILING,
}


def fault_of(outcome: VenueOutcome, kind: ErrorKind, operation: Operation) -> Code | None:
    """The domain fault code of a failed request (FAULT_CODES), None when it is no slot fault."""
    return FAULT_CODES.get((_RATE_LIMITED if kind is ErrorKind.RATE_LIMIT else outcome, operation))


class BingXError(Exception):
    """A failed venue call. Text carries the endpoint, code and venue message, never params or secrets."""

    def __init__(
        self,
        *,
        code: int | None,
        msg: str,
        outcome: VenueOutcome,
        fault: Code | None,
        kind: ErrorKind,
        endpoint: str = "",
        http_status: int | None = None,
        retry_after_ms: int | None = None,
        sent: bool = True,
    ) -> None:
        self.code = code
        self.msg = msg
        self.outcome = outcome
        self.fault = fault
        self.kind = kind
        self.endpoint = endpoint
        self.http_status = http_status
        self.retry_after_ms = retry_after_ms
        self.sent = sent  # False when refused client-side (never left this process)
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [f"{self.endpoint or 'BingX'}: {self.msg or self.kind.value}"]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        parts.append(f"outcome={self.outcome.value} fault={self.fault.value if self.fault else 'none'}")
        if self.retry_after_ms is not None:
            parts.append(f"retry_after_ms={self.retry_after_ms}")
        return " ".join(parts)

    @property
    def is_order_not_found(self) -> bool:
        return self.code in ORDER_NOT_FOUND_CODES

    @property
    def details(self) -> dict[str, object]:
        """For fault rows: docs/design.md §3 wants `retry_after_ms` in details."""
        return {
            "code": self.code,
            "msg": self.msg,
            "outcome": self.outcome.value,
            "endpoint": self.endpoint,
            "http_status": self.http_status,
            "retry_after_ms": self.retry_after_ms,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._text()!r})"


class BingXRateLimitError(BingXError):
    pass


class BingXUnknownOutcomeError(BingXError):
    pass


class BingXRetryableError(BingXError):
    pass


class BingXRejectError(BingXError):
    pass


class BingXOrderNotFoundError(BingXRejectError):
    pass


class BingXAuthError(BingXRejectError):
    pass


class BingXHedgeModeError(BingXRejectError):
    """The account is in hedge mode; this adapter trades one-way (NETTING) only."""


class BingXDecodeError(BingXError):
    """The venue answered something we cannot parse (HTTP 200 with a bad body)."""


def _exception_class(kind: ErrorKind, outcome: VenueOutcome, code: int | None) -> type[BingXError]:
    if kind is ErrorKind.RATE_LIMIT:
        return BingXRateLimitError
    if outcome is VenueOutcome.UNKNOWN_OUTCOME:
        return BingXUnknownOutcomeError
    if outcome is VenueOutcome.RETRYABLE:
        return BingXRetryableError
    if code in ORDER_NOT_FOUND_CODES:
        return BingXOrderNotFoundError
    if kind is ErrorKind.AUTH:
        return BingXAuthError
    return BingXRejectError


def make_error(
    *,
    kind: ErrorKind,
    operation: Operation,
    code: int | None,
    msg: str,
    endpoint: str = "",
    http_status: int | None = None,
    retry_after_ms: int | None = None,
    sent: bool = True,
) -> BingXError:
    outcome = outcome_of(kind, operation)
    if not sent and outcome is VenueOutcome.UNKNOWN_OUTCOME:
        outcome = VenueOutcome.RETRYABLE  # a request that never left cannot have executed
    fault = fault_of(outcome, kind, operation)
    cls = _exception_class(kind, outcome, code)
    return cls(
        code=code,
        msg=msg,
        outcome=outcome,
        fault=fault,
        kind=kind,
        endpoint=endpoint,
        http_status=http_status,
        retry_after_ms=retry_after_ms,
        sent=sent,
    )


def error_from_code(code: int, msg: str, operation: Operation, **kw) -> BingXError:
    kind = kind_of_code(code, msg)
    return make_error(kind=kind, operation=operation, code=code, msg=msg, **kw)
