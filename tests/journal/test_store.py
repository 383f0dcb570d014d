from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest

from dolphin_nautilus.domain.facts import FACT_TYPES
from dolphin_nautilus.journal.settings import StoreBusy, StoreConfig
from dolphin_nautilus.journal.store import ClickHouseStore, row_id_from_blob
from tests.journal.factory import make_facts, position_state, row_ids_by_table


def test_row_id_from_blob_matches_fact_row_id():
    import msgspec

    for fact in make_facts(0, 16):
        assert row_id_from_blob(fact.table, msgspec.msgpack.encode(fact)) == fact.row_id


def test_every_family_round_trips_exact_values(store):
    facts = make_facts(0, 16)
    store.insert_facts(facts)
    for table, ids in row_ids_by_table(facts).items():
        assert store.row_ids(table) == ids
    [cap] = store.client.query(
        f"SELECT total, locked, toUnixTimestamp64Nano(ts) FROM `{store.database}`.capital_updates ORDER BY ts LIMIT 1"
    ).result_rows
    assert cap[0] == Decimal("1000.123456789012345678") and cap[1] == Decimal("100.123456789012345678")
    assert cap[2] == facts[4].ts  # nanoseconds survive exactly


def test_same_facts_twice_are_counted_once(store):
    facts = make_facts(0, 64)
    store.insert_facts(facts)
    store.insert_facts(facts)
    for fact_type in FACT_TYPES:
        assert store.count(fact_type.table) == 8
        store.optimize(fact_type.table)
        assert store.count(fact_type.table, final=False) == 8


def test_latest_position_state_per_trade_and_open_filter_after_latest(store):
    store.insert_facts(
        [
            position_state("A", seq=1, quantity=Decimal("2")),
            position_state("A", seq=2, quantity=Decimal("0.5")),
            position_state("B", seq=1, quantity=Decimal("3")),
            position_state("B", seq=2, status="CLOSED", quantity=Decimal("0")),
            position_state("C", seq=5, status="TOMBSTONED", quantity=Decimal("0")),
        ]
    )
    store.insert_facts([position_state("A", seq=1, quantity=Decimal("2"), ts=99)])  # an older record, later
    latest = {r["trade_id"]: r for r in store.latest_position_states()}
    assert {k: (r["seq"], r["status"]) for k, r in latest.items()} == {
        "A": (2, "OPEN"),
        "B": (2, "CLOSED"),
        "C": (5, "TOMBSTONED"),
    }
    assert latest["A"]["quantity"] == Decimal("0.5")
    assert [r["trade_id"] for r in store.open_position_states()] == ["A"]  # B's older OPEN row never returns
    assert [r["trade_id"] for r in store.latest_position_states(["B", "nope"])] == ["B"]
    assert store.latest_position_states([]) == []
    assert store.count("position_state_latest") == 3


def test_recent_anomalies_newest_first(store):
    facts = make_facts(0, 64)
    store.insert_facts(facts)
    anomalies = store.recent_anomalies(3)
    assert [a["message"] for a in anomalies] == ["anomaly 63", "anomaly 55", "anomaly 47"]


def test_foreign_namespace_rows_are_reported(store):
    store.insert_facts(make_facts(0, 8))
    assert store.foreign_namespace_rows() == []
    store.client.command(
        f"INSERT INTO `{store.database}`.fills (namespace, row_id, ts__ns, trade_id) VALUES ('pink', 42, 1, 'X')"
    )
    [row] = store.foreign_namespace_rows()
    assert row["table"] == "fills" and row["namespace"] == "pink" and row["row_id"] == 42


def test_count_rejects_unknown_table(store):
    with pytest.raises(ValueError, match="unknown table"):
        store.count("system.tables")


def test_second_process_on_same_chdb_path_gets_store_busy(tmp_path):
    path = str(tmp_path / "busy")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys
            from dolphin_nautilus.journal.store import ClickHouseStore, StoreConfig
            store = ClickHouseStore(StoreConfig(namespace="blue", chdb_path={path!r}))  # held until stdin closes
            print("ready", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(f"""
            from dolphin_nautilus.journal.store import ClickHouseStore, StoreBusy, StoreConfig
            try:
                ClickHouseStore(StoreConfig(namespace="blue", chdb_path={path!r}))
            except StoreBusy as exc:
                print("BUSY", exc)
        """),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.stdout.startswith("BUSY chDB path ") and path in probe.stdout, probe.stdout + probe.stderr
        assert f"{holder.pid}" in probe.stdout  # names the holder (chDB writes its PID in the status file)
    finally:
        holder.stdin.close()
        holder.wait(30)


def test_store_busy_is_a_store_error():
    from dolphin_nautilus.journal.settings import StoreError

    assert issubclass(StoreBusy, StoreError)
    with pytest.raises(Exception, match="chdb_path"):
        ClickHouseStore(StoreConfig(namespace="blue", chdb_path=""))
