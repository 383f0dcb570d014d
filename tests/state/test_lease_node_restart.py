"""Restart after kill -9 is immediate, end to end (issue 11 item 5): `dolphin-node` against the BingX emulator
and a real Hazelcast member, with a lease TTL far longer than the test. The node and its store service are
SIGKILLed with the lease live; the restarted node (same state folder, so the same holder id) takes the lease
over at once under a new fencing token instead of waiting for it to expire or exiting 4 over and over. A node
of the same namespace from another state folder (another identity) is still kept out: it waits, saying so
once with its code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dolphin_nautilus.state import lease_map_name
from dolphin_nautilus.stores.identity import IDENTITY_FILE
from tests.node.conftest import API_KEY, API_SECRET, node, wait_for_event

LEASE_TTL_S = 120.0  # expiry can never be what lets the restarted node in


def config_for(tmp_path: Path, name: str, emulator, member) -> Path:
    members = ", ".join(f'"{a}"' for a in member.addresses)
    path = tmp_path / f"{name}.toml"
    path.write_text(f"""
[node]
environment = "vst"
namespace = "tst"
state_dir = "{tmp_path / name}"
log_level = "INFO"

[strategy]
instruments = ["BTC-USDT-PERP.BINGX"]
signal_source = "hazelcast"

[clickhouse]
backend = "chdb"

[hazelcast]
backend = "cluster"
members = [{members}]
cluster_name = "{member.cluster_name}"
lease_ttl_s = {LEASE_TTL_S}

[bingx]
rest_url = "{emulator.rest_url}"
ws_market_url = "{emulator.ws_market_url}"
""")
    return path


def events(log_file: Path) -> list[dict]:
    return [json.loads(line) for line in log_file.read_text().splitlines()] if log_file.exists() else []


def store_service_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def lease_record(member) -> dict:
    return json.loads(member.map_entries(lease_map_name("tst"))["writer"])


@pytest.mark.slow
def test_a_killed_node_restarts_at_once_and_another_identity_still_waits(
    bingx_emulator_factory, hazelcast_member, tmp_path
):
    emulator = bingx_emulator_factory(api_key=API_KEY, api_secret=API_SECRET, symbols=["BTC-USDT"])
    mine = config_for(tmp_path, "mine", emulator, hazelcast_member)
    log_file = tmp_path / "mine" / "tst" / "logs" / "dolphin-node.jsonl"
    first = node("--config", str(mine), "--startup-timeout", "60")
    procs = [first]
    try:
        wait_for_event(log_file, "trading", first, timeout_s=90)
        holder = json.loads((tmp_path / "mine" / "tst" / IDENTITY_FILE).read_text())["holder_id"]
        before = lease_record(hazelcast_member)
        assert before["holder"] == holder and str(first.pid) not in holder
        for pid in [*store_service_of(first.pid), first.pid]:  # both die at once: the lease stays live
            os.kill(pid, signal.SIGKILL)
        first.wait(10)
        log_file.write_text("")  # the next life's events only

        started = time.monotonic()
        again = node("--config", str(mine), "--startup-timeout", "60")
        procs.append(again)
        wait_for_event(log_file, "trading", again, timeout_s=90)
        assert time.monotonic() - started < LEASE_TTL_S / 2
        assert "waiting_for_lease" not in [e["event"] for e in events(log_file)]
        after = lease_record(hazelcast_member)
        assert after["holder"] == holder and after["token"] > before["token"]  # taken over: a new fencing token

        other_log = tmp_path / "other" / "tst" / "logs" / "dolphin-node.jsonl"
        other = node("--config", str(config_for(tmp_path, "other", emulator, hazelcast_member)))
        procs.append(other)
        deadline = time.monotonic() + 60
        while "waiting_for_lease" not in [e["event"] for e in events(other_log)]:
            assert other.poll() is None and time.monotonic() < deadline, events(other_log)
            time.sleep(0.2)
        waiting = [e for e in events(other_log) if e["event"] == "waiting_for_lease"]
        assert len(waiting) == 1 and waiting[0]["code"] == "LEASE_HELD" and holder in waiting[0]["message"]
        time.sleep(3)  # still waiting, still one line, and the lease never moved
        assert other.poll() is None and len([e for e in events(other_log) if e["event"] == "waiting_for_lease"]) == 1
        assert lease_record(hazelcast_member) == after and again.poll() is None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
