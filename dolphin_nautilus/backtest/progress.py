"""Progress for long backtests: one line per simulated day, from a timer (no per-bar cost)."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig


class ProgressActorConfig(ActorConfig, frozen=True):
    start_ns: int
    end_ns: int
    every_hours: int = 24


class ProgressActor(Actor):
    def __init__(self, config: ProgressActorConfig) -> None:
        super().__init__(config)
        self._wall_start = 0.0

    def on_start(self) -> None:
        self._wall_start = time.perf_counter()
        self.clock.set_timer(
            "dolphin-progress",
            timedelta(hours=self.config.every_hours),
            callback=lambda event: self._report(event.ts_event),
        )

    def on_stop(self) -> None:
        self.clock.cancel_timers()
        # The daily timer fires before the last bar; the closing line reports where the run really ended.
        self._report(self.clock.timestamp_ns())

    def _report(self, now_ns: int) -> None:
        span = max(1, self.config.end_ns - self.config.start_ns)
        done = min(1.0, max(0.0, (now_ns - self.config.start_ns) / span))
        if self.config.end_ns - now_ns < 60_000_000_000:  # within the last bar: done (rounding, not a stop)
            done = 1.0
        stamp = self.clock.utc_now().strftime("%Y-%m-%d")
        extra = f"  trades {len(self.cache.positions_closed())}  open {len(self.cache.positions_open())}"
        sys.stderr.write(
            f"  [{done:6.1%}] simulated {stamp}  wall {time.perf_counter() - self._wall_start:6.1f}s{extra}\n"
        )
        sys.stderr.flush()
