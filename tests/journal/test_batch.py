"""The writer's batch: row ids hashed from views into the WAL record are the ids the facts always had."""

from __future__ import annotations

import msgspec

from dolphin_nautilus.domain.facts import FACT_TYPES
from dolphin_nautilus.journal.batch import EncodedRecord, fact_record, mixed_records, stored_rows
from dolphin_nautilus.journal.record import encode_record, split_record, split_record_views
from dolphin_nautilus.journal.store import encode_columns, encode_rows, fact_lines
from tests.journal.factory import make_facts

# Row ids of make_facts(0, 16) as the journal wrote them before views (bytes copied, `table|` + bytes hashed
# in one call): a change of id would break the dedupe of a replay against the history already stored.
PINNED_ROW_IDS = [
    2861055494805359585,
    6836637654396716521,
    8030417847467475972,
    8067918721133773687,
    7912544294001502532,
    8272034371084829553,
    4575216749522117427,
    5777138434923506405,
    8278278127985819839,
    2379270008941267069,
    1554429221048267684,
    8531489126043650617,
    822452885494001768,
    2751446119590483335,
    2502568275429366761,
    2696954934360716113,
]


def _no_rejects(table, row_id, fact, error):
    raise AssertionError(f"unexpected reject of {table}: {error}")


def _ids_in_order(rows, facts):
    """Row id per fact, in the facts' order (the rows are grouped by table)."""
    by_fact = {
        id(fact): row_id for ids, table_facts in rows.values() for row_id, fact in zip(ids, table_facts, strict=True)
    }
    return [by_fact[id(fact)] for fact in facts]


def test_row_ids_of_every_family_are_the_ones_written_before():
    facts = make_facts(0, 16)
    assert {fact.table for fact in facts} == {t.table for t in FACT_TYPES}
    assert [fact.row_id for fact in facts] == PINNED_ROW_IDS
    records, entries = fact_record(facts, _no_rejects)
    assert _ids_in_order(entries.rows(), facts) == PINNED_ROW_IDS
    replayed = stored_rows(records[0])
    assert [i for t in FACT_TYPES for i in replayed[t.table][0]] == [
        i for t in FACT_TYPES for i, f in zip(PINNED_ROW_IDS, facts, strict=True) if f.table == t.table
    ]


def test_the_fact_the_record_and_the_replay_paths_give_each_fact_its_own_row_id():
    facts = make_facts(0, 800)
    expected = [fact.row_id for fact in facts]
    records, entries = fact_record(facts, _no_rejects)
    assert _ids_in_order(entries.rows(), facts) == expected
    assert [bytes(blob) for blob in entries.blobs] == [msgspec.msgpack.encode(fact) for fact in facts]
    payload = encode_record(facts)
    assert records == [payload]
    received_records, received = mixed_records([EncodedRecord(payload, len(facts))], _no_rejects)
    assert received_records == [payload] and received.facts == facts
    assert _ids_in_order(received.rows(), received.facts) == expected
    replayed = stored_rows(payload)
    assert sorted(i for ids, _ in replayed.values() for i in ids) == sorted(expected)


def test_one_table_batch_keeps_its_order_and_ids():
    facts = [fact for fact in make_facts(0, 800) if fact.table == "position_state"]
    _, entries = fact_record(facts, _no_rejects)
    rows = entries.rows()
    assert list(rows) == ["position_state"]
    assert rows["position_state"] == ([fact.row_id for fact in facts], facts)


def test_views_and_copies_of_a_record_are_the_same_bytes_in_either_record_format():
    facts = make_facts(0, 40)
    older = msgspec.msgpack.encode([(fact.table, msgspec.msgpack.encode(fact)) for fact in facts])
    for payload in (encode_record(facts), older):
        views = split_record_views(payload)
        assert [(table, bytes(blob)) for table, blob in views] == split_record(payload)
        assert [bytes(blob) for _, blob in views] == [msgspec.msgpack.encode(fact) for fact in facts]


def test_insert_blocks_from_columns_equal_those_from_pairs():
    facts = [fact for fact in make_facts(0, 400) if fact.table == "fills"]
    ids = [fact.row_id for fact in facts]
    assert encode_columns("ns", ids, facts) == encode_rows("ns", list(zip(ids, facts, strict=True)))


def test_a_record_encoded_in_chunks_is_byte_identical_to_one_encoded_in_one_call():
    # fixarray, array 16 and array 32 headers, chunk edges, and one to many chunks
    base = make_facts(0, 1025)
    for size in (1, 15, 16, 1023, 1024, 1025, 70_000):
        facts = (base * (size // len(base) + 1))[:size]
        records, entries = fact_record(facts, _no_rejects)
        one_call = msgspec.msgpack.encode([(fact.table, fact) for fact in facts])
        assert records == [one_call], size
        assert [bytes(blob) for blob in entries.blobs] == [bytes(blob) for _, blob in split_record(one_call)], size
        assert entries.facts == facts and entries.tables == [fact.table for fact in facts]


def test_json_lines_made_in_chunks_are_the_lines_of_one_call():
    facts = [f for f in make_facts(0, 20_000) if f.table == "position_state"]
    assert len(facts) > 1024  # more than one chunk
    for size in (1, 1024, 1025, len(facts)):
        assert fact_lines(facts[:size]) == msgspec.json.Encoder().encode_lines(facts[:size]), size
