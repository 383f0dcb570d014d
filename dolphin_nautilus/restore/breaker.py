"""Restart-loop breaker (docs/design.md §5.7): too many starts within a window -> start in safe mode, not loop.

Each start is recorded (UNIX ns) in the live-state store under the entry `restarts` (works with the local
store and Hazelcast) and in a file in the state dir, so either one surviving is enough. Reading or writing
either may fail: the breaker then works with what it could read and says so in `warnings`; it never raises.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

RESTARTS_KEY = "restarts"
RESTARTS_FILE = "restarts.json"
KEEP_STARTS = 50  # enough history to see a loop; bounded so the entry never grows without limit


class BreakerVerdict(msgspec.Struct, frozen=True, kw_only=True):
    tripped: bool
    starts_in_window: int
    window_s: float
    max_starts: int
    recorded_in: tuple[str, ...]  # "live_state", "file"
    warnings: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        if not self.tripped:
            return ""
        return (
            f"restart loop: {self.starts_in_window} starts within {self.window_s:.0f}s "
            f"(more than restart_max={self.max_starts})"
        )


class RestartBreaker:
    def __init__(
        self,
        *,
        window_s: float,
        max_starts: int,
        live_state: Any | None = None,
        state_dir: Path | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.window_ns = int(window_s * 1e9)
        self.window_s = window_s
        self.max_starts = max_starts
        self.live_state = live_state
        self.file = state_dir / RESTARTS_FILE if state_dir is not None else None
        self.clock_ns = clock_ns

    def record_start(self) -> BreakerVerdict:
        """Record this start and say whether the node is restart-looping."""
        now = self.clock_ns()
        warnings: list[str] = []
        starts = set(self._read_live(warnings)) | set(self._read_file(warnings))
        recent = sorted(ts for ts in starts if now - self.window_ns < ts <= now)
        recent = [*recent, now][-KEEP_STARTS:]
        recorded = self._write(recent, warnings)
        return BreakerVerdict(
            tripped=len(recent) > self.max_starts,
            starts_in_window=len(recent),
            window_s=self.window_s,
            max_starts=self.max_starts,
            recorded_in=tuple(recorded),
            warnings=tuple(warnings),
        )

    def _read_live(self, warnings: list[str]) -> list[int]:
        if self.live_state is None:
            return []
        try:
            return _starts_of(self.live_state.get(RESTARTS_KEY))
        except Exception as exc:  # noqa: BLE001 - a breaker that cannot read must not stop the start
            warnings.append(f"restarts entry unreadable from live state: {exc!r}")
            return []

    def _read_file(self, warnings: list[str]) -> list[int]:
        if self.file is None or not self.file.exists():
            return []
        try:
            return _starts_of(json.loads(self.file.read_text()))
        except Exception as exc:  # noqa: BLE001
            warnings.append(f"{self.file} unreadable: {exc!r}")
            return []

    def _write(self, starts: list[int], warnings: list[str]) -> list[str]:
        record = {"starts": starts}
        recorded = []
        if self.live_state is not None:
            try:
                self.live_state.put(RESTARTS_KEY, record)
                recorded.append("live_state")
            except Exception as exc:  # noqa: BLE001
                warnings.append(f"cannot record the start in live state: {exc!r}")
        if self.file is not None:
            try:
                _atomic_write(self.file, json.dumps(record))
                recorded.append("file")
            except Exception as exc:  # noqa: BLE001
                warnings.append(f"cannot record the start in {self.file}: {exc!r}")
        return recorded


def _starts_of(record: Any) -> list[int]:
    if not isinstance(record, dict):
        return []
    return [int(ts) for ts in record.get("starts", []) if isinstance(ts, int) and not isinstance(ts, bool)]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
