from __future__ import annotations

import json
import os
import threading
from decimal import Decimal

import msgspec

from dolphin_nautilus.domain.facts import FACT_TYPES, FillFact
from dolphin_nautilus.journal.settings import JournalConfig
from dolphin_nautilus.journal.writer import QUARANTINE_CODE, QUARANTINE_FILE, Journal
from tests.journal.factory import make_facts, row_ids_by_table


def _journal(store, tmp_path, **overrides):
    config = JournalConfig(
        spool_dir=str(tmp_path / "spool"),
        **{"batch_size": 100, "flush_interval": 0.01, "retry_initial": 0.02, "retry_max": 0.1, **overrides},
    )
    return Journal(store, config)


def _assert_exactly(store, facts):
    expected = row_ids_by_table(facts)
    for fact_type in FACT_TYPES:
        ids = expected.get(fact_type.table, set())
        assert store.row_ids(fact_type.table) == ids
        assert store.count(fact_type.table) == len(ids)  # FINAL: each row_id once


def _part_blocks(store, table):
    """row_id -> block number of the insert that wrote it (merges stopped, so parts are inserts)."""
    rows = store.client.query(f"SELECT row_id, _part FROM `{store.database}`.`{table}`").result_rows
    return {row_id: int(part.split("_")[1]) for row_id, part in rows}


def test_writer_batches_and_writes_everything(store, tmp_path):
    journal = _journal(store, tmp_path)
    facts = make_facts(0, 1000)
    for fact in facts:
        journal.append(fact)
    assert journal.flush(30)
    status = journal.close()
    assert (status.appended, status.accepted, status.written) == (1000, 1000, 1000)
    assert 10 <= status.batches < 100  # batched by size, not one insert per fact
    assert status.spooled == status.replayed == status.failures == 0
    _assert_exactly(store, facts)
    assert os.listdir(tmp_path / "spool") == ["wal-000000000001.log", "checkpoint"] or sorted(
        os.listdir(tmp_path / "spool")
    ) == ["checkpoint", "wal-000000000001.log"]


def test_sinks_get_every_accepted_fact_in_order_off_the_callers_thread(store, tmp_path):
    seen, threads = [], set()
    journal = _journal(store, tmp_path)
    journal.add_sink(lambda batch: (seen.extend(batch), threads.add(threading.current_thread().name)))
    journal.add_sink(lambda batch: 1 / 0)  # a broken sink must not stop the journal
    facts = make_facts(0, 300)
    for fact in facts:
        journal.append(fact)
    assert journal.flush(30)
    status = journal.close()
    assert seen == facts
    assert threads == {f"journal-{store.namespace}"}
    assert status.sink_failures >= 1 and status.written == 300


def test_clickhouse_outage_spools_then_replays_in_order(store, tmp_path):
    db = store.database
    store.client.command(f"SYSTEM STOP MERGES `{db}`.fills")
    journal = _journal(store, tmp_path)
    early = make_facts(0, 200)
    for fact in early:
        journal.append(fact)
    assert journal.flush(30)
    # ClickHouse cannot take orders rows now; records stop there, so later tables (fills) wait too.
    store.client.command(f"DETACH TABLE `{db}`.orders")
    outage = make_facts(200, 1000)
    for start in range(0, 800, 100):  # eight separate spool records
        for fact in outage[start : start + 100]:
            journal.append(fact)
        assert journal.sync(30)  # accepted: durable in the spool
    assert not journal.flush(0.3)  # ... but not in ClickHouse
    status = journal.status()
    assert status.backlog and status.failures >= 1 and status.spooled >= 700 and status.written < 1000
    store.client.command(f"ATTACH TABLE `{db}`.orders")
    assert journal.flush(30)
    status = journal.close()
    assert not status.backlog and status.replayed >= 700 and status.accepted == 1000
    _assert_exactly(store, early + outage)
    # Records that were retried whole were not duplicated even before any merge (insert dedup window).
    assert store.count("trade_entries", final=False) == 125
    blocks = _part_blocks(store, "fills")
    order = [blocks[f.row_id] for f in early + outage if f.table == "fills"]
    assert order == sorted(order) and len(set(order)) >= 9  # replayed record by record, in append order


