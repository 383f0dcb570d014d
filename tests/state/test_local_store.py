"""LocalStateStore: crash safety and cross-process lease exclusivity (real processes, SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from dolphin_nautilus.state import LocalStateStore, StateStoreError

WRITER_SCRIPT = textwrap.dedent(
    """
    import sys
    from dolphin_nautilus.state import LocalStateStore
    store = LocalStateStore(sys.argv[1], "blue")
    assert store.acquire_lease("child", ttl_s=float(sys.argv[2]))
    print("holding", flush=True)
    i = 0
    while True:
        i += 1
        store.write_many({f"k{i % 50}": {"i": i, "pad": "x" * 2000}, "counter": {"i": i}})
    """
)


def start_writer(path, ttl_s=30.0):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(path), str(ttl_s)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    assert proc.stdout.readline().strip() == "holding"
    return proc


def kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)


def test_file_stays_parseable_when_the_writer_is_killed_mid_write(tmp_path):
    reader = LocalStateStore(tmp_path, "blue")
    for _ in range(3):
        proc = start_writer(tmp_path, ttl_s=0.2)
        time.sleep(0.3)
        kill(proc)
        state = json.loads(reader.file.read_text())  # never torn: temp file + fsync + rename
        counter = json.loads(state["entries"]["counter"])["i"]
        assert counter > 0
        assert reader.entries()["counter"] == {"i": counter}
        time.sleep(0.25)  # let the dead child's lease expire before the next round takes it
    assert reader.acquire_lease("parent", ttl_s=30)  # a locked operation sweeps killed writers' temp files
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_two_processes_cannot_both_hold_the_lease(tmp_path):
    started = time.monotonic()
    proc = start_writer(tmp_path, ttl_s=1.0)
    held_by = time.monotonic()  # the child acquired between `started` and now
    try:
        mine = LocalStateStore(tmp_path, "blue")
        assert mine.lease_holder() == "child"
        assert not mine.acquire_lease("parent", ttl_s=30)
    finally:
        kill(proc)
    # The dead process's lease is honoured until it expires, then taken over.
    if time.monotonic() - started < 0.9:  # the child acquired after `started`, so its lease is still live
        assert not mine.acquire_lease("parent", ttl_s=30)
    time.sleep(max(0.0, held_by + 1.05 - time.monotonic()))
    assert mine.acquire_lease("parent", ttl_s=30)
    mine.put("k0", {"owner": "parent"})
    assert mine.get("k0") == {"owner": "parent"}


def test_a_corrupt_file_is_a_clear_error_and_is_not_overwritten(tmp_path):
    store = LocalStateStore(tmp_path, "blue")
    store.file.write_text("{not json")
    with pytest.raises(StateStoreError, match="not valid JSON"):
        store.entries()
    with pytest.raises(StateStoreError, match="not valid JSON"):
        store.acquire_lease("node-a", ttl_s=30)
    assert store.file.read_text() == "{not json"
