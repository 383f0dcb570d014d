"""Client-side rate limiting per BingX's documented limits (docs/reference/bingx_api.md §8), plus venue feedback.

Every request passes `acquire(method, path)`, which checks all buckets the request counts against:
- the per-UID bucket of a signed endpoint (e.g. place order 5/s; margin/position mode 2/s),
- the per-IP bucket of the endpoint (300 / 10 s in groups 2 and 3),
- the IP group bucket (group 1: 500 / 10 s and 1000 / min; groups 2 and 3: 2000 / 10 s).
If a slot frees within `max_wait_s` the call waits for it; otherwise it is refused with
`BingXRateLimitError(sent=False)` carrying `retry_after_ms`. After a rate-limit response the endpoint's
buckets are closed for a cooldown, and `X-RateLimit-Requests-Remain: 0` closes them until
`X-RateLimit-Requests-Expire`.

Clock and sleep are injectable so tests drive time instead of measuring it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

import msgspec

from dolphin_nautilus.adapters.bingx.errors import BingXError, ErrorKind, Operation, make_error


class Quota(msgspec.Struct, frozen=True):
    limit: int
    window_s: float


class EndpointLimit(msgspec.Struct, frozen=True):
    uid_per_s: int | None  # None: public endpoint, no UID bucket
    ip_group: int  # 1 market data, 2 account, 3 hot account/trade endpoints


IP_GROUP_QUOTAS: dict[int, tuple[Quota, ...]] = {
    1: (Quota(500, 10.0), Quota(1000, 60.0)),
    2: (Quota(2000, 10.0),),
    3: (Quota(2000, 10.0),),
}
IP_ENDPOINT_QUOTA = Quota(300, 10.0)  # groups 2 and 3, per endpoint

_V2 = "/openApi/swap/v2"
ENDPOINT_LIMITS: dict[tuple[str, str], EndpointLimit] = {
    ("POST", f"{_V2}/trade/order"): EndpointLimit(5, 3),  # 10/s per Nov-2025 docs; 5 is the safe floor
    ("POST", f"{_V2}/trade/order/test"): EndpointLimit(5, 2),
    ("POST", f"{_V2}/trade/batchOrders"): EndpointLimit(5, 3),
    ("DELETE", f"{_V2}/trade/order"): EndpointLimit(5, 3),
    ("DELETE", f"{_V2}/trade/batchOrders"): EndpointLimit(5, 3),
    ("DELETE", f"{_V2}/trade/allOpenOrders"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/trade/order"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/trade/openOrder"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/trade/openOrders"): EndpointLimit(5, 3),
    ("GET", f"{_V2}/trade/allOrders"): EndpointLimit(5, 3),
    ("GET", "/openApi/swap/v1/trade/fullOrder"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/trade/allFillOrders"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/trade/fillHistory"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/user/positions"): EndpointLimit(5, 3),
    ("GET", "/openApi/swap/v3/user/balance"): EndpointLimit(5, 3),
    ("GET", f"{_V2}/user/commissionRate"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/user/income"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/trade/leverage"): EndpointLimit(5, 2),
    ("POST", f"{_V2}/trade/leverage"): EndpointLimit(5, 2),
    ("GET", f"{_V2}/trade/marginType"): EndpointLimit(2, 2),
    ("POST", f"{_V2}/trade/marginType"): EndpointLimit(2, 2),
    ("GET", "/openApi/swap/v1/positionSide/dual"): EndpointLimit(2, 2),
    ("POST", "/openApi/swap/v1/positionSide/dual"): EndpointLimit(2, 2),
    ("POST", f"{_V2}/trade/closeAllPositions"): EndpointLimit(5, 2),
    ("POST", f"{_V2}/trade/cancelAllAfter"): EndpointLimit(2, 2),
}
SIGNED_DEFAULT = EndpointLimit(5, 2)
PUBLIC_DEFAULT = EndpointLimit(None, 1)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class _Bucket:
    """Sliding-window log: at most `quota.limit` acquisitions in any `quota.window_s`."""

    __slots__ = ("blocked_until", "quota", "stamps")

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self.stamps: deque[float] = deque()
        self.blocked_until = 0.0

    def delay(self, now: float) -> float:
        while self.stamps and now - self.stamps[0] >= self.quota.window_s:
            self.stamps.popleft()
        wait = max(0.0, self.blocked_until - now)
        if len(self.stamps) >= self.quota.limit:
            wait = max(wait, self.stamps[0] + self.quota.window_s - now)
        return wait

    def record(self, now: float) -> None:
        self.stamps.append(now)


def limit_for(method: str, path: str, signed: bool) -> EndpointLimit:
    return ENDPOINT_LIMITS.get((method.upper(), path), SIGNED_DEFAULT if signed else PUBLIC_DEFAULT)


class BingXRateLimiter:
    def __init__(
        self,
        *,
        max_wait_s: float = 1.0,
        default_cooldown_ms: int = 5_000,
        clock: Clock = time.monotonic,
        wall_clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.max_wait_s = max_wait_s
        self.default_cooldown_ms = default_cooldown_ms
        self._clock = clock
        self._wall_clock_ms = wall_clock_ms
        self._sleep = sleep
        self._buckets: dict[tuple, _Bucket] = {}
        self.waits = 0  # how often a call had to wait (observable by tests and metrics)
        self.refusals = 0

    def _bucket(self, key: tuple, quota: Quota) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(quota)
        return bucket

    def _buckets_for(self, method: str, path: str, signed: bool) -> list[_Bucket]:
        spec = limit_for(method, path, signed)
        endpoint = (method.upper(), path)
        buckets = self._group_buckets(spec.ip_group)
        if spec.ip_group != 1:
            buckets.append(self._bucket(("ip-endpoint", endpoint), IP_ENDPOINT_QUOTA))
        if spec.uid_per_s is not None and signed:
            buckets.append(self._bucket(("uid", endpoint), Quota(spec.uid_per_s, 1.0)))
        return buckets

    def _endpoint_buckets(self, method: str, path: str, signed: bool) -> list[_Bucket]:
        """The narrowest buckets of this endpoint: UID bucket if signed, else its IP bucket (or its group)."""
        spec = limit_for(method, path, signed)
        endpoint = (method.upper(), path)
        if spec.uid_per_s is not None and signed:
            return [self._bucket(("uid", endpoint), Quota(spec.uid_per_s, 1.0))]
        if spec.ip_group != 1:
            return [self._bucket(("ip-endpoint", endpoint), IP_ENDPOINT_QUOTA)]
        return self._group_buckets(spec.ip_group)

    def _group_buckets(self, group: int) -> list[_Bucket]:
        return [self._bucket(("ip-group", group, i), q) for i, q in enumerate(IP_GROUP_QUOTAS[group])]

    async def acquire(self, method: str, path: str, *, signed: bool, operation: Operation = Operation.READ) -> None:
        """Take a slot in every bucket this request counts against; wait up to `max_wait_s`, else refuse."""
        buckets = self._buckets_for(method, path, signed)
        while True:
            now = self._clock()
            delay = max(b.delay(now) for b in buckets)
            if delay <= 0:
                for b in buckets:
                    b.record(now)
                return
            if delay > self.max_wait_s:
                self.refusals += 1
                raise self._refusal(method, path, delay, operation)
            self.waits += 1
            await self._sleep(delay)

    def _refusal(self, method: str, path: str, delay: float, operation: Operation) -> BingXError:
        return make_error(
            kind=ErrorKind.RATE_LIMIT,
            operation=operation,
            code=None,
            msg="client-side rate limit: request not sent",
            endpoint=f"{method.upper()} {path}",
            retry_after_ms=max(1, round(delay * 1000)),
            sent=False,
        )

    def cooldown(
        self, method: str, path: str, *, signed: bool, retry_after_ms: int | None = None, ip_wide: bool = False
    ) -> int:
        """Close the endpoint (or, for an IP-level 429/418, its whole IP group) after the venue said we are
        rate limited. Returns the cooldown used in ms."""
        ms = retry_after_ms if retry_after_ms and retry_after_ms > 0 else self.default_cooldown_ms
        until = self._clock() + ms / 1000
        if ip_wide:
            targets = self._group_buckets(limit_for(method, path, signed).ip_group)
        else:
            targets = self._endpoint_buckets(method, path, signed)
        for bucket in targets:
            bucket.blocked_until = max(bucket.blocked_until, until)
        return ms

    def observe_headers(self, method: str, path: str, headers: Mapping[str, str], *, signed: bool) -> None:
        """Honour `X-RateLimit-Requests-Remain/-Expire`: when nothing remains, wait for the window to expire."""
        remain = _int_header(headers, "X-RateLimit-Requests-Remain")
        if remain is None or remain > 0:
            return
        wait_ms = self.expire_wait_ms(headers)
        self.cooldown(method, path, signed=signed, retry_after_ms=wait_ms)

    def expire_wait_ms(self, headers: Mapping[str, str]) -> int | None:
        """Milliseconds until the venue's window expires, from `-Expire` (epoch ms or ms-from-now) or `Retry-After` (s)."""
        expire = _int_header(headers, "X-RateLimit-Requests-Expire")
        if expire is not None and expire > 0:
            # Docs do not say whether Expire is absolute; an epoch-ms value is > 1e12, a duration is not.
            return max(1, expire - self._wall_clock_ms()) if expire > 1_000_000_000_000 else expire
        retry_after = _int_header(headers, "Retry-After")
        return retry_after * 1000 if retry_after is not None and retry_after > 0 else None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None
