"""kill -9 the writer process mid-stream, restart it, and check: nothing accepted is lost, nothing doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import msgspec

from tests.journal.conftest import open_test_store
from tests.journal.factory import make_facts, row_ids_by_table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _child(config, spool, start, stop):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.journal.crash_child",
            msgspec.json.encode(config).decode(),
            spool,
            str(start),
            str(stop),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _run_and_kill(config, spool, start, stop, kill_after_accepted):
    """Run a writer child; SIGKILL it once it reported `kill_after_accepted`. Returns the accepted count."""
    child = _child(config, spool, start, stop)
    accepted = 0
    try:
        assert child.stdout.readline().strip() == "started"
        while accepted < kill_after_accepted:
            accepted = int(child.stdout.readline().split()[1])  # readline: no read-ahead past the kill point
        os.kill(child.pid, signal.SIGKILL)  # appends and inserts are still in flight
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    return accepted


def test_kill_minus_nine_loses_and_duplicates_nothing(private_store_config, tmp_path):
    spool = str(tmp_path / "spool")
    first = _run_and_kill(private_store_config, spool, 0, 20_000, 2000)
    second = _run_and_kill(private_store_config, spool, 100_000, 120_000, 2000)
    verify = _child(private_store_config, spool, 0, 0)
    out, _ = verify.communicate(timeout=120)
    assert verify.returncode == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    accepted = make_facts(0, first) + make_facts(100_000, 100_000 + second)
    appended_bound = row_ids_by_table(make_facts(0, 20_000) + make_facts(100_000, 120_000))
    for table, ids in row_ids_by_table(accepted).items():
        stored = set(report["ids"][table])
        assert ids <= stored, f"{table}: {len(ids - stored)} accepted facts lost"
        assert stored <= appended_bound[table]  # nothing that was never appended
        assert report["counts"][table] == len(stored)  # each row_id once
    if private_store_config.backend == "http":
        store = open_test_store(private_store_config)
        store.client.command(f"DROP DATABASE IF EXISTS `{store.database}`")
        store.close()
