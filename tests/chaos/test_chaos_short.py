"""The chaos command, short: a few kill -9 cycles of the live node (node, store service, both) against the
emulator with embedded stores, checked against the venue's own orders, fills and positions (bench/chaos.py).
The cluster variant runs the same cycles with the live state on a real Hazelcast member, started by the suite's
fixture and handed to the command by its address (the command starts no member itself)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def run_chaos(workdir, *extra: str) -> str:
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
            str(workdir),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    line = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, f"{line}\n{run.stderr[-3000:]}"
    return line


def assert_clean_three_kills(line: str) -> None:
    assert "violations: none" in line
    kills = {kind: int(n) for kind, n in re.findall(r"\b(node|store|both)=(\d+)", line)}
    assert kills == {"node": 1, "store": 1, "both": 1}
    figures = dict(re.findall(r"\b(venue_orders|fills|restarts)=(\d+)", line))
    assert int(figures["venue_orders"]) >= 3 and int(figures["fills"]) >= 3  # it traded after every kill
    assert int(figures["restarts"]) >= 1


@pytest.mark.slow
def test_a_short_chaos_run_finds_no_violation(tmp_path):
    assert_clean_three_kills(run_chaos(tmp_path / "run"))


@pytest.mark.slow
def test_a_short_chaos_run_on_a_hazelcast_member_finds_no_violation(tmp_path, hazelcast_member):
    line = run_chaos(
        tmp_path / "run",
        "--backend",
        "cluster",
        "--cluster-members",
        ",".join(hazelcast_member.addresses),
        "--cluster-name",
        hazelcast_member.cluster_name,
    )
    assert "backend=cluster" in line
    assert_clean_three_kills(line)


def test_the_cluster_backend_needs_the_members_of_a_running_cluster():
    run = subprocess.run(
        [sys.executable, "-m", "dolphin_nautilus.bench.chaos", "--backend", "cluster"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--cluster-members" in run.stderr
