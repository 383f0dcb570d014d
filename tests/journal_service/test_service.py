"""The store service end to end: a real child process with chDB, the Journal and the live-state sink."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import msgspec
import pytest

from dolphin_nautilus.config import HazelcastSection, JournalSection
from dolphin_nautilus.domain.facts import FACT_TYPE_BY_TABLE
from dolphin_nautilus.journal.settings import JournalStatus, StoreBusy
from dolphin_nautilus.node.stores import open_live_state, open_node_stores
from dolphin_nautilus.state import LeaseHeld
from dolphin_nautilus.stores import wire
from dolphin_nautilus.stores.remote import RemoteJournal, RemoteJournalStatus, RemoteLiveState, RemoteStoreReader
from tests.journal.factory import make_facts, position_state, row_ids_by_table
from tests.journal_service.conftest import node_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = tuple(FACT_TYPE_BY_TABLE)


def stored_row_ids(reader: RemoteStoreReader) -> dict[str, set[int]]:
    return {table: reader.row_ids(table) for table in TABLES}


def expected_open_trades(facts) -> set[str]:
    latest = {}
    for fact in facts:
        if fact.table == "position_state" and fact.seq >= latest.get(fact.trade_id, (-1, ""))[0]:
            latest[fact.trade_id] = (fact.seq, fact.status)
    return {trade for trade, (_, status) in latest.items() if status == "OPEN"}


def test_facts_round_trip_into_chdb_through_the_service(config, state_dir):
    stores = open_node_stores(config, state_dir)
    try:
        assert isinstance(stores.journal, RemoteJournal) and isinstance(stores.clickhouse, RemoteStoreReader)
        assert isinstance(stores.live_state, RemoteLiveState)
        info = stores.journal.service.call(wire.ServiceInfoRequest())
        assert info.pid != os.getpid() and info.nautilus_loaded is False
        facts = make_facts(0, 6000)
        for fact in facts:
            stores.journal.append(fact)
        assert stores.journal.flush(60)
        status = stores.journal.status()
        assert (status.appended, status.accepted, status.written, status.unacked) == (6000, 6000, 6000, 0)
        assert stored_row_ids(stores.clickhouse) == row_ids_by_table(facts)
        # The live-state sink ran in the child, which holds the lease and writes the heartbeat.
        entries = stores.live_state.entries()
        assert set(entries) - {"account", "heartbeat"} == expected_open_trades(facts)
        assert entries["heartbeat"]["node_id"] == stores.node_id
        assert stores.live_state.lease_holder() == stores.node_id
        lease = stores.lease_status()
        assert lease.held and lease.holder_id == stores.node_id and lease.last_error == ""
        assert not [t for t in threading.enumerate() if t.name.startswith("lease")]  # no renewer in the parent
    finally:
        stores.close()
    assert open_live_state(config, state_dir).lease_holder() is None  # the service gave it back on close


def test_reader_rpcs_answer_like_the_store(config, state_dir):
    stores = open_node_stores(config, state_dir)
    try:
        facts = [*make_facts(0, 800), position_state("ZZZ", seq=1), position_state("ZZZ", seq=2, status="CLOSED")]
        for fact in facts:
            stores.journal.append(fact)
        assert stores.journal.flush(60)
        reader = stores.clickhouse
        assert reader.ping() is True
        assert {row["trade_id"] for row in reader.open_position_states()} == expected_open_trades(facts)
        latest = reader.latest_position_states(["ZZZ"])
        assert [(row["trade_id"], row["seq"], row["status"]) for row in latest] == [("ZZZ", 2, "CLOSED")]
        assert reader.latest_position_states([]) == []
        anomalies = reader.recent_anomalies(limit=5)
        assert len(anomalies) == 5 and all(row["code"] == "TEST" for row in anomalies)
        assert reader.count("fills") == sum(1 for f in facts if f.table == "fills")
        assert reader.foreign_namespace_rows() == []
        with pytest.raises(ValueError, match="unknown table 'nope'"):
            reader.count("nope")
        with pytest.raises(wire.BadRequest, match="unknown or malformed request"):  # only the listed requests run
            reader.service.call_raw(msgspec.msgpack.encode({"type": "optimize", "table": "fills"}))
        with pytest.raises(ValueError, match="only SELECT"):
            reader.query("DROP TABLE fills")
        assert reader.query("SELECT 1 AS one").result_rows == [(1,)]
    finally:
        stores.close()
    # The service wrote a last open-set checkpoint at close: restore reads it.
    stores = open_node_stores(config, state_dir)
    try:
        checkpoint = (
            f"SELECT open_trade_ids FROM `dolphin_{config.node.namespace}`.position_state_open_checkpoint "
            "ORDER BY as_of_block DESC LIMIT 1"
        )
        [(open_ids,)] = stores.clickhouse.query(checkpoint).result_rows
        assert set(open_ids) == expected_open_trades(facts)
    finally:
        stores.close()


def test_kill_minus_nine_of_the_service_restarts_it_and_loses_or_doubles_nothing(config, state_dir):
    stores = open_node_stores(msgspec.structs.replace(config, journal=JournalSection(batch_size=500)), state_dir)
    try:
        journal = stores.journal
        facts = make_facts(0, 12_000)
        first_pid = journal.service.pid
        for fact in facts[:4000]:
            journal.append(fact)
        assert journal.sync(60)
        for fact in facts[4000:8000]:  # 8 batches of 500: some acked, the rest in flight
            journal.append(fact)
        while journal.accepted == 4000:
            time.sleep(0.001)
        os.kill(first_pid, signal.SIGKILL)
        for fact in facts[8000:]:
            journal.append(fact)
        assert journal.flush(120)
        status = journal.status()
        assert status.restarts == 1 and status.service_pid != first_pid
        assert (status.accepted, status.unacked) == (len(facts), 0)
        assert stored_row_ids(stores.clickhouse) == row_ids_by_table(facts)  # nothing lost, nothing foreign
        for table, ids in row_ids_by_table(facts).items():
            assert stores.clickhouse.count(table) == len(ids)  # each row_id once
        assert set(stores.live_state.entries()) - {"account", "heartbeat"} == expected_open_trades(facts)
    finally:
        stores.close()


def test_append_does_no_encoding_and_unencodable_objects_are_quarantined_not_lost(config, state_dir):
    stores = open_node_stores(config, state_dir)
    try:

        class NotAFact:
            def __repr__(self) -> str:
                return "NotAFact(price=Price('1.0'))"

        stores.journal.append(NotAFact())  # would raise here if append encoded on the caller's thread
        facts = make_facts(0, 16)
        for fact in facts:
            stores.journal.append(fact)
        assert stores.journal.flush(60)
        assert stored_row_ids(stores.clickhouse) == {t: row_ids_by_table(facts).get(t, set()) for t in TABLES} | {
            "anomalies": stored_row_ids(stores.clickhouse)["anomalies"]
        }
        quarantine = [json.loads(line) for line in (state_dir / "spool" / "quarantine.jsonl").read_text().splitlines()]
        assert len(quarantine) == 1
        assert quarantine[0]["fact"] == "<NotAFact from the trading process: NotAFact(price=Price('1.0'))>"
        assert "not a journal fact (NotAFact)" in quarantine[0]["error"]
        codes = [row["code"] for row in stores.clickhouse.recent_anomalies()]
        assert codes.count("JOURNAL_QUARANTINE") == 1 and codes.count("TEST") == 2
        assert stores.journal.status().quarantined == 1
    finally:
        stores.close()


def test_store_busy_surfaces_with_the_store_message_and_releases_the_lease(config, state_dir, tmp_path):
    first = open_node_stores(config, state_dir)
    try:
        chdb_path = os.path.realpath(state_dir / "clickhouse")
        other = node_config("busy" + config.node.namespace[:8], chdb_path=chdb_path)
        with pytest.raises(StoreBusy, match=rf"^chDB path {re.escape(chdb_path)} is in use by another process \(.+\)$"):
            open_node_stores(other, tmp_path / "other")
        assert open_live_state(other, tmp_path / "other").lease_holder() is None  # the failed open gave its lease back
    finally:
        first.close()


def test_clean_close_writes_everything_and_stops_the_service(config, state_dir):
    stores = open_node_stores(config, state_dir)
    facts = make_facts(0, 12_000)
    for fact in facts:
        stores.journal.append(fact)
    process = stores.journal.service.process
    final = stores.close()  # no flush before: close must send, ack and write everything
    assert process.returncode == 0
    assert open_live_state(config, state_dir).lease_holder() is None
    assert (final.appended, final.accepted, final.written, final.unacked) == (12_000, 12_000, 12_000, 0)
    reopened = open_node_stores(config, state_dir)
    try:
        assert stored_row_ids(reopened.clickhouse) == row_ids_by_table(facts)
        assert reopened.journal.status().replayed == 0  # nothing was left in the WAL
    finally:
        reopened.close()


def _node_child(mode: str, config, state_dir, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.journal_service.node_child",
            mode,
            msgspec.json.encode(config).decode(),
            str(state_dir),
            str(count),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_kill_minus_nine_of_the_trading_process_keeps_every_accepted_fact(config, state_dir):
    node = _node_child("process", config, state_dir, 5000)
    try:
        report = json.loads(node.stdout.readline())
        assert report["synced"] is True and report["chdb_loaded"] is False
    finally:
        node.kill()
        node.wait(30)
    service_pid = report["service_pid"]
    deadline = time.monotonic() + 60
    while os.path.exists(f"/proc/{service_pid}") and time.monotonic() < deadline:
        time.sleep(0.05)  # the orphaned service closes its journal and exits
    assert not os.path.exists(f"/proc/{service_pid}")
    assert open_live_state(config, state_dir).lease_holder() is None  # the orphaned service gave the lease back
    restarted = open_node_stores(config, state_dir, node_id=report["node_id"])  # the same node id retakes its lease
    try:
        stored = stored_row_ids(restarted.clickhouse)
        for table, ids in row_ids_by_table(make_facts(0, 5000)).items():
            assert ids <= stored[table], f"{table}: accepted facts lost"
        for table, ids in row_ids_by_table(make_facts(0, 10_000)).items():
            assert stored[table] <= ids  # nothing that was never appended
    finally:
        restarted.close()


def test_inline_mode_runs_the_whole_stack_in_process(config, state_dir):
    node = _node_child("inline", config, state_dir, 800)
    out, _ = node.communicate(timeout=120)
    assert node.returncode == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert report["chdb_loaded"] is True and report["service_pid"] is None
    assert report["flushed"] is True and report["counts"] == {"trade_entries": 100, "fills": 100, "anomalies": 100}


def test_bad_mode_is_refused_and_remote_status_has_every_journal_field(config, state_dir):
    assert set(JournalStatus.__struct_fields__) <= set(RemoteJournalStatus.__struct_fields__)
    with pytest.raises(ValueError, match="mode must be 'process' or 'inline', got 'thread'"):
        open_node_stores(config, state_dir, mode="thread")


def test_restore_reads_a_legacy_position_state_table_through_the_service(config, state_dir):
    """The restore actor's legacy reader runs its SELECTs through the store surface (`query`), across the pipe;
    Decimals and datetimes come back as the same Python types."""
    from dolphin_nautilus.restore.reading import store_legacy_reader

    stores = open_node_stores(config, state_dir)
    try:
        facts = [
            position_state("AAA", seq=1),
            position_state("ZZZ", seq=1),
            position_state("ZZZ", seq=2, status="CLOSED"),
        ]
        for fact in facts:
            stores.journal.append(fact)
        assert stores.journal.flush(60)
        database = f"dolphin_{config.node.namespace}"
        batch = store_legacy_reader(stores, database, "position_state")(set())
        assert batch.unreachable is None
        assert [(c.trade_id, c.status, c.quantity) for c in batch.candidates] == [("AAA", "OPEN", facts[0].quantity)]
        missing = store_legacy_reader(stores, database, "no_such_table")(set())
        assert missing.unreachable and "not found" in missing.unreachable
    finally:
        stores.close()


def test_a_second_node_of_the_namespace_fails_naming_the_holder(config, state_dir, tmp_path):
    first = open_node_stores(config, state_dir)
    try:
        with pytest.raises(
            LeaseHeld,
            match=rf"namespace '{config.node.namespace}' is held by another node "
            rf"\({re.escape(first.node_id)}\)",
        ):
            open_node_stores(config, state_dir, node_id="someone-else")
        assert first.lease_status().held
    finally:
        first.close()


def test_live_state_writes_from_the_trading_process_go_through_the_service(config, state_dir):
    stores = open_node_stores(config, state_dir)
    try:
        stores.live_state.put("restarts", {"starts": [1, 2]})
        assert stores.live_state.get("restarts") == {"starts": [1, 2]}
        assert stores.live_state.compare_and_set("restarts", {"starts": [1, 2]}, {"starts": [3]}) is True
        assert stores.live_state.compare_and_set("restarts", {"starts": [1, 2]}, None) is False
        stores.live_state.remove("restarts")
        assert stores.live_state.get("restarts") is None
    finally:
        stores.close()


def test_facts_spill_to_disk_while_the_service_cannot_restart_and_arrive_when_it_can(config, state_dir):
    """Memory stays bounded while the service is down; nothing is lost or doubled when it returns."""
    config = msgspec.structs.replace(
        config, journal=JournalSection(batch_size=500), hazelcast=HazelcastSection(lease_ttl_s=1.0)
    )
    stores = open_node_stores(config, state_dir)
    rival = open_live_state(config, state_dir)
    try:
        journal = stores.journal
        facts = make_facts(0, 9000)
        for fact in facts[:1000]:
            journal.append(fact)
        assert journal.sync(60)
        journal.service._retry_at = time.monotonic() + 3600  # noqa: SLF001 - hold the restart back until the rival has the lease
        os.kill(journal.service.pid, signal.SIGKILL)
        time.sleep(1.5)  # the lease lapses; another holder takes it, so the restarts fail (LeaseHeld)
        assert rival.acquire_lease("rival", 60)
        journal.service._retry_at = 0.0  # noqa: SLF001 - let it restart now
        for fact in facts[1000:]:
            journal.append(fact)
        deadline = time.monotonic() + 30
        while journal.status().spilled == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        status = journal.status()
        assert status.spilled >= 4000 and len(journal._queue) <= journal.spill_after  # noqa: SLF001
        assert "LeaseHeld" in status.last_error and "rival" in status.last_error
        assert not journal.sync(0.5)
        rival.release_lease("rival")
        assert journal.flush(120)
        status = journal.status()
        assert (status.accepted, status.unacked, status.spilled) == (len(facts), 0, 0) and status.restarts >= 1
        assert stored_row_ids(stores.clickhouse) == row_ids_by_table(facts)
        for table, ids in row_ids_by_table(facts).items():
            assert stores.clickhouse.count(table) == len(ids)
    finally:
        rival.close()
        stores.close()


def test_a_close_that_gives_up_keeps_the_facts_in_the_spill_and_the_next_start_sends_them(config, state_dir):
    config = msgspec.structs.replace(
        config, journal=JournalSection(batch_size=500), hazelcast=HazelcastSection(lease_ttl_s=1.0)
    )
    stores = open_node_stores(config, state_dir)
    rival = open_live_state(config, state_dir)
    facts = make_facts(0, 3000)
    try:
        journal = stores.journal
        journal.service._retry_at = time.monotonic() + 3600  # noqa: SLF001 - the service stays down ...
        os.kill(journal.service.pid, signal.SIGKILL)
        time.sleep(1.5)
        assert rival.acquire_lease("rival", 60)  # ... and cannot come back while the rival holds the lease
        journal.service._retry_at = 0.0  # noqa: SLF001 - let it restart now
        for fact in facts:
            journal.append(fact)
        final = journal.close(timeout=2.0)
        assert final.spilled == len(facts) and final.unacked == 0
    finally:
        rival.release_lease("rival")
        rival.close()
    reopened = open_node_stores(config, state_dir)
    try:
        assert reopened.journal.flush(120)
        assert reopened.journal.status().spilled == 0
        assert stored_row_ids(reopened.clickhouse) == row_ids_by_table(facts)
    finally:
        reopened.close()
