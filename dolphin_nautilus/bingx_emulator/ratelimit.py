"""Per-UID per-endpoint and per-IP group limits with the documented restriction (docs/reference/bingx_api.md §8)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .config import RateLimitConfig


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remain: int  # X-RateLimit-Requests-Remain
    expire_ms: int  # X-RateLimit-Requests-Expire: ms until the tightest window resets


class RateLimiter:
    """Fixed windows. Exceeding a limit restricts that key for `penalty_s` (documented: 5 min)."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._windows: dict[str, tuple[float, int]] = {}
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._blocked_until.clear()

    def check(self, route: str, ip_group: int, uid: str | None, ip: str, now: float) -> Verdict:
        cfg = self.config
        limits: list[tuple[str, int, float]] = []
        if uid is not None:
            limits.append((f"uid:{uid}:{route}", cfg.uid_per_s.get(route, cfg.uid_default_per_s), 1.0))
        if ip_group == 1:
            limits.append((f"ip:{ip}:g1:10s", cfg.ip_group1_per_10s, 10.0))
            limits.append((f"ip:{ip}:g1:60s", cfg.ip_group1_per_min, 60.0))
        else:
            limits.append((f"ip:{ip}:g{ip_group}", cfg.ip_group_per_10s, 10.0))
            limits.append((f"ip:{ip}:{route}", cfg.ip_endpoint_per_10s, 10.0))
        with self._lock:
            return self._consume(limits, now)

    def _consume(self, limits: list[tuple[str, int, float]], now: float) -> Verdict:
        for key, _, _ in limits:
            until = self._blocked_until.get(key, 0.0)
            if until > now:
                return Verdict(False, 0, int((until - now) * 1000))
        remain, expire = 1 << 30, 0
        for key, limit, window in limits:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= window:
                start, count = now, 0
            count += 1
            self._windows[key] = (start, count)
            if count > limit:
                if self.config.penalty_s > 0:
                    self._blocked_until[key] = now + self.config.penalty_s
                    return Verdict(False, 0, int(self.config.penalty_s * 1000))
                return Verdict(False, 0, int((start + window - now) * 1000))
            if limit - count < remain:
                remain, expire = limit - count, int((start + window - now) * 1000)
        return Verdict(True, remain, expire)
