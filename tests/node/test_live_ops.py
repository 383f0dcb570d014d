"""A real `dolphin-node` against the emulator, operated as an operator would: a signal opens a trade, the JSON
log has one INFO line per order event, fill, entry, exit leg and closed trade (with Nautilus's log at ERROR),
`dolphin-ctl status` shows the trade's entry price, mark price and PnL from the node's snapshot while the node
holds its embedded store, `dolphin-ctl flatten --apply` closes it through the node's own book, and the
reference model is warm at start from the venue's klines (or status says it is warming up)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.node.conftest import API_KEY, API_SECRET, ctl, node, wait_for_event

BTC = "BTC-USDT-PERP.BINGX"


def config_text(
    namespace: str, state_dir: Path, rest_url: str, ws_url: str, *, source: str, reference: str = ""
) -> str:
    return f"""
[node]
environment = "vst"
namespace = "{namespace}"
state_dir = "{state_dir}"
log_level = "ERROR"

[strategy]
instruments = ["{BTC}"]
signal_source = "{source}"
poll_interval_s = 0.2
trade_notional_usdt = "250"

[strategy.reference]
{reference}

[clickhouse]
backend = "chdb"

[hazelcast]
backend = "local"

[bingx]
rest_url = "{rest_url}"
ws_market_url = "{ws_url}"
"""


def start_node(tmp_path: Path, emulator, namespace: str, **config) -> tuple[subprocess.Popen, Path, Path]:
    path = tmp_path / f"{namespace}.toml"
    path.write_text(config_text(namespace, tmp_path / "var", emulator.rest_url, emulator.ws_market_url, **config))
    out, err = (tmp_path / f"{namespace}.out").open("w"), (tmp_path / f"{namespace}.err").open("w")
    proc = node("--config", str(path), "--startup-timeout", "40", stdout=out, stderr=err)
    log_file = tmp_path / "var" / namespace / "logs" / "dolphin-node.jsonl"
    wait_for_event(log_file, "trading", proc, timeout_s=60)
    return proc, path, log_file


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=40)


def status(config: Path) -> dict:
    done = ctl("status", "--config", str(config), "--json")
    return json.loads(done.stdout)


def wait_status(config: Path, check, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        current = status(config)
        if check(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"status never matched: {json.dumps(current, indent=1)[:4000]}")
        time.sleep(0.5)


def write_targets(state_dir: Path, namespace: str, targets: dict) -> None:
    folder = state_dir / namespace / "live_state"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{namespace}.signals.json.tmp"
    tmp.write_text(json.dumps(targets))
    tmp.replace(folder / f"{namespace}.signals.json")


def log_events(log_file: Path) -> list[dict]:
    return [json.loads(line) for line in log_file.read_text().splitlines()]


@pytest.mark.slow
def test_trade_is_visible_in_log_and_status_and_flatten_goes_through_the_node(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory(api_key=API_KEY, api_secret=API_SECRET, symbols=["BTC-USDT"])
    proc, config, log_file = start_node(tmp_path, emulator, "ops", source="hazelcast")
    try:
        # The warm-up klines are fetched at subscription, beside the trader's start, not before it: wait for the
        # status to show the warm-up bar (signals trade at once then), as an operator would.
        first = wait_status(config, lambda s: s["market_data"][BTC]["last_bar_ts"] is not None)
        assert first["accepts"] == ["reconcile", "flatten"]
        assert first["market_data"][BTC]["last_bar_ts"] is not None  # the warm-up bar: signals trade at once
        write_targets(tmp_path / "var", "ops", {BTC: {"target": 0.8, "ts": 1}})
        held = wait_status(config, lambda s: bool(s["slots"]) and s["slots"][0]["status"] == "OPEN")
        [slot] = held["slots"]
        fill = held["recent"]["fills"][-1]
        assert slot["instrument_id"] == BTC and slot["side"] == "LONG"
        assert Decimal(slot["entry_price"]) == Decimal(fill["price"]) > 0
        mark = Decimal(slot["mark_price"])
        assert Decimal(slot["unrealized_pnl"]) == (mark - Decimal(slot["entry_price"])) * Decimal(slot["quantity"])
        assert [o["event"] for o in held["recent"]["orders"]][:1] == ["SUBMITTED"]
        assert held["signals"]["targets"][BTC]["target"] == 0.8
        assert held["lease"]["held"] is True and held["heartbeat_age_s"] is not None
        assert isinstance(held["anomalies"], dict)  # from the snapshot, not "store held by running node"
        # the human view carries the same
        human = ctl("status", "--config", str(config)).stdout
        assert slot["entry_price"] in human and "unrealized" in human

        done = ctl("flatten", "--config", str(config), "--apply", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        answer = json.loads(done.stdout)
        assert answer["via"] == "node request file"
        [close] = answer["result"]["closes"]
        assert close["instrument_id"] == BTC and close["client_order_id"].startswith("dops-")
        flat = wait_status(config, lambda s: not s["slots"] and s["realized"]["trades"] == 1)
        [closed] = flat["recent"]["closed_trades"]
        assert closed["exit_reason"] == "OPERATOR_FLATTEN"
        assert Decimal(flat["realized"]["realized_pnl"]) == Decimal(closed["realized_pnl"])
        assert all(p.qty == 0 for p in emulator.state.positions.values())  # the venue is flat
    finally:
        code = stop(proc)
    assert code == 0, (tmp_path / "ops.err").read_text()[-2000:]
    events = log_events(log_file)
    trades = [e for e in events if e["component"] == "trades"]
    assert all(e["level"] == "INFO" for e in trades)  # Nautilus's log level is ERROR in this config
    kinds = [e["event"] for e in trades]
    for kind in ("order", "fill", "entry", "exit_leg", "trade_closed"):
        assert kind in kinds, kinds
    [closed_line] = [e for e in trades if e["event"] == "trade_closed"]
    assert closed_line["instrument_id"] == BTC and closed_line["side"] == "LONG" and "pnl" in closed_line
    assert closed_line["trade_id"] == closed["trade_id"]
    stopped = [e for e in events if e["event"] == "stopped"]
    assert stopped and stopped[-1]["exit_code"] == 0


@pytest.mark.slow
def test_reference_model_is_warm_at_start_from_the_venue_klines(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory(
        api_key=API_KEY, api_secret=API_SECRET, symbols=["BTC-USDT"], seed_history_minutes=200
    )
    proc, config, log_file = start_node(
        tmp_path, emulator, "warm", source="reference", reference="fast_bars = 10\nslow_bars = 60"
    )
    try:
        warm = wait_status(config, lambda s: s["warm_up"] is not None and s["warm_up"]["ready"])
        assert warm["warm_up"]["needed_bars"] == 59  # the 60th bar, the first live one, decides
        assert warm["warm_up"]["bars"][BTC] >= 59
        assert not [p for p in warm["problems"] if p.startswith("warming up")]
        # history only warms the model: nothing was ordered on it
        assert warm["recent"]["orders"] == []
    finally:
        assert stop(proc) == 0
    [line] = [e for e in log_events(log_file) if e["event"] == "warm_up"]
    assert line["bars"] == line["wanted"] == 59


@pytest.mark.slow
def test_status_says_the_model_is_warming_up_when_the_venue_has_too_little_history(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory(
        api_key=API_KEY, api_secret=API_SECRET, symbols=["BTC-USDT"], seed_history_minutes=20
    )
    proc, config, _log_file = start_node(
        tmp_path, emulator, "cold", source="reference", reference="fast_bars = 10\nslow_bars = 100"
    )
    try:
        cold = wait_status(config, lambda s: s["warm_up"] is not None and s["warm_up"]["bars"][BTC] > 0)
        assert cold["warm_up"]["ready"] is False and cold["warm_up"]["needed_bars"] == 99
        assert any(p.startswith("warming up: the reference model needs 99 bars") for p in cold["problems"])
        human = ctl("status", "--config", str(config)).stdout
        assert "WARMING UP" in human
    finally:
        assert stop(proc) == 0
