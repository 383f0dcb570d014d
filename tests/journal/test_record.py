"""The journal record: encoded once by the trading process, stored in the WAL as it is, read back exactly."""

from __future__ import annotations

import msgspec

from dolphin_nautilus.journal.record import REJECTED_TABLE, encode_record, split_record
from dolphin_nautilus.journal.settings import JournalConfig
from dolphin_nautilus.journal.store import row_id_from_blob
from dolphin_nautilus.journal.wal import WriteAheadLog
from dolphin_nautilus.journal.writer import Journal
from tests.journal.factory import make_facts, row_ids_by_table


def stored(store, facts) -> dict[str, set[int]]:
    return {table: store.row_ids(table) for table in row_ids_by_table(facts)}


def test_a_record_yields_each_facts_own_bytes_and_row_id():
    facts = make_facts(0, 40)
    pairs = split_record(encode_record(facts))
    assert [table for table, _ in pairs] == [fact.table for fact in facts]
    assert [blob for _, blob in pairs] == [msgspec.msgpack.encode(fact) for fact in facts]
    assert [row_id_from_blob(table, blob) for table, blob in pairs] == [fact.row_id for fact in facts]


def test_an_unencodable_object_travels_as_a_rejected_entry_between_the_facts():
    facts = make_facts(0, 3)
    pairs = split_record(encode_record([facts[0], object(), *facts[1:]]))
    assert [table for table, _ in pairs] == [facts[0].table, REJECTED_TABLE, facts[1].table, facts[2].table]


def test_the_trading_process_record_goes_into_the_wal_as_it_is(store, tmp_path):
    facts = make_facts(0, 500)
    payload = encode_record(facts)
    journal = Journal(store, JournalConfig(spool_dir=str(tmp_path / "spool")))
    journal.append_record(payload, len(facts))
    assert journal.flush(60)
    journal.close()
    # Flushed records are confirmed, so `pending()` no longer yields them: read the first segment itself.
    records = [record for record, _ in WriteAheadLog(str(tmp_path / "spool"))._scan(1, 0)]  # noqa: SLF001
    assert records == [payload]
    assert stored(store, facts) == row_ids_by_table(facts)


def test_a_spool_written_in_the_older_record_format_still_replays(store, tmp_path):
    facts = make_facts(0, 300)
    old_record = msgspec.msgpack.encode([(fact.table, msgspec.msgpack.encode(fact)) for fact in facts])
    wal = WriteAheadLog(str(tmp_path / "spool"))
    wal.append(old_record)
    wal.close()
    journal = Journal(store, JournalConfig(spool_dir=str(tmp_path / "spool")))
    assert journal.flush(60)
    assert journal.close().replayed == len(facts)
    assert stored(store, facts) == row_ids_by_table(facts)
