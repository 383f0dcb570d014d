"""Plain (Nautilus-free) order-flow logic of the BingX execution client: placement recovery and fill dedupe.

`place_with_recovery` is the state machine behind one order placement. It never sends a second order for one
client order id: BingX refuses a duplicate clientOrderId (101481), and every ambiguous answer is resolved by
querying that id before anything else is sent.

- definitive reject -> Rejected("<code> <msg>")
- rate limited (nothing happened) -> wait the cooldown, query the id; found -> Accepted, else resend the SAME
  id; after `rate_limit_attempts` placements -> Rejected("RATE_LIMITED: <code> <msg> retry_after_ms=<n>")
- unknown outcome (5xx, timeout, reset after send, "being processed", duplicate id) -> never resend; query with
  backoff until found (Accepted) or until `unknown_outcome_timeout_s` passed while the venue answers "not
  found" (Rejected("ORDER_REJECTED: not found at venue after unknown outcome")). While the venue cannot be
  asked at all the order stays in flight (the loop keeps asking).

`FillDeduper` turns a user stream that may repeat or reorder executions into exactly-once fills.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import msgspec

from dolphin_nautilus.adapters.bingx.errors import BingXError, ErrorKind, Outcome
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXOrder, BingXOrderAck

log = logging.getLogger(__name__)

NOT_FOUND_AFTER_UNKNOWN = "ORDER_REJECTED: not found at venue after unknown outcome"


class RecoveryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    rate_limit_attempts: int = 3  # placements in total (first + resends) before giving up
    max_cooldown_wait_s: float = 10.0  # a longer venue cooldown is not waited out inside one submit
    unknown_outcome_timeout_s: float = 30.0
    query_backoff_initial_s: float = 0.1
    query_backoff_max_s: float = 2.0


class Accepted(msgspec.Struct, frozen=True):
    venue_order_id: int
    order: BingXOrder | None = None  # set when acceptance came from a query (status and fills known)
    ack: BingXOrderAck | None = None
    attempts: int = 1


class Rejected(msgspec.Struct, frozen=True):
    reason: str
    attempts: int = 1


PlaceResult = Accepted | Rejected
Place = Callable[[], Awaitable[BingXOrderAck]]
Query = Callable[[], Awaitable[BingXOrder | None]]  # None: the venue says "no such order"
Sleep = Callable[[float], Awaitable[None]]


def venue_reason(err: BingXError) -> str:
    """`<venue code> <msg>`; the taxonomy code (e.g. `ORDER_REJECTED`) when the venue gave no code."""
    code = err.code if err.code is not None else (f"HTTP{err.http_status}" if err.http_status else err.fault.value)
    return f"{code} {err.msg}".strip()


def rate_limited_reason(err: BingXError) -> str:
    return f"RATE_LIMITED: {err.code if err.code is not None else 'client'} {err.msg} retry_after_ms={err.retry_after_ms or 0}"


async def place_with_recovery(
    place: Place,
    query: Query,
    policy: RecoveryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PlaceResult:
    attempts = 0
    while True:
        attempts += 1
        try:
            ack = await place()
            return Accepted(ack.order_id, ack=ack, attempts=attempts)
        except BingXError as err:
            if err.outcome is Outcome.UNKNOWN_OUTCOME:
                log.warning("placement outcome unknown (%s); querying by client order id", err)
                return await resolve_unknown(query, policy, sleep=sleep, clock=clock, attempts=attempts)
            if err.outcome is Outcome.DEFINITIVE_REJECT:
                return Rejected(venue_reason(err), attempts)
            # RETRYABLE: rate limited, or never sent. Nothing happened at the venue.
            wait_s = (err.retry_after_ms or 0) / 1000
            if attempts >= policy.rate_limit_attempts or wait_s > policy.max_cooldown_wait_s:
                if err.kind is ErrorKind.RATE_LIMIT:
                    return Rejected(rate_limited_reason(err), attempts)
                return Rejected(f"ORDER_REJECTED: {venue_reason(err)}", attempts)
            await sleep(wait_s)
            found = await _query_quietly(query)
            if found is not None:
                return Accepted(found.order_id, order=found, attempts=attempts)
            log.info("order not at venue after %s; resending with the same client order id", err.kind.value)


async def _query_quietly(query: Query) -> BingXOrder | None:
    """A failed query before a resend is harmless: the venue refuses a duplicate client order id."""
    try:
        return await query()
    except BingXError as err:
        log.info("pre-resend query failed (%s); resending is still safe", err)
        return None


async def resolve_unknown(
    query: Query,
    policy: RecoveryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    attempts: int = 1,
) -> PlaceResult:
    deadline = clock() + policy.unknown_outcome_timeout_s
    delay = policy.query_backoff_initial_s
    while True:
        try:
            order = await query()
        except BingXError as err:  # the venue cannot be asked: keep the order in flight and keep asking
            log.warning("cannot query order after unknown outcome (%s); still in flight", err)
            order, answered = None, False
        else:
            answered = True
        if order is not None:
            return Accepted(order.order_id, order=order, attempts=attempts)
        if answered and clock() >= deadline:
            return Rejected(NOT_FOUND_AFTER_UNKNOWN, attempts)
        await sleep(delay)
        delay = min(delay * 2, policy.query_backoff_max_s)


class FillDeduper:
    """Exactly-once executions per order from a stream that may repeat or reorder them.

    An execution with a venue trade id counts once per id and carries its own last qty. One without a trade
    id is derived from the growth of the cumulative filled quantity, so a repeated or older message (cum not
    above what was already emitted) adds nothing. Emitted quantity never exceeds the order size.
    """

    def __init__(self) -> None:
        self._trade_ids: set[str] = set()
        self._filled: dict[int, Decimal] = {}  # venue order id -> quantity emitted

    def seen(self, trade_id: str) -> bool:
        return trade_id in self._trade_ids

    def filled(self, order_id: int) -> Decimal:
        return self._filled.get(order_id, Decimal(0))

    def accept(
        self,
        order_id: int,
        *,
        trade_id: str,
        last_qty: Decimal | None,
        cum_qty: Decimal,
        order_qty: Decimal | None = None,
    ) -> tuple[str, Decimal] | None:
        """(trade id, quantity to report) for a new execution, None for a duplicate or an empty one."""
        emitted = self._filled.get(order_id, Decimal(0))
        if trade_id:
            if trade_id in self._trade_ids:
                return None
            qty = last_qty if last_qty is not None and last_qty > 0 else cum_qty - emitted
        else:  # no trade id: only growth of the cumulative quantity is new (reorder-safe)
            if cum_qty <= emitted:
                return None
            qty = cum_qty - emitted
            trade_id = f"{order_id}-{cum_qty.normalize()}"
        if order_qty is not None:
            qty = min(qty, order_qty - emitted)
        if qty <= 0:
            return None
        self._trade_ids.add(trade_id)
        self._filled[order_id] = emitted + qty
        return trade_id, qty


class KlineCloser:
    """A kline stream pushes the running candle over and over; a candle is final once a later one shows up.

    `update` returns the candle that just closed (the last version seen of it), else None. Older pushes are
    ignored."""

    def __init__(self) -> None:
        self._current: dict[str, tuple[int, object]] = {}

    def update(self, key: str, open_time_ms: int, kline: object) -> object | None:
        held = self._current.get(key)
        if held is None or open_time_ms == held[0]:
            self._current[key] = (open_time_ms, kline)
            return None
        if open_time_ms < held[0]:
            return None
        self._current[key] = (open_time_ms, kline)
        return held[1]

    def forget(self, key: str) -> None:
        self._current.pop(key, None)
