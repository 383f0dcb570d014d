"""The chaos run's driver: starts the emulator, writes targets and closes bars so the node trades, runs
`dolphin-node` as a supervisor would (restarting it when it ends), SIGKILLs the node, its store service or both,
and times every restart (kill -> trading, kill -> the next order). What it checks is in chaos_checks.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import hazelcast

from dolphin_nautilus.bench.chaos_checks import check_facts, check_restore_report, summary_line
from dolphin_nautilus.bench.chaos_scenario import (
    API_KEY,
    API_SECRET,
    INSTRUMENT,
    KILL_KINDS,
    NAMESPACE,
    PREFIX,
    RUN_MARKER,
    SIGNALS_MAP,
    SYMBOL,
    TARGETS,
    ChaosFigures,
    hazelcast_section,
    node_config_text,
)
from dolphin_nautilus.bingx_emulator import EmulatorConfig, EmulatorHandle
from dolphin_nautilus.bingx_emulator.model import PublicTrade


class ChaosRun:
    """One run: the emulator and the node's parts, the node's lives, the kills between them, then the checks."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.root = Path(args.workdir or tempfile.mkdtemp(prefix="dolphin-chaos-"))
        self.state_dir = self.root / "var" / NAMESPACE
        self.figures = ChaosFigures()
        self.minute = 1  # public trades are printed this many minutes ahead: each one closes a bar
        self.target_ts = 0
        self.target = 0.0
        self.proc: subprocess.Popen | None = None
        self.life = 0
        self.cycles_done = 0
        self.stop_requested = False  # SIGINT/SIGTERM: finish the current cycle, then check and report
        self.venue: EmulatorHandle | None = None
        self.signals: Any = None
        self.signals_client: Any = None
        self.log_offset = 0
        self.venue_order_count = self.venue_fill_count = 0

    # ------------------------------------------------------------ parts
    def start_parts(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = EmulatorConfig(symbols=[SYMBOL], api_key=API_KEY, api_secret=API_SECRET, initial_balance="1000000")
        self.venue = EmulatorHandle(config).start()
        members = [a for a in self.args.cluster_members.split(",") if a]
        if self.args.backend == "cluster":
            # The members run outside this process (tests/chaos starts them through the suite's fixtures): a
            # client of our own writes the node's signal map there.
            self.signals_client = hazelcast.HazelcastClient(
                cluster_members=members, cluster_name=self.args.cluster_name, cluster_connect_timeout=30
            )
            self.signals = self.signals_client.get_map(SIGNALS_MAP).blocking()
        self.config_path = self.root / "node.toml"
        hazelcast_body = hazelcast_section(members if self.args.backend == "cluster" else [], self.args.cluster_name)
        self.config_path.write_text(
            node_config_text(self.root, hazelcast_body, self.venue.rest_url, self.venue.ws_market_url)
        )

    def stop_parts(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        for pid in self.store_service_pids():
            _kill(pid)
        if self.signals_client is not None:
            self.signals_client.shutdown()
        if self.venue is not None:
            self.venue.close()

    # ------------------------------------------------------------ the venue
    def venue_position(self) -> Decimal:
        def read(engine) -> Decimal:
            return sum((p.qty for (s, _), p in engine.account.positions.items() if s == SYMBOL), Decimal(0))

        assert self.venue is not None
        return self.venue.call(read)

    def venue_orders(self) -> list:
        assert self.venue is not None
        return self.venue.call(lambda e: [o for o in e.account.orders.values() if o.client_order_id.startswith(PREFIX)])

    def venue_fills(self) -> list:
        assert self.venue is not None
        return self.venue.call(lambda e: [f for f in e.account.fills if f.client_order_id.startswith(PREFIX)])

    def close_a_bar(self) -> None:
        """A public trade a minute ahead of the last: its kline opens a new bucket, closing the previous bar."""
        minute = self.minute
        self.minute += 1

        def print_trade(engine) -> None:
            contract = engine.contract(SYMBOL)
            trade = PublicTrade(contract.price, Decimal("0.01"), int(time.time() * 1000) + minute * 60_000, False)
            engine.public_trades[SYMBOL].append(trade)
            for sink in engine.trade_sinks:
                sink(SYMBOL, trade)

        assert self.venue is not None
        self.venue.call(print_trade)

    def write_target(self, target: float) -> None:
        self.target = target
        self.target_ts += 1
        value = {"target": target, "strength": 1.0, "ts": self.target_ts}
        if self.signals is not None:
            self.signals.put(INSTRUMENT, json.dumps(value))
            return
        path = self.state_dir / "live_state" / f"{NAMESPACE}.signals.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({INSTRUMENT: value}))
        os.replace(tmp, path)

    # ------------------------------------------------------------ the node
    def node_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "DOLPHIN_"))}
        env.update(BINGX_API_KEY=API_KEY, BINGX_API_SECRET=API_SECRET, PYTHONUNBUFFERED="1")
        env[RUN_MARKER] = str(self.root)  # finds this run's store services, orphaned ones included
        return env

    def start_node(self) -> None:
        self.life += 1
        logs = self.root / "lives"
        logs.mkdir(exist_ok=True)
        out = (logs / f"{self.life:04d}.out").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dolphin_nautilus.launch.node", "--config", str(self.config_path)],
            env=self.node_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a SIGKILL of the node must not reach its store service (kill kind "node")
        )
        out.close()

    def store_service_pids(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"dolphin_nautilus.stores.service" in cmdline and _run_of(int(entry.name)) == str(self.root):
                found.append(int(entry.name))
        return found

    def wait_trading(self, since_offset: int, timeout_s: float) -> bool:
        """Wait for this life's `trading` event; a life that exits by itself is restarted (as a supervisor)."""
        log_file = self.state_dir / "logs" / "dolphin-node.jsonl"
        deadline = time.monotonic() + timeout_s
        offset = since_offset
        while time.monotonic() < deadline:
            if log_file.exists():
                with log_file.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
                complete = data[: data.rfind(b"\n") + 1]
                offset += len(complete)
                for line in complete.splitlines():
                    try:
                        event = json.loads(line).get("event")
                    except ValueError:
                        continue
                    if event == "trading":
                        self.log_offset = offset
                        return True
            assert self.proc is not None
            if self.proc.poll() is not None:
                self.figures.exits[self.proc.returncode] += 1
                self.start_node()
                self.figures.restarts += 1
            self.close_a_bar()
            self.write_target(self.target)
            time.sleep(0.2)
        self.log_offset = offset
        return False

    def log_size(self) -> int:
        log_file = self.state_dir / "logs" / "dolphin-node.jsonl"
        return log_file.stat().st_size if log_file.exists() else 0

    def restart_after_kill(self, killed_at: float) -> None:
        venue_qty = self.venue_position()  # no node runs: the venue position cannot move until it trades
        offset = self.log_size()
        started_wall = time.time()
        self.start_node()
        self.figures.restarts += 1
        if not self.wait_trading(offset, self.args.trading_bound_s):
            self.figures.violate(
                "not_trading_in_bound", f"life {self.life}: not trading {self.args.trading_bound_s}s after kill"
            )
            return
        self.figures.kill_to_trading_s.append(time.monotonic() - killed_at)
        check_restore_report(self.figures, self.state_dir, self.life, venue_qty, started_wall)

    def expect_order(self, killed_at: float) -> None:
        """After a kill: a target that needs an order (exit when the venue holds a position, else an entry)
        must reach the venue within the bound, counted from the kill. A slot that cannot act is stuck."""
        orders_before = len(self.venue_orders())
        self.write_target(0.0 if self.venue_position() != 0 else self.rng.choice((1.0, -1.0)))
        deadline = killed_at + self.args.trading_bound_s
        while len(self.venue_orders()) == orders_before:
            if time.monotonic() > deadline:
                self.figures.violate(
                    "no_order_in_bound", f"life {self.life}: no order {self.args.trading_bound_s}s after the kill"
                )
                return
            self.close_a_bar()
            self.write_target(self.target)
            time.sleep(0.3)
        self.figures.kill_to_order_s.append(time.monotonic() - killed_at)

    def kill(self, kind: str) -> float:
        assert self.proc is not None
        stores = self.store_service_pids()
        if kind in ("store", "both"):
            for pid in stores:
                _kill(pid)
        if kind in ("node", "both"):
            self.proc.kill()
        killed_at = time.monotonic()
        if kind in ("node", "both"):
            self.proc.wait(30)
        self.figures.kills[kind] += 1
        return killed_at

    # ------------------------------------------------------------ the run
    def drive(self, seconds: float) -> None:
        """Close a bar every ~0.5 s; change the target now and then."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.close_a_bar()
            # A new target now and then; otherwise the model re-asserts its current one under a new ts (the
            # node acts on a target only when it changes, and drops one that arrives before its first bar).
            self.write_target(self.rng.choice(TARGETS) if self.rng.random() < 0.3 else self.target)
            time.sleep(0.5)

    def cycle(self) -> None:
        self.drive(self.rng.uniform(0.5, self.args.max_trade_s))
        if self.rng.random() < 0.5:  # right after a target change: orders in flight
            self.write_target(self.rng.choice(TARGETS))
            self.close_a_bar()
            time.sleep(self.rng.uniform(0.0, 0.6))
        kind = KILL_KINDS[self.cycles_done % 3] if self.args.round_robin else self.rng.choice(KILL_KINDS)
        self.cycles_done += 1
        assert self.proc is not None
        if self.proc.poll() is not None:  # it ended by itself since: a supervisor restarts it
            self.figures.exits[self.proc.returncode] += 1
            self.restart_after_kill(time.monotonic())
            return
        killed_at = self.kill(kind)
        if kind != "store" or self.proc.poll() is not None:  # a store kill: the node restarts its own service
            if kind == "store":
                self.figures.exits[self.proc.returncode] += 1
            self.restart_after_kill(killed_at)
        self.expect_order(killed_at)

    def run(self) -> int:
        self.start_parts()
        try:
            self.write_target(1.0)
            self.start_node()
            if not self.wait_trading(0, self.args.trading_bound_s * 2):
                self.figures.violate("not_trading_in_bound", "the first life never traded")
                return self.report()
            ends = time.monotonic() + self.args.max_minutes * 60 if self.args.max_minutes else None
            for _ in range(self.args.cycles):
                if self.stop_requested or (ends is not None and time.monotonic() > ends):
                    break  # out of time: check and report the cycles run so far
                self.cycle()
            self.finish()
            self.check_facts()
        finally:
            self.stop_parts()
        return self.report()

    def finish(self) -> None:
        """Exit target, bars until the venue is flat (bounded: else a stuck slot), then SIGTERM."""
        self.write_target(0.0)
        deadline = time.monotonic() + self.args.flatten_bound_s
        while self.venue_position() != 0 and time.monotonic() < deadline:
            self.write_target(0.0)
            self.close_a_bar()
            time.sleep(0.5)
        if self.venue_position() != 0:
            self.figures.violate("slot_stuck", f"venue still holds {self.venue_position()} after the exit target")
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            code = self.proc.wait(60)
            if code != 0:
                self.figures.violate("unclean_stop", f"SIGTERM exit code {code}")

    def check_facts(self) -> None:
        fills, orders = self.venue_fills(), self.venue_orders()
        self.venue_fill_count, self.venue_order_count = len(fills), len(orders)
        check_facts(
            self.figures,
            self.config_path,
            self.state_dir,
            fills,
            orders,
            self.venue_position(),
            require_no_lost_facts=self.args.require_no_lost_facts,
        )

    def report(self) -> int:
        for detail in self.figures.details:
            print(f"  violation {detail}", file=sys.stderr)
        line = summary_line(
            self.figures, self.args, self.cycles_done, self.venue_order_count, self.venue_fill_count, self.root
        )
        print(line, flush=True)
        return 1 if self.figures.violations else 0


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_of(pid: int) -> str:
    """The chaos run a process belongs to (its RUN_MARKER environment variable, inherited by the store service)."""
    try:
        environ = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    prefix = f"{RUN_MARKER}=".encode()
    return next((item[len(prefix) :].decode() for item in environ if item.startswith(prefix)), "")
