"""Helpers for running `dolphin-node` / `dolphin-ctl` as real subprocesses against the suite's real parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Distinctive credentials: every test greps logs and outputs for these exact strings.
API_KEY = "DolphinTestKey-9f1c2e7ab34d"
API_SECRET = "DolphinTestSecret-5be0c1d9a7f24e86"


def node_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "DOLPHIN_"))}
    env.update(BINGX_API_KEY=API_KEY, BINGX_API_SECRET=API_SECRET, PYTHONUNBUFFERED="1", **extra)
    return env


def write_config(
    path: Path,
    *,
    namespace: str,
    environment: str = "vst",
    state_dir: Path,
    rest_url: str = "",
    ws_url: str = "",
    hazelcast=None,
    extra: str = "",
) -> Path:
    """`hazelcast`: a running test cluster (`hazelcast_member`/`hazelcast_cluster` fixture) for backend "cluster";
    None for the local file backend."""
    if hazelcast is None:
        hazelcast = 'backend = "local"'
    else:
        members = ", ".join(f'"{a}"' for a in hazelcast.addresses)
        hazelcast = (
            f'backend = "cluster"\nmembers = [{members}]\ncluster_name = "{hazelcast.cluster_name}"\nlease_ttl_s = 6.0'
        )
    path.write_text(f"""
[node]
environment = "{environment}"
namespace = "{namespace}"
state_dir = "{state_dir}"
log_level = "INFO"

[strategy]
instruments = ["BTC-USDT-PERP.BINGX"]
signal_source = "hazelcast"
poll_interval_s = 0.2
trade_notional_usdt = "250"

[strategy.reference]
enter_above = 0.5

[clickhouse]
backend = "chdb"

[hazelcast]
{hazelcast}

[bingx]
rest_url = "{rest_url}"
ws_market_url = "{ws_url}"
{extra}
""")
    return path


def ctl(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dolphin_nautilus.ops.cli", *args],
        capture_output=True,
        text=True,
        env=env or node_env(),
        timeout=timeout,
    )


def node(*args: str, env: dict[str, str] | None = None, stdout=None, stderr=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dolphin_nautilus.launch.node", *args],
        env=env or node_env(),
        stdout=stdout,
        stderr=stderr,
    )


def wait_for_event(log_file: Path, event: str, proc: subprocess.Popen, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log_file.read_text().splitlines() if log_file.exists() else []:
            record = json.loads(line)
            if record["event"] == event:
                return record
        if proc.poll() is not None:
            raise AssertionError(f"node exited with {proc.returncode} before {event!r}: {log_file.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"no {event!r} event within {timeout_s}s")


def files_containing(root: Path, *needles: str) -> list[str]:
    """Every file under root whose bytes contain one of the needles."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found
