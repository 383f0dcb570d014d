"""The venue's clock. Injectable so funding and liquidation are testable without waiting."""

from __future__ import annotations

import threading
import time


class WallClock:
    """Server time = wall clock + `offset_ms` (a skewed venue clock, for timestamp-window tests)."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms


class ManualClock:
    """A clock that moves only when told to (`advance`, `set`). Thread-safe: tests drive it from outside."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._ms = start_ms if start_ms is not None else time.time_ns() // 1_000_000
        self._lock = threading.Lock()
        self.offset_ms = 0

    def now_ms(self) -> int:
        with self._lock:
            return self._ms + self.offset_ms

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError(f"a venue clock does not go back: advance({ms})")
        with self._lock:
            self._ms += ms
            return self._ms

    def set(self, ms: int) -> None:
        with self._lock:
            if ms < self._ms:
                raise ValueError(f"a venue clock does not go back: {ms} < {self._ms}")
            self._ms = ms


Clock = WallClock | ManualClock
