"""The restart-loop breaker with an injected clock, on the real local live-state store and a state file."""

from __future__ import annotations

from dolphin_nautilus.restore.breaker import RESTARTS_KEY, RestartBreaker
from dolphin_nautilus.state import LocalStateStore

S = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * S

    def __call__(self) -> int:
        return self.now


def _store(tmp_path):
    store = LocalStateStore(tmp_path / "live", "brk")
    assert store.acquire_lease("node-a", 30)
    return store


def test_more_than_restart_max_starts_within_the_window_trips(tmp_path):
    clock, store = Clock(), _store(tmp_path)
    breaker = RestartBreaker(window_s=300, max_starts=3, live_state=store, state_dir=tmp_path, clock_ns=clock)
    verdicts = []
    for _ in range(4):
        verdicts.append(breaker.record_start())
        clock.now += 10 * S
    assert [v.tripped for v in verdicts] == [False, False, False, True]
    assert verdicts[-1].starts_in_window == 4 and "restart loop" in verdicts[-1].reason
    assert verdicts[-1].recorded_in == ("live_state", "file")
    assert len(store.get(RESTARTS_KEY)["starts"]) == 4


def test_starts_older_than_the_window_expire(tmp_path):
    clock = Clock()
    breaker = RestartBreaker(window_s=60, max_starts=2, state_dir=tmp_path, clock_ns=clock)
    for _ in range(3):
        breaker.record_start()
        clock.now += 61 * S  # each start is outside the previous one's window
    verdict = breaker.record_start()
    assert not verdict.tripped and verdict.starts_in_window == 1


def test_either_record_is_enough_and_an_unwritable_store_is_a_warning(tmp_path):
    clock, store = Clock(), _store(tmp_path)
    first = RestartBreaker(window_s=300, max_starts=1, live_state=store, state_dir=None, clock_ns=clock)
    assert not first.record_start().tripped  # recorded only in live state
    store.release_lease("node-a")  # writes now fail with NotLeaseHolder
    clock.now += S
    second = RestartBreaker(window_s=300, max_starts=1, live_state=store, state_dir=tmp_path, clock_ns=clock)
    verdict = second.record_start()
    assert verdict.tripped and verdict.starts_in_window == 2  # read from live state, written to the file
    assert verdict.recorded_in == ("file",)
    assert any("cannot record the start in live state" in w for w in verdict.warnings)
