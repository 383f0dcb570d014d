"""The chaos command, short: a few kill -9 cycles of the live node (node, store service, both) against the
emulator with embedded stores, checked against the venue's own orders, fills and positions (bench/chaos.py)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_a_short_chaos_run_finds_no_violation(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dolphin_nautilus.bench.chaos",
            "--cycles",
            "3",
            "--seed",
            "11",
            "--round-robin",  # one kill of each kind: node, store service, both
            "--workdir",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    line = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, f"{line}\n{run.stderr[-3000:]}"
    assert "violations: none" in line
    kills = {kind: int(n) for kind, n in re.findall(r"\b(node|store|both)=(\d+)", line)}
    assert kills == {"node": 1, "store": 1, "both": 1}
    figures = dict(re.findall(r"\b(venue_orders|fills|restarts)=(\d+)", line))
    assert int(figures["venue_orders"]) >= 3 and int(figures["fills"]) >= 3  # it traded after every kill
    assert int(figures["restarts"]) >= 1
