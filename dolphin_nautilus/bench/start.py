"""Benchmark: process start to trading. `python -m dolphin_nautilus.bench.start [--launches 5] [--json]`.

Starts the loopback BingX emulator (its own process), then launches `dolphin-node` (`python -m
dolphin_nautilus.launch.node`) on a paper config with embedded stores (chDB, local live state) `--launches`
times on the same state folder: each launch restores what the previous one left. Each launch is timed from
just before the process is spawned to the log record of its `trading` event (the trader RUNNING, restore
done), then stopped with SIGINT. The first launch (it creates the stores) is reported apart; the target is
on the p50 of the others (docs/design.md §7: < 2 s). The floor beside it, measured in the same run: a bare
`python -c "import nautilus_trader.live.node"`, which any Nautilus live node pays.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dolphin_nautilus.bench.verdicts import Check, at_most, print_checks, reported
from dolphin_nautilus.config import load_config, state_dir_for
from dolphin_nautilus.logs import LOG_FILE_NAME, log_dir

TARGET_S = 2.0  # docs/design.md §7
EMULATOR_KEY = "emulator-test-api-key"  # the emulator's public test pair (bingx_emulator.config)
EMULATOR_SECRET = "emulator-test-api-secret-0123456789abcdef"
POLL_S = 0.01


def _config(folder: Path, rest_url: str) -> Path:
    ws = rest_url.replace("http://", "ws://") + "/swap-market"
    path = folder / "start.toml"
    path.write_text(f"""
[node]
environment = "vst"
namespace = "benchstart"
state_dir = "{folder / "state"}"
log_level = "INFO"

[strategy]
instruments = ["BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"]
signal_source = "hazelcast"

[clickhouse]
backend = "chdb"

[hazelcast]
backend = "local"

[bingx]
rest_url = "{rest_url}"
ws_market_url = "{ws}"
ws_user_url = "{ws}"
""")
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "DOLPHIN_"))}
    env.update(BINGX_API_KEY=EMULATOR_KEY, BINGX_API_SECRET=EMULATOR_SECRET, PYTHONUNBUFFERED="1")
    return env


def _start_emulator() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dolphin_nautilus.bingx_emulator", "--port", "0", "--history-minutes", "240"],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("REST"):
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return proc, line.split()[1]


def _trading_at(log_file: Path, proc: subprocess.Popen, since: int, timeout_s: float) -> float:
    """The wall-clock time (s) of the first `trading` record after byte offset `since` of the node's log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log_file.exists():
            with log_file.open("rb") as f:
                f.seek(since)
                for line in f:
                    record = json.loads(line)
                    if record.get("event") == "trading":
                        return dt.datetime.fromisoformat(record["ts"]).timestamp()
        if proc.poll() is not None:
            raise RuntimeError(f"dolphin-node exited {proc.returncode} before trading; see {log_file}")
        time.sleep(POLL_S)
    raise RuntimeError(f"dolphin-node not trading within {timeout_s}s; see {log_file}")


def launch_once(config: Path, log_file: Path, timeout_s: float = 120.0) -> float:
    """Seconds from spawning the node to its `trading` record; the node is then stopped (SIGINT)."""
    since = log_file.stat().st_size if log_file.exists() else 0
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dolphin_nautilus.launch.node", "--config", str(config)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        trading = _trading_at(log_file, proc, since, timeout_s)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    if code != 0:
        raise RuntimeError(f"dolphin-node stopped with exit code {code}; see {log_file}")
    return trading - started


def import_floor(repeats: int = 3) -> float:
    """Median seconds of a bare interpreter importing Nautilus's live node: the floor of any start."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import nautilus_trader.live.node"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(argv: list[str] | None = None) -> list[Check]:
    parser = argparse.ArgumentParser(prog="python -m dolphin_nautilus.bench.start", description=__doc__)
    parser.add_argument("--launches", type=int, default=5, help="timed launches after the first (default 5)")
    parser.add_argument("--json", action="store_true", help="the checks as JSON, last line")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="start-bench-"))
    emulator, rest_url = _start_emulator()
    try:
        config = _config(folder, rest_url)
        log_file = log_dir(state_dir_for(load_config(str(config)))) / LOG_FILE_NAME
        first = launch_once(config, log_file)
        times = [launch_once(config, log_file) for _ in range(args.launches)]
    finally:
        emulator.send_signal(signal.SIGINT)
        emulator.wait(timeout=30)
    floor = import_floor()
    p50 = statistics.median(times)
    print(f"first launch (creates the stores): {first:.2f} s")
    print(f"launches: {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"floor (python -c 'import nautilus_trader.live.node'): {floor:.2f} s")
    print(
        f"process start to trading p50: {p50:.2f} s ({p50 / floor:.2f}x the import floor)   "
        f"target < {TARGET_S:.0f} s: {'MET' if p50 < TARGET_S else 'MISSED'}"
    )
    note = f"p50 of {len(times)} launches after the first; restore included"
    checks = [
        at_most("start", "process start to trading p50 (s)", round(p50, 3), TARGET_S, note),
        reported("start", "p50 / bare Nautilus live-node import", round(p50 / floor, 3), f"floor {floor:.2f} s"),
        reported("start", "first launch, creates the stores (s)", round(first, 3)),
    ]
    print()
    print_checks(checks, as_json=args.json)
    return checks


def main() -> None:
    run()


if __name__ == "__main__":
    main()