def test_restart_replays_what_a_previous_run_left_in_the_spool(store, store_config, tmp_path):
    db = store.database
    store.client.command(f"DETACH TABLE `{db}`.orders")
    first = _journal(store, tmp_path)
    facts = make_facts(0, 400)
    for fact in facts:
        first.append(fact)
    status = first.close(timeout=10)  # ClickHouse still cannot take orders: they stay in the spool
    assert status.accepted == 400 and status.backlog
    store.client.command(f"ATTACH TABLE `{db}`.orders")
    second = _journal(store, tmp_path)
    assert second.status().backlog or second.flush(0)  # it starts by replaying
    assert second.flush(30)
    status = second.close()
    assert status.replayed >= 50
    _assert_exactly(store, facts)


def test_bad_rows_are_quarantined_and_never_block_the_rest(store, tmp_path):
    journal = _journal(store, tmp_path)
    facts = make_facts(0, 240)
    template = next(f for f in facts if isinstance(f, FillFact))
    bad = [
        msgspec.structs.replace(template, venue_trade_id="bad-nan", quantity=Decimal("NaN")),
        msgspec.structs.replace(template, venue_trade_id="bad-big", price=Decimal("1E+25")),
        msgspec.structs.replace(template, venue_trade_id="bad-int", ts=2**63 + 5),  # fits msgpack, not Int64
    ]
    for fact in facts[:100] + bad[:1] + facts[100:] + bad[1:]:
        journal.append(fact)
    journal.append("not a fact")  # type: ignore[arg-type]
    assert journal.flush(30)
    assert journal.flush(30)  # the quarantine anomalies were queued behind: let them land too
    status = journal.close()
    assert status.quarantined == 4
    _assert_exactly(store, facts + [a for a in _anomalies(store)])
    lines = [json.loads(line) for line in (tmp_path / "spool" / QUARANTINE_FILE).read_text().splitlines()]
    assert sorted(json.loads(line["fact"])["venue_trade_id"] for line in lines if line["table"] == "fills") == [
        "bad-big",
        "bad-int",
        "bad-nan",
    ]
    assert {line["row_id"] for line in lines if line["table"] == "fills"} == {b.row_id for b in bad}
    reports = [a for a in store.recent_anomalies(50) if a["code"] == QUARANTINE_CODE]
    assert len(reports) == 4 and all(r["origin"] == "journal" and r["severity"] == "ERROR" for r in reports)


def _anomalies(store):
    from dolphin_nautilus.domain.facts import Anomaly

    rows = store.client.query(
        f"SELECT ts, origin, code, severity, trade_id, instrument_id, message, details, "
        f"toUnixTimestamp64Nano(ts) FROM `{store.database}`.anomalies WHERE code = '{QUARANTINE_CODE}'"
    ).result_rows
    return [
        Anomaly(
            ts=r[8],
            origin=r[1],
            code=r[2],
            severity=r[3],
            trade_id=r[4],
            instrument_id=r[5],
            message=r[6],
            details=r[7],
        )
        for r in rows
    ]


def test_close_flushes_everything_and_flush_after_close_is_refused(store, tmp_path):
    journal = _journal(store, tmp_path, batch_size=5000, flush_interval=5.0)
    facts = make_facts(0, 500)
    for fact in facts:
        journal.append(fact)
    status = journal.close()
    assert status.written == 500
    _assert_exactly(store, facts)
    try:
        journal.flush(1)
    except RuntimeError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("flush after close must raise")


def test_records_in_new_wal_segments_go_to_clickhouse_from_memory_not_from_the_spool(store, tmp_path):
    journal = _journal(store, tmp_path, segment_bytes=4000)  # a new segment every record or two
    facts = make_facts(0, 1200)
    for start in range(0, 600, 50):  # each record confirmed before the next one starts a segment
        for fact in facts[start : start + 50]:
            journal.append(fact)
        assert journal.flush(30)
    for fact in facts[600:]:  # records written while the one before is still being inserted
        journal.append(fact)
    status = journal.close()
    assert status.written == 1200 and status.replayed == 0 and not status.backlog
    _assert_exactly(store, facts)
    segments = [name for name in os.listdir(tmp_path / "spool") if name.startswith("wal-")]
    assert len(segments) == 1  # the confirmed ones were deleted
