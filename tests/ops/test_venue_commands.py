"""`dolphin-ctl positions | orders | flatten` against the BingX emulator (loopback) and a real live-state file."""

from __future__ import annotations

import json
import os
from decimal import Decimal

from dolphin_nautilus.bingx_emulator.model import OrderRequest
from dolphin_nautilus.ops.ctl_common import EXIT_ATTENTION, EXIT_OK
from dolphin_nautilus.state.local import LocalStateStore
from dolphin_nautilus.state.node_files import FLATTEN_REQUEST_FILE, STATUS_FILE, write_json
from tests.node.conftest import API_KEY, API_SECRET, ctl

BTC, ETH = "BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"


def place(
    emulator,
    symbol: str,
    side: str,
    qty: str,
    client_order_id: str,
    *,
    limit: Decimal | None = None,
    reduce_only: bool = False,
) -> None:
    request = OrderRequest(
        symbol=symbol,
        side=side,
        position_side="BOTH",
        type="LIMIT" if limit else "MARKET",
        quantity=Decimal(qty),
        price=limit,
        stop_price=None,
        time_in_force="GTC",
        reduce_only=reduce_only,
        client_order_id=client_order_id,
    )
    emulator.call(lambda engine: engine.place(request))


def venue_positions(emulator) -> dict[str, Decimal]:
    return {p.symbol: p.qty for p in emulator.state.positions.values() if p.qty != 0}


def setup_venue_and_book(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory(api_key=API_KEY, api_secret=API_SECRET, symbols=["BTC-USDT", "ETH-USDT"])
    config = tmp_path / "blue.toml"
    config.write_text(f"""
[node]
environment = "vst"
namespace = "blue"
state_dir = "{tmp_path / "var"}"
[strategy]
instruments = ["{BTC}", "{ETH}"]
[bingx]
rest_url = "{emulator.rest_url}"
ws_market_url = "{emulator.ws_market_url}"
""")
    place(emulator, "BTC-USDT", "BUY", "0.01", "dblue-t1-e1")  # ours, and the book holds it
    place(emulator, "ETH-USDT", "SELL", "0.1", "manual-1")  # someone else's: no slot owns it
    eth = emulator.price("ETH-USDT")
    place(emulator, "ETH-USDT", "BUY", "0.1", "manual-2", limit=(eth * Decimal("0.5")).quantize(Decimal("0.01")))
    btc = emulator.price("BTC-USDT")
    place(
        emulator, "BTC-USDT", "SELL", "0.01", "dblue-t1-x2", limit=(btc * 2).quantize(Decimal("0.1")), reduce_only=True
    )
    live = LocalStateStore(tmp_path / "var" / "blue" / "live_state", "blue")
    try:
        assert live.acquire_lease("test-writer", 30.0)
        live.put(
            "t1",
            {
                "trade_id": "t1",
                "instrument_id": BTC,
                "side": "LONG",
                "status": "OPEN",
                "quantity": "0.01",
                "entry_price": str(btc),
                "bars_held": 3,
            },
        )
        live.release_lease("test-writer")
    finally:
        live.close()
    return emulator, config


def test_positions_and_orders_put_venue_and_book_side_by_side_with_differences_marked(bingx_emulator_factory, tmp_path):
    _, config = setup_venue_and_book(bingx_emulator_factory, tmp_path)

    positions = ctl("positions", "--config", str(config), "--json")
    assert positions.returncode == EXIT_ATTENTION, positions.stderr
    rows = {r["instrument_id"]: r for r in json.loads(positions.stdout)["positions"]}
    assert Decimal(rows[BTC]["venue"]) == Decimal("0.01") and Decimal(rows[BTC]["book"]) == Decimal("0.01")
    assert rows[BTC]["diff"] == "" and rows[BTC]["trade_ids"] == ["t1"]
    assert Decimal(rows[ETH]["venue"]) == Decimal("-0.1") and rows[ETH]["diff"].startswith("VENUE ONLY")
    human = ctl("positions", "--config", str(config))
    assert "VENUE ONLY" in human.stdout and "1 difference(s)" in human.stdout

    orders = ctl("orders", "--config", str(config), "--json")
    assert orders.returncode == EXIT_ATTENTION, orders.stderr
    by_id = {r["client_order_id"]: r for r in json.loads(orders.stdout)["orders"]}
    assert set(by_id) == {"manual-2", "dblue-t1-x2"}
    assert by_id["dblue-t1-x2"]["ours"] and by_id["dblue-t1-x2"]["diff"] == ""
    assert not by_id["manual-2"]["ours"] and by_id["manual-2"]["diff"].startswith("FOREIGN")
    for result in (positions, human, orders):
        assert API_KEY not in result.stdout + result.stderr and API_SECRET not in result.stdout + result.stderr


def test_flatten_is_a_dry_run_first_then_closes_reduce_only_through_the_adapter(bingx_emulator_factory, tmp_path):
    emulator, config = setup_venue_and_book(bingx_emulator_factory, tmp_path)
    before = venue_positions(emulator)

    dry = ctl("flatten", "--config", str(config), "--json")
    assert dry.returncode == EXIT_OK, dry.stderr
    plan = {c["instrument_id"]: c for c in json.loads(dry.stdout)["closes"]}
    assert plan[BTC]["side"] == "SELL" and Decimal(plan[BTC]["quantity"]) == Decimal("0.01")
    assert plan[ETH]["side"] == "BUY" and Decimal(plan[ETH]["quantity"]) == Decimal("0.1")
    assert not any(c["sent"] for c in plan.values())
    assert venue_positions(emulator) == before  # a dry run sends nothing

    applied = ctl("flatten", "--config", str(config), "--instrument", ETH, "--apply", "--json")
    assert applied.returncode == EXIT_OK, applied.stdout + applied.stderr
    [close] = json.loads(applied.stdout)["closes"]
    assert close["sent"] and close["outcome"].startswith("accepted order")
    after = venue_positions(emulator)
    assert "ETH-USDT" not in after and after.get("BTC-USDT") == before["BTC-USDT"]
    sent = [o for o in emulator.state.orders.values() if o.client_order_id == close["client_order_id"]]
    assert len(sent) == 1 and sent[0].reduce_only and sent[0].type == "MARKET" and sent[0].side == "BUY"


def test_flatten_with_a_running_node_writes_the_request_for_it_and_says_what_is_missing(
    bingx_emulator_factory, tmp_path
):
    emulator, config = setup_venue_and_book(bingx_emulator_factory, tmp_path)
    state_dir = tmp_path / "var" / "blue"
    write_json(state_dir / STATUS_FILE, {"node_id": "DOLPHINBLUE-001@h", "pid": os.getpid(), "trader_running": True})
    before = venue_positions(emulator)
    result = ctl("flatten", "--config", str(config), "--instrument", BTC, "--apply")
    request = json.loads((state_dir / FLATTEN_REQUEST_FILE).read_text())
    assert request["instruments"] == [BTC] and request["closes"][0]["side"] == "SELL"
    assert "pid" in request["requested_by"]
    assert venue_positions(emulator) == before  # the node sends it, not dolphin-ctl behind its back
    # This node's status does not list "flatten" in `accepts`: the operator is told, and the exit says so.
    assert result.returncode == EXIT_ATTENTION and "does not say it takes flatten requests" in result.stdout
