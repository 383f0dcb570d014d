"""Plain (Nautilus-free) order-flow logic of the BingX execution client: placement recovery and fill dedupe.

`place_with_recovery` is the state machine behind one order placement. It never sends a second order for one
client order id: BingX refuses a duplicate clientOrderId (101481), and every ambiguous answer is resolved by
querying that id before anything else is sent.

- definitive reject -> NotPlaced(REJECTED, "<code> <msg>", venue_code)
- rate limited (nothing happened) -> wait the cooldown, query the id; found -> PlacedAtVenue, else resend the
  SAME id; after `rate_limit_attempts` placements -> NotPlaced(RATE_LIMITED, ..., retry_after_ms)
- unknown outcome (5xx, timeout, reset after send, "being processed", duplicate id) -> `on_unknown(err)`, then
  never resend; query with backoff until found (PlacedAtVenue(after_unknown=True)) or until
  `unknown_outcome_timeout_s` passed while the venue answers "not found" (NotPlaced(NOT_FOUND_AFTER_UNKNOWN)).
  While the venue cannot be asked at all the order stays in flight (the loop keeps asking).

The kinds, not the `reason` texts, are what the execution client turns into the typed placement outcomes of
`contracts.placement`; the texts only become the human-readable reason of a Nautilus OrderRejected.

`FillDeduper` turns a user stream that may repeat or reorder executions into exactly-once fills.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from enum import StrEnum

import msgspec

from dolphin_nautilus.adapters.bingx.errors import BingXError, ErrorKind, VenueOutcome
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXOrder, BingXOrderAck
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import node_logger

log = node_logger("bingx.orders")

NOT_FOUND_AFTER_UNKNOWN = "ORDER_REJECTED: not found at venue after unknown outcome"


class RecoveryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    rate_limit_attempts: int = 3  # placements in total (first + resends) before giving up
    max_cooldown_wait_s: float = 10.0  # a longer venue cooldown is not waited out inside one submit
    unknown_outcome_timeout_s: float = 30.0
    query_backoff_initial_s: float = 0.1
    query_backoff_max_s: float = 2.0


class PlacedAtVenue(msgspec.Struct, frozen=True):
    venue_order_id: int
    order: BingXOrder | None = None  # set when acceptance came from a query (status and fills known)
    ack: BingXOrderAck | None = None
    attempts: int = 1
    after_unknown: bool = False  # found by querying after an unknown outcome


class NotPlacedKind(StrEnum):
    REJECTED = "REJECTED"  # definitively refused (by the venue, or client-side before sending)
    RATE_LIMITED = "RATE_LIMITED"  # rate limited on every attempt; the venue holds nothing under the id
    NOT_FOUND_AFTER_UNKNOWN = "NOT_FOUND_AFTER_UNKNOWN"  # an unknown outcome resolved: never reached the venue


class NotPlaced(msgspec.Struct, frozen=True, kw_only=True):
    kind: NotPlacedKind
    reason: str  # human-readable, for the Nautilus OrderRejected event
    attempts: int = 1
    venue_code: int | None = None
    retry_after_ms: int = 0


PlaceResult = PlacedAtVenue | NotPlaced
Place = Callable[[], Awaitable[BingXOrderAck]]
Query = Callable[[], Awaitable[BingXOrder | None]]  # None: the venue says "no such order"
Sleep = Callable[[float], Awaitable[None]]
OnUnknown = Callable[[BingXError], None]


def venue_reason(err: BingXError) -> str:
    """`<venue code> <msg>`; the taxonomy code (e.g. `ORDER_REJECTED`) when the venue gave no code."""
    code = (
        err.code
        if err.code is not None
        else (f"HTTP{err.http_status}" if err.http_status else (err.fault or err.kind).value)
    )
    return f"{code} {err.msg}".strip()


def rate_limited_reason(err: BingXError) -> str:
    code = err.code if err.code is not None else "client"
    return f"RATE_LIMITED: {code} {err.msg} retry_after_ms={err.retry_after_ms or 0}"


async def place_with_recovery(
    place: Place,
    query: Query,
    policy: RecoveryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_unknown: OnUnknown | None = None,
) -> PlaceResult:
    attempts = 0
    while True:
        attempts += 1
        try:
            ack = await place()
            return PlacedAtVenue(ack.order_id, ack=ack, attempts=attempts)
        except BingXError as err:
            if err.outcome is VenueOutcome.UNKNOWN_OUTCOME:
                log.warning(
                    "placement outcome unknown (%s); querying by client order id",
                    err,
                    extra={"event": "outcome_unknown", "code": Code.UNKNOWN_ORDER_OUTCOME},
                )
                if on_unknown is not None:
                    on_unknown(err)
                return await resolve_unknown(query, policy, sleep=sleep, clock=clock, attempts=attempts)
            if err.outcome is VenueOutcome.DEFINITIVE_REJECT:
                return NotPlaced(
                    kind=NotPlacedKind.REJECTED, reason=venue_reason(err), attempts=attempts, venue_code=err.code
                )
            # RETRYABLE: rate limited, or never sent. Nothing happened at the venue.
            wait_s = (err.retry_after_ms or 0) / 1000
            if attempts >= policy.rate_limit_attempts or wait_s > policy.max_cooldown_wait_s:
                if err.kind is ErrorKind.RATE_LIMIT:
                    return NotPlaced(
                        kind=NotPlacedKind.RATE_LIMITED,
                        reason=rate_limited_reason(err),
                        attempts=attempts,
                        venue_code=err.code,
                        retry_after_ms=err.retry_after_ms or 0,
                    )
                return NotPlaced(
                    kind=NotPlacedKind.REJECTED,
                    reason=f"ORDER_REJECTED: {venue_reason(err)}",
                    attempts=attempts,
                    venue_code=err.code,
                )
            await sleep(wait_s)
            found = await _query_quietly(query)
            if found is not None:
                return PlacedAtVenue(found.order_id, order=found, attempts=attempts)
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
            log.warning(
                "cannot query order after unknown outcome (%s); still in flight",
                err,
                extra={"event": "outcome_query_failed", "code": Code.UNKNOWN_ORDER_OUTCOME},
            )
            order, answered = None, False
        else:
            answered = True
        if order is not None:
            return PlacedAtVenue(order.order_id, order=order, attempts=attempts, after_unknown=True)
        if answered and clock() >= deadline:
            return NotPlaced(
                kind=NotPlacedKind.NOT_FOUND_AFTER_UNKNOWN, reason=NOT_FOUND_AFTER_UNKNOWN, attempts=attempts
            )
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
