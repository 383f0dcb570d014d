"""`dolphin-node` as a subprocess: BingX emulator + a real Hazelcast member + chDB, start to SIGTERM."""

from __future__ import annotations

import json
import signal
import time
from decimal import Decimal

import pytest

from dolphin_nautilus.bingx_emulator.model import PublicTrade
from dolphin_nautilus.config import load_config
from dolphin_nautilus.node.signal_map import signals_map_name
from dolphin_nautilus.node.stores import open_node_stores

from .conftest import API_KEY, API_SECRET, ctl, files_containing, node, wait_for_event, write_config

SYMBOL = "BTC-USDT"
BTC = "BTC-USDT-PERP.BINGX"


def close_a_bar(emulator, minute: int) -> None:
    """Print a public trade `minute` minutes ahead: its kline opens a new bucket, which closes the previous
    one, so the node gets a closed 1-minute bar now instead of at the next wall-clock minute."""

    def print_trade(engine) -> None:
        contract = engine.contract(SYMBOL)
        trade = PublicTrade(contract.price, Decimal("0.01"), int(time.time() * 1000) + minute * 60_000, False)
        engine.public_trades[SYMBOL].append(trade)
        for sink in engine.trade_sinks:
            sink(SYMBOL, trade)

    emulator.call(print_trade)


def our_venue_orders(emulator, prefix: str) -> list:
    return [o for o in emulator.state.orders.values() if o.client_order_id.startswith(prefix)]


@pytest.mark.slow
def test_node_trades_against_the_emulator_and_stops_cleanly_on_sigterm(
    bingx_emulator_factory, hazelcast_member, tmp_path
):
    emulator = bingx_emulator_factory(api_key=API_KEY, api_secret=API_SECRET, symbols=[SYMBOL])
    state_root = tmp_path / "var"
    config = write_config(
        tmp_path / "node.toml",
        namespace="tst",
        state_dir=state_root,
        rest_url=emulator.rest_url,
        ws_url=emulator.ws_market_url,
        hazelcast=hazelcast_member,
    )
    state_dir = state_root / "tst"
    out, err = (tmp_path / "stdout.log").open("w"), (tmp_path / "stderr.log").open("w")
    proc = node("--config", str(config), "--startup-timeout", "30", stdout=out, stderr=err)
    client = hazelcast_member.client()
    try:
        wait_for_event(state_dir / "logs" / "dolphin-node.jsonl", "trading", proc, timeout_s=40)

        # status while the node runs: lease and heartbeat from Hazelcast; anomalies, slots and the rest from the
        # node's own snapshot, so the chDB store the node holds is not needed.
        time.sleep(1.5)
        status = ctl("status", "--config", str(config), "--json")
        report = json.loads(status.stdout)
        assert report["node"]["running"] and report["lease_holder"].startswith("DOLPHINTST-001@")
        assert report["heartbeat_age_s"] is not None and report["heartbeat_age_s"] < 10
        assert isinstance(report["anomalies"], dict) and report["slots"] == []
        assert report["lease"]["held"] is True and "flatten" in report["accepts"]

        # A closed bar, then a target from the signal map: the strategy enters; the order reaches the venue.
        signals = client.get_map(signals_map_name("tst")).blocking()
        deadline, minute = time.monotonic() + 25, 1
        while not our_venue_orders(emulator, "dtst") and time.monotonic() < deadline:
            close_a_bar(emulator, minute)
            time.sleep(0.3)
            signals.put(BTC, json.dumps({"target": 1.0, "strength": 1.0, "ts": minute}))
            minute += 1
            time.sleep(0.7)
        orders = our_venue_orders(emulator, "dtst")
        assert orders, "no order from the node reached the emulator"
        assert orders[0].side == "BUY" and orders[0].reduce_only is False
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        client.shutdown()
        out.close()
        err.close()
    assert code == 0, (tmp_path / "stderr.log").read_text()[-2000:]
    events = [json.loads(line) for line in (state_dir / "logs" / "dolphin-node.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events][-2:] == ["stopping", "stopped"]

    # Read through the store service, as dolphin-ctl does: chDB allows one data path per process, and the
    # pytest process may already hold another test's.
    stores = open_node_stores(load_config(config), state_dir)
    try:
        assert stores.clickhouse.count("orders") >= 2  # submitted + accepted/filled lifecycle rows
        assert stores.clickhouse.count("trade_entries") >= 1
        assert stores.clickhouse.count("fills") >= 1
    finally:
        stores.close()

    # The key and the secret appear nowhere: node stdout/stderr, our JSON log, Nautilus' log, any state file.
    assert files_containing(tmp_path, API_KEY, API_SECRET) == []
    assert API_KEY not in status.stdout + status.stderr and API_SECRET not in status.stdout + status.stderr
