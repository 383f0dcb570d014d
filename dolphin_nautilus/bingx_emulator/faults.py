"""Fault injection, programmable from tests (thread-safe: tests call it from outside the server loop).

REST faults are keyed by route, "METHOD /path" or just "/path" (any method), and fire `times` times
(-1: until cleared). User-stream faults act on the next N events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpError:
    """Answer with this HTTP status. `executed`: the request is processed first (the order WAS
    placed) - the documented 504 unknown-outcome case. `delay_s` before answering (client timeouts)."""

    status: int = 500
    executed: bool = False
    delay_s: float = 0.0
    body: str = ""


@dataclass(frozen=True)
class BusinessReject:
    """HTTP 200 with this non-zero code; nothing is processed."""

    code: int
    msg: str


@dataclass(frozen=True)
class RateLimited:
    """Answer as rate limited (configured generation code / HTTP status), nothing processed."""


@dataclass(frozen=True)
class DelayedAck:
    """Process at once (events flow on the user stream) but answer only after `delay_s`."""

    delay_s: float


Fault = HttpError | BusinessReject | RateLimited | DelayedAck


@dataclass
class _Rule:
    route: str
    fault: Fault
    remaining: int


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._duplicate_next = 0
        self._reorder_batch = 0
        self._held: list[dict] = []
        self._drop_hooks: dict[str, Callable[[], object]] = {}

    # ------------------------------------------------------------ REST
    def inject(self, route: str, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._rules.append(_Rule(route, fault, times))

    def rate_limit_storm(self, route: str, times: int = 5) -> None:
        self.inject(route, RateLimited(), times)

    def reject(self, route: str, code: int, msg: str, times: int = 1) -> None:
        self.inject(route, BusinessReject(code, msg), times)

    def http_error(self, route: str, status: int = 500, times: int = 1) -> None:
        self.inject(route, HttpError(status), times)

    def gateway_timeout(self, route: str, executed: bool, delay_s: float = 0.0, times: int = 1) -> None:
        self.inject(route, HttpError(504, executed, delay_s), times)

    def delay_ack(self, route: str, delay_s: float, times: int = 1) -> None:
        self.inject(route, DelayedAck(delay_s), times)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._duplicate_next = self._reorder_batch = 0
            self._held.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any, consuming one use of its rule."""
        with self._lock:
            for rule in self._rules:
                if rule.route in (f"{method} {path}", path) and rule.remaining != 0:
                    rule.remaining -= 1 if rule.remaining > 0 else 0
                    return rule.fault
            return None

    # ------------------------------------------------------------ WebSocket
    def duplicate_user_events(self, count: int) -> None:
        """Each of the next `count` user-stream events is delivered twice."""
        with self._lock:
            self._duplicate_next = count

    def reorder_user_events(self, batch: int) -> None:
        """Hold the next `batch` user-stream events and deliver them in reverse order."""
        with self._lock:
            self._reorder_batch = batch
            self._held.clear()

    def user_events(self, event: dict) -> list[dict]:
        """The events to deliver for one emitted event, after the programmed faults."""
        with self._lock:
            if self._reorder_batch > 0:
                self._held.append(event)
                if len(self._held) < self._reorder_batch:
                    return []
                out, self._held, self._reorder_batch = list(reversed(self._held)), [], 0
            else:
                out = [event]
            delivered: list[dict] = []
            for item in out:
                delivered.append(item)
                if self._duplicate_next > 0:
                    self._duplicate_next -= 1
                    delivered.append(item)
            return delivered

    def drop_market_connections(self) -> None:
        self._drop_hooks["market"]()

    def drop_user_connections(self) -> None:
        self._drop_hooks["user"]()

    def attach_drop_hook(self, kind: str, hook: Callable[[], object]) -> None:
        """The stream server says how it drops its `market` or `user` connections when a test asks for it."""
        self._drop_hooks[kind] = hook
