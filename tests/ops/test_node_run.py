"""A real `dolphin-node` run against the emulator: an unclaimed venue position is adopted loudly (WARNING
with its code in the JSON log and the report header), and everything the node wrote is owner-only."""

from __future__ import annotations

import json
import os
import signal
from decimal import Decimal

import pytest

from tests.node.conftest import API_KEY, API_SECRET, ctl, node, wait_for_event, write_config
from tests.ops.test_files_stay_home import loose_modes
from tests.ops.test_venue_commands import place


@pytest.mark.slow
def test_node_adopts_an_unclaimed_position_loudly_and_keeps_its_files_owner_only(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory(api_key=API_KEY, api_secret=API_SECRET, symbols=["BTC-USDT"])
    place(emulator, "BTC-USDT", "BUY", "0.01", "other-node-1")  # another deployment's position on our account
    config = write_config(
        tmp_path / "node.toml",
        namespace="adopt",
        state_dir=tmp_path / "var",
        rest_url=emulator.rest_url,
        ws_url=emulator.ws_market_url,
    )
    state_dir = tmp_path / "var" / "adopt"
    previous = os.umask(0o022)
    try:
        out, err = (tmp_path / "stdout.log").open("w"), (tmp_path / "stderr.log").open("w")
        proc = node("--config", str(config), "--startup-timeout", "30", stdout=out, stderr=err)
    finally:
        os.umask(previous)
    try:
        log_file = state_dir / "logs" / "dolphin-node.jsonl"
        wait_for_event(log_file, "trading", proc, timeout_s=60)
        report = ctl("restore-report", "--config", str(config), "--json")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        out.close()
        err.close()
    assert code == 0, (tmp_path / "stderr.log").read_text()[-2000:]
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    [adopted] = [e for e in lines if e.get("code") == "RESTORE_VENUE_UNCLAIMED"]
    assert adopted["level"] == "WARNING" and adopted["instrument_id"] == "BTC-USDT-PERP.BINGX"
    text = json.loads(report.stdout)["text"]
    assert text.splitlines()[0].startswith(
        "RESTORE FLAT + VENUE POSITIONS NOBODY CLAIMED: WARNING "
        "RESTORE_VENUE_UNCLAIMED: 1 unclaimed venue position(s) taken over"
    )
    held = json.loads(report.stdout)["report"]["slots"]
    assert [(s["instrument_id"], Decimal(s["quantity"]), s["source"]) for s in held] == [
        ("BTC-USDT-PERP.BINGX", Decimal("0.01"), "venue")
    ]
    assert loose_modes(state_dir) == []
