"""dolphin-ctl against real stores: faults, mode-verify (collisions, foreign rows), status on a held store."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.domain.facts import Anomaly
from dolphin_nautilus.journal.settings import StoreConfig
from dolphin_nautilus.journal.store import ClickHouseStore, encode_rows
from dolphin_nautilus.ops.ctl_common import EXIT_ATTENTION, EXIT_OK, EXIT_STORE
from tests.node.conftest import API_KEY, API_SECRET, ctl, write_config


def chdb_store(state_dir, namespace: str) -> ClickHouseStore:
    return ClickHouseStore(StoreConfig(namespace=namespace, chdb_path=str(state_dir / namespace / "clickhouse")))


def anomaly(code: str = "RATE_LIMITED") -> Anomaly:
    return Anomaly(
        ts=time.time_ns(),
        origin="test",
        code=code,
        severity="WARNING",
        trade_id="t1",
        instrument_id="BTC-USDT-PERP.BINGX",
        message="m",
        details="{}",
    )


def test_faults_lists_every_code_with_operator_guidance():
    human = ctl("faults")
    assert human.returncode == EXIT_OK
    for code in Code:
        assert f"{code.value} [" in human.stdout
    rows = json.loads(ctl("faults", "--json").stdout)
    assert [r["code"] for r in rows] == [c.value for c in Code]
    assert all(r["operator"] and r["automatic"] and r["meaning"] for r in rows)


def test_mode_verify_passes_isolated_namespaces_and_names_each_collision(tmp_path):
    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    pink = write_config(tmp_path / "pink.toml", namespace="pink", state_dir=tmp_path / "var")
    ok = ctl("mode-verify", "--config", str(blue), "--config", str(pink), "--skip-stores")
    assert ok.returncode == EXIT_OK and "OK: namespaces are isolated" in ok.stdout

    blue_again = write_config(tmp_path / "blue2.toml", namespace="blue", state_dir=tmp_path / "var")
    clash = ctl("mode-verify", "--config", str(blue), "--config", str(blue_again), "--skip-stores", "--json")
    assert clash.returncode == EXIT_ATTENTION
    violations = json.loads(clash.stdout)["violations"]
    for what in ("clickhouse database", "hazelcast state map", "trader id", "client order id prefix"):
        assert any(v.startswith(f"{what} collides") for v in violations), (what, violations)

    # "pink" and "pinka": different databases, but dpink... is a prefix of dpinka...: ids would be confused.
    pinka = write_config(tmp_path / "pinka.toml", namespace="pinka", state_dir=tmp_path / "var")
    prefix = ctl("mode-verify", "--config", str(pink), "--config", str(pinka), "--skip-stores")
    assert prefix.returncode == EXIT_ATTENTION
    assert "VIOLATION: client order id prefix collides" in prefix.stdout and "dpinka" in prefix.stdout


def test_mode_verify_finds_a_foreign_namespace_row(tmp_path):
    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    store = chdb_store(tmp_path / "var", "blue")
    try:
        store.insert_facts([anomaly()])
    finally:
        store.close()
    clean = ctl("mode-verify", "--config", str(blue))
    assert clean.returncode == EXIT_OK, clean.stdout + clean.stderr
    assert "databases checked: dolphin_blue" in clean.stdout

    store = chdb_store(tmp_path / "var", "blue")
    try:
        intruder = anomaly("ORDER_REJECTED")
        store.insert_rows("anomalies", encode_rows("pink", [(intruder.row_id, intruder)]))
    finally:
        store.close()
    found = ctl("mode-verify", "--config", str(blue))
    assert found.returncode == EXIT_ATTENTION
    assert (
        f"foreign namespace row in dolphin_blue.anomalies: namespace 'pink' (row_id {intruder.row_id})" in found.stdout
    )


HOLDER = """
import sys, time
from dolphin_nautilus.journal.store import ClickHouseStore, StoreConfig
store = ClickHouseStore(StoreConfig(namespace="blue", chdb_path=sys.argv[1]))
print("ready", flush=True)
time.sleep(600)  # held until the test kills it: three dolphin-ctl runs can take over 60 s on a loaded box
"""


def test_status_on_a_store_held_by_a_running_process_says_so_plainly(tmp_path):
    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    path = tmp_path / "var" / "blue" / "clickhouse"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        status = ctl("status", "--config", str(blue))
        history = ctl("history-clean", "--config", str(blue))
        verify = ctl("mode-verify", "--config", str(blue))
    finally:
        holder.kill()
        holder.wait()
    expected = f"the store at {path} is held by running node"
    assert expected in status.stdout and "run this against a ClickHouse server, or stop the node" in status.stdout
    assert status.returncode == EXIT_STORE  # no node of ours runs, so the held store is a real problem
    assert "no running node found" in status.stdout
    assert verify.returncode == EXIT_STORE and expected in verify.stdout
    assert history.returncode != EXIT_OK and "Traceback" not in history.stderr
    for result in (status, verify, history):
        assert API_KEY not in result.stdout + result.stderr and API_SECRET not in result.stdout + result.stderr


def test_status_reads_anomalies_by_code_from_a_free_store(tmp_path):
    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    store = chdb_store(tmp_path / "var", "blue")
    try:
        store.insert_facts([anomaly("RATE_LIMITED"), anomaly("RATE_LIMIT_PERSISTENT")])
    finally:
        store.close()
    status = ctl("status", "--config", str(blue), "--json")
    report = json.loads(status.stdout)
    assert report["anomalies"] == {"RATE_LIMITED": 1, "RATE_LIMIT_PERSISTENT": 1}
    assert report["open_slots"] == [] and report["lease_holder"] is None
    assert (
        status.returncode == EXIT_ATTENTION
        and "no running node found for this namespace on this host" in report["problems"]
    )


def test_restart_without_a_node_or_supervisor_says_what_to_do(tmp_path):
    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    env = {"PATH": "/nonexistent", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dolphin_nautilus.ops.cli", "restart", "--config", str(blue)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 4
    assert (
        "neither supervisorctl nor systemctl is available" in result.stderr and "dolphin-node --config" in result.stderr
    )


def test_operator_doc_carries_the_guidance_of_every_code():
    from pathlib import Path

    from dolphin_nautilus.domain.diagnostics import guidance_table

    doc = (Path(__file__).resolve().parents[2] / "docs" / "operator.md").read_text()
    for row in guidance_table():
        assert f"### `{row['code']}` ({row['severity']})" in doc
        assert f"- **You:** {row['operator']}" in doc and f"- **The system:** {row['automatic']}" in doc


def test_history_clean_lists_rejected_history_dry_run_first_then_tombstones_without_deleting(tmp_path, bingx_emulator):
    from decimal import Decimal

    from dolphin_nautilus.domain.facts import PositionState

    # The dust rule is judged with the venue's own contract specs, as restore judges it.
    blue = write_config(
        tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var", rest_url=bingx_emulator.rest_url
    )
    now = time.time_ns()
    bad = PositionState(
        ts=now,
        origin="test",
        trade_id="t-bad",
        instrument_id="BTC-USDT-PERP.BINGX",
        side="LONG",
        status="OPEN",
        quantity=Decimal("0.01"),
        notional=Decimal("-5"),
        entry_price=Decimal("60000"),
        bars_held=3,
        realized_pnl=Decimal(0),
        fees=Decimal(0),
        legs=0,
        seq=1,
        opened_ts=now,
        order_seq=1,
    )
    store = chdb_store(tmp_path / "var", "blue")
    try:
        store.insert_facts([bad])
    finally:
        store.close()
    dry = ctl("history-clean", "--config", str(blue), "--json")
    assert dry.returncode == EXIT_ATTENTION, dry.stderr
    report = json.loads(dry.stdout)
    assert [t["trade_id"] for t in report["rejected"]] == ["t-bad"] and report["tombstones"]["written"] == 0
    applied = ctl("history-clean", "--config", str(blue), "--apply", "--json")
    assert applied.returncode == EXIT_OK, applied.stderr
    assert json.loads(applied.stdout)["tombstones"]["written"] == 1
    store = chdb_store(tmp_path / "var", "blue")
    try:
        statuses = sorted(
            r["status"]
            for r in store._dicts(  # noqa: SLF001 - every row, not only the latest
                "SELECT status FROM dolphin_blue.position_state FINAL WHERE trade_id = 't-bad'"
            )
        )
    finally:
        store.close()
    assert statuses == ["OPEN", "TOMBSTONED"]  # the bad row is still there: nothing deleted


MAKE_JOURNAL = """
import sys
from dolphin_nautilus.journal.store import ClickHouseStore, StoreConfig
ClickHouseStore(StoreConfig(namespace=sys.argv[2], chdb_path=sys.argv[1])).close()
"""


def test_mode_verify_checks_each_namespace_on_the_live_cluster(tmp_path, hazelcast_member):
    """Two namespaces on one real cluster: each one's lease and heartbeat come from its own nodes, and
    mode-verify lists the cluster's maps. Then a pink node holding blue's lease is named as a violation."""
    from dolphin_nautilus.config import load_config
    from dolphin_nautilus.node.stores import node_id_for, open_live_state

    blue = write_config(
        tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var", hazelcast=hazelcast_member
    )
    pink = write_config(
        tmp_path / "pink.toml", namespace="pink", state_dir=tmp_path / "var", hazelcast=hazelcast_member
    )
    blue_config, pink_config = load_config(blue), load_config(pink)
    for ns in ("blue", "pink"):  # each namespace's journal exists (a child each: one chDB path per process)
        subprocess.run(
            [sys.executable, "-c", MAKE_JOURNAL, str(tmp_path / "var" / ns / "clickhouse"), ns], check=True, timeout=120
        )
    stores = {}
    try:
        for config in (blue_config, pink_config):
            store = stores[config.node.namespace] = open_live_state(config, tmp_path / "var")
            assert store.acquire_lease(node_id_for(config), ttl_s=60)
            store.put("heartbeat", {"node_id": node_id_for(config), "ts": time.time_ns()})
        ok = ctl("mode-verify", "--config", str(blue), "--config", str(pink), "--json")
        report = json.loads(ok.stdout)
        assert ok.returncode == EXIT_OK, ok.stdout + ok.stderr
        assert report["violations"] == [] and report["unchecked"] == []
        where = f"{hazelcast_member.cluster_name}@{hazelcast_member.address}"
        assert f"{where}/DOLPHIN_STATE_BLUE" in report["databases_checked"]
        assert f"{where}/DOLPHIN_STATE_PINK" in report["databases_checked"]
        assert report["cluster_maps"][where] == [
            "DOLPHIN_LEASE_BLUE",
            "DOLPHIN_LEASE_PINK",
            "DOLPHIN_STATE_BLUE",
            "DOLPHIN_STATE_PINK",
        ]

        # A misconfigured pink node opened blue's maps and took blue's lease.
        stores["blue"].release_lease(node_id_for(blue_config))
        intruder = open_live_state(blue_config, tmp_path / "var")
        stores["intruder"] = intruder
        assert intruder.acquire_lease(node_id_for(pink_config), ttl_s=60)
        bad = ctl("mode-verify", "--config", str(blue), "--config", str(pink))
        assert bad.returncode == EXIT_ATTENTION
        assert (
            f"VIOLATION: lease of DOLPHIN_LEASE_BLUE is held by '{node_id_for(pink_config)}', not by a node of 'blue'"
        ) in bad.stdout
    finally:
        for store in stores.values():
            store.close()


def test_mode_verify_reports_an_unreachable_cluster_as_not_checked(tmp_path):
    from tests.support.hazelcast_cluster import free_ports

    class Gone:  # a cluster config pointing at a port no member listens on
        cluster_name = "nobody-listens"
        addresses = (f"127.0.0.1:{free_ports(1)[0]}",)

    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var", hazelcast=Gone)
    result = ctl("mode-verify", "--config", str(blue), timeout=90)
    assert result.returncode == EXIT_STORE, result.stdout + result.stderr
    assert "NOT CHECKED" in result.stdout and "unreadable: StateUnavailable" in result.stdout


def test_history_clean_takes_specs_from_the_venue_and_skips_an_instrument_it_does_not_list(tmp_path, bingx_emulator):
    import msgspec

    from dolphin_nautilus.config import load_config
    from dolphin_nautilus.ops.ctl_recovery import _cleanup_specs

    path = write_config(
        tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var", rest_url=bingx_emulator.rest_url
    )
    config = load_config(path)
    config = msgspec.structs.replace(
        config,
        strategy=msgspec.structs.replace(config.strategy, instruments=["BTC-USDT-PERP.BINGX", "NOPE-USDT-PERP.BINGX"]),
    )
    specs = _cleanup_specs(config)
    assert list(specs) == ["BTC-USDT-PERP.BINGX"] and specs["BTC-USDT-PERP.BINGX"].min_quantity > 0


def test_output_piped_into_a_reader_that_goes_away_ends_quietly():
    # The reader closes before dolphin-ctl writes (as `| head` does once it has its lines): no traceback.
    proc = subprocess.Popen(
        [sys.executable, "-m", "dolphin_nautilus.ops.cli", "faults"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()
    assert proc.returncode == EXIT_OK


def test_json_failures_are_json_too_history_clean_on_a_held_store(tmp_path):
    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    path = tmp_path / "var" / "blue" / "clickhouse"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        history = ctl("history-clean", "--config", str(blue), "--json")
    finally:
        holder.kill()
        holder.wait()
    answer = json.loads(history.stdout)
    assert history.returncode == EXIT_STORE and answer["ok"] is False and answer["exit_code"] == EXIT_STORE
    assert f"the store at {path} is held by running node" in answer["error"]


def fake_supervisor(tmp_path, name: str, script: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(0o755)
    return {"PATH": str(bin_dir), "HOME": str(tmp_path)}


def test_restart_hard_reports_a_failed_supervisor_as_a_failure(tmp_path):
    from dolphin_nautilus.ops.ctl_common import EXIT_FAILED

    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    env = fake_supervisor(tmp_path, "systemctl", 'echo "Unit dolphin-node@vst.service not found." >&2; exit 5')
    cmd = [sys.executable, "-m", "dolphin_nautilus.ops.cli", "restart", "--config", str(blue), "--hard"]
    human = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert human.returncode == EXIT_FAILED
    assert "RESTART FAILED" in human.stderr and "exited 5" in human.stderr and "not found" in human.stderr
    assert "restarted through" not in human.stdout + human.stderr
    as_json = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=env, timeout=60)
    answer = json.loads(as_json.stdout)
    assert as_json.returncode == EXIT_FAILED and answer["ok"] is False and answer["returncode"] == 5
    assert answer["command"] == ["systemctl", "restart", "dolphin-node@vst.service"]

    ok_env = fake_supervisor(tmp_path / "ok", "supervisorctl", 'echo "dolphin-vst: started"')
    ok = subprocess.run(cmd, capture_output=True, text=True, env=ok_env, timeout=60)
    assert ok.returncode == EXIT_OK and "restarted through supervisorctl" in ok.stdout


def test_restart_asks_a_running_node_in_the_callers_name(tmp_path):
    import getpass
    import os
    import socket

    from dolphin_nautilus.state.node_files import REQUEST_FILE, STATUS_FILE, write_json

    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    state_dir = tmp_path / "var" / "blue"
    # A live process stands in for the node's pid; the node id is what the old code wrongly signed with.
    write_json(
        state_dir / STATUS_FILE, {"node_id": "DOLPHINBLUE-001@nodehost-1", "pid": os.getpid(), "trader_running": True}
    )
    done = ctl("restart", "--config", str(blue), "--json")
    assert done.returncode == EXIT_OK, done.stderr
    request = json.loads((state_dir / REQUEST_FILE).read_text())
    assert request["requested_by"].startswith(f"{getpass.getuser()}@{socket.gethostname()} pid ")
    assert "DOLPHINBLUE" not in request["requested_by"]
    assert json.loads(done.stdout)["request"] == request


def test_restore_report_prints_the_last_report_as_text_and_json(tmp_path):
    from dolphin_nautilus.restore.outcome import REPORT_JSON, REPORT_TEXT

    blue = write_config(tmp_path / "blue.toml", namespace="blue", state_dir=tmp_path / "var")
    missing = ctl("restore-report", "--config", str(blue), "--json")
    assert missing.returncode == EXIT_ATTENTION and "no restore report" in json.loads(missing.stdout)["error"]
    state_dir = tmp_path / "var" / "blue"
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / REPORT_TEXT).write_text("RESTORE OK: 1 slot(s) restored\nRestored:\n  t1 BTC-USDT-PERP.BINGX\n")
    (state_dir / REPORT_JSON).write_text(json.dumps({"safe_mode": [], "slots": [{"trade_id": "t1"}]}))
    human = ctl("restore-report", "--config", str(blue))
    assert human.returncode == EXIT_OK and "RESTORE OK: 1 slot(s) restored" in human.stdout
    data = json.loads(ctl("restore-report", "--config", str(blue), "--json").stdout)
    assert data["report"]["slots"] == [{"trade_id": "t1"}] and data["text"].startswith("RESTORE OK")
