"""The plain placement state machine and fill dedupe, driven without Nautilus or a network."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from dolphin_nautilus.adapters.bingx.errors import ErrorKind, Operation, error_from_code, make_error
from dolphin_nautilus.adapters.bingx.order_flow import (
    NOT_FOUND_AFTER_UNKNOWN,
    FillDeduper,
    KlineCloser,
    NotPlaced,
    NotPlacedKind,
    PlacedAtVenue,
    RecoveryPolicy,
    place_with_recovery,
)
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXOrder, BingXOrderAck

ACK = BingXOrderAck(order_id=7, symbol="BTC-USDT", side="BUY", type="MARKET")
ORDER = BingXOrder(order_id=7, symbol="BTC-USDT", side="BUY", type="MARKET", status="FILLED")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def rate_limited(retry_ms: int = 200):
    return make_error(
        kind=ErrorKind.RATE_LIMIT, operation=Operation.PLACE, code=109429, msg="rate limited", retry_after_ms=retry_ms
    )


DEFAULT_POLICY = RecoveryPolicy()  # frozen: one shared instance is safe


def run(
    place_answers: list, query_answers: list, policy: RecoveryPolicy = DEFAULT_POLICY, unknowns: list | None = None
) -> tuple[object, list, list, FakeClock]:
    placed, queried, clock = [], [], FakeClock()

    async def place():
        placed.append(1)
        answer = place_answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def query():
        queried.append(1)
        answer = query_answers.pop(0) if query_answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = asyncio.run(
        place_with_recovery(
            place,
            query,
            policy,
            sleep=clock.sleep,
            clock=clock,
            on_unknown=None if unknowns is None else unknowns.append,
        )
    )
    return result, placed, queried, clock


def test_definitive_reject_carries_venue_code_and_message():
    result, placed, queried, _ = run([error_from_code(101204, "Insufficient margin", Operation.PLACE)], [])
    assert result == NotPlaced(kind=NotPlacedKind.REJECTED, reason="101204 Insufficient margin", venue_code=101204)
    assert len(placed) == 1 and not queried


def test_rate_limit_waits_queries_then_resends_same_request():
    result, placed, queried, clock = run([rate_limited(), ACK], [None])
    assert isinstance(result, PlacedAtVenue) and result.venue_order_id == 7
    assert len(placed) == 2 and len(queried) == 1 and clock.sleeps == [0.2]


def test_rate_limit_query_finds_order_so_no_resend():
    result, placed, _, _ = run([rate_limited()], [ORDER])
    assert isinstance(result, PlacedAtVenue) and result.order == ORDER and len(placed) == 1


def test_rate_limit_gives_up_after_attempts_as_not_placed_with_retry_after():
    result, placed, _, _ = run([rate_limited(300)] * 3, [None, None], RecoveryPolicy(rate_limit_attempts=3))
    assert isinstance(result, NotPlaced) and len(placed) == 3
    assert (result.kind, result.venue_code, result.retry_after_ms) == (NotPlacedKind.RATE_LIMITED, 109429, 300)
    assert result.reason == "RATE_LIMITED: 109429 rate limited retry_after_ms=300"


def test_unknown_outcome_never_resends_and_rejects_only_after_timeout_of_not_found():
    gateway = make_error(kind=ErrorKind.BUSY, operation=Operation.PLACE, code=None, msg="HTTP 504", http_status=504)
    unknowns: list = []
    result, placed, queried, clock = run([gateway], [], RecoveryPolicy(unknown_outcome_timeout_s=5.0), unknowns)
    assert result == NotPlaced(kind=NotPlacedKind.NOT_FOUND_AFTER_UNKNOWN, reason=NOT_FOUND_AFTER_UNKNOWN)
    assert len(placed) == 1 and unknowns == [gateway]
    assert clock.now >= 5.0 and len(queried) >= 3


def test_unknown_outcome_keeps_asking_while_the_venue_cannot_answer():
    gateway = make_error(kind=ErrorKind.BUSY, operation=Operation.PLACE, code=None, msg="HTTP 504", http_status=504)
    down = make_error(kind=ErrorKind.BUSY, operation=Operation.READ, code=None, msg="HTTP 503", http_status=503)
    result, placed, queried, clock = run(
        [gateway], [down] * 40 + [ORDER], RecoveryPolicy(unknown_outcome_timeout_s=1.0)
    )
    assert isinstance(result, PlacedAtVenue) and len(placed) == 1 and len(queried) == 41 and clock.now > 1.0
    assert result.after_unknown


def test_fill_dedupe_repeated_and_reordered():
    d = FillDeduper()
    assert d.accept(1, trade_id="t2", last_qty=Decimal("0.2"), cum_qty=Decimal("0.5")) == ("t2", Decimal("0.2"))
    assert d.accept(1, trade_id="t1", last_qty=Decimal("0.3"), cum_qty=Decimal("0.3")) == ("t1", Decimal("0.3"))
    assert d.accept(1, trade_id="t2", last_qty=Decimal("0.2"), cum_qty=Decimal("0.5")) is None
    assert d.filled(1) == Decimal("0.5")


def test_fill_dedupe_without_trade_ids_uses_cumulative_growth_and_caps_at_order_size():
    d = FillDeduper()
    assert d.accept(2, trade_id="", last_qty=None, cum_qty=Decimal("0.6"), order_qty=Decimal("1"))[1] == Decimal("0.6")
    assert d.accept(2, trade_id="", last_qty=None, cum_qty=Decimal("0.3"), order_qty=Decimal("1")) is None
    assert d.accept(2, trade_id="x", last_qty=Decimal("0.9"), cum_qty=Decimal("1.5"), order_qty=Decimal("1"))[
        1
    ] == Decimal("0.4")


def test_kline_closer_emits_last_version_of_a_candle_once_a_later_one_arrives():
    closer = KlineCloser()
    assert closer.update("k", 0, "a1") is None
    assert closer.update("k", 0, "a2") is None
    assert closer.update("k", 60_000, "b1") == "a2"
    assert closer.update("k", 0, "late") is None
    assert closer.update("k", 120_000, "c1") == "b1"
