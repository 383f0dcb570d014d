"""The open set read through the checkpoint equals the whole-table read, whatever happened after the checkpoint:
closes, re-opens, late older records, equal timestamps, exact ties, merges; and the schema migrates to it."""

from __future__ import annotations

import random
import time
from decimal import Decimal

from dolphin_nautilus.journal.open_set import OpenSetCheckpointer, open_candidates_sql
from dolphin_nautilus.journal.schema import BLOCK_NUMBERS, CHECKPOINT_TABLE, LATEST_TABLE, ensure_schema
from tests.journal.factory import BASE_TS, position_state

ZERO = Decimal(0)


def _open(store, *, use_checkpoint: bool = True) -> list[tuple]:
    rows = store.open_position_states(use_checkpoint=use_checkpoint)
    return [(r["trade_id"], r["seq"], r["ts_ns"], r["status"], r["quantity"]) for r in rows]


def _assert_same(store) -> list[tuple]:
    through_checkpoint = _open(store)
    assert through_checkpoint == _open(store, use_checkpoint=False)
    return through_checkpoint


def test_checkpoint_then_closes_and_opens_after_it(store):
    store.insert_facts([position_state(f"T{i}", seq=1) for i in range(6)])
    store.insert_facts([position_state("T0", seq=2, status="CLOSED", quantity=ZERO)])
    assert store.open_checkpoint() is None
    block = store.write_open_checkpoint()
    assert store.open_checkpoint() == (block, ["T1", "T2", "T3", "T4", "T5"])
    store.insert_facts(
        [
            position_state("T1", seq=2, status="CLOSED", quantity=ZERO),  # closes after the checkpoint
            position_state("T2", seq=2, quantity=Decimal("0.5")),  # a partial exit after it
            position_state("N1", seq=1),  # opens after it
            position_state("T0", seq=1),  # an older record of a closed trade, written late: never reopens
        ]
    )
    assert [r[0] for r in _assert_same(store)] == ["N1", "T2", "T3", "T4", "T5"]
    assert store.write_open_checkpoint(only_if_new=True) is not None
    assert store.write_open_checkpoint(only_if_new=True) is None  # nothing new since


def test_rows_after_the_checkpoint_reopen_close_and_open_trades(store):
    """Only the checkpoint's trades and the trades with an OPEN row after it are read: every way the rows
    after it change the open set is seen, before and after a merge and a second checkpoint."""
    store.insert_facts([position_state(f"T{i}", seq=1) for i in range(4)])
    store.insert_facts([position_state("T0", seq=2, status="CLOSED", quantity=ZERO)])
    store.write_open_checkpoint()
    assert [r[0] for r in _assert_same(store)] == ["T1", "T2", "T3"]
    store.insert_facts(
        [
            position_state("T0", seq=3, quantity=Decimal("2")),  # closed at the checkpoint, re-opened after it
            position_state("T1", seq=2, status="CLOSED", quantity=ZERO),  # open at the checkpoint, closed after
            position_state("T2", seq=0, status="CLOSED", quantity=ZERO),  # an older close, written late
            position_state("T3", seq=2, quantity=Decimal("0.5")),  # a partial exit: still open
            position_state("N1", seq=1),  # opens after the checkpoint
            position_state("N2", seq=1),  # opens and closes after it
            position_state("N2", seq=2, status="CLOSED", quantity=ZERO),
            *(position_state(f"H{i}", seq=1, status="CLOSED", quantity=ZERO) for i in range(50)),  # closed history
        ]
    )
    expected = [("N1", 1), ("T0", 3), ("T2", 1), ("T3", 2)]
    assert [r[:2] for r in _assert_same(store)] == expected
    store.optimize(LATEST_TABLE)
    assert [r[:2] for r in _assert_same(store)] == expected
    store.write_open_checkpoint()
    store.insert_facts([position_state("T0", seq=4, status="CLOSED", quantity=ZERO), position_state("N3", seq=1)])
    assert [r[:2] for r in _assert_same(store)] == [("N1", 1), ("N3", 1), ("T2", 1), ("T3", 2)]


def test_a_checkpoint_merged_away_after_its_block_was_read_still_gives_its_trades(store):
    """The reader takes the checkpoint's block, then runs its statement: a newer checkpoint written in between,
    and merged over the older one, still gives every trade that may be open."""
    store.insert_facts([position_state("K1", seq=1)])
    read_block = store.write_open_checkpoint()
    store.insert_facts([position_state("K2", seq=1)])
    store.write_open_checkpoint()
    store.optimize(CHECKPOINT_TABLE)
    sql = open_candidates_sql(store.database, LATEST_TABLE, CHECKPOINT_TABLE, read_block)
    assert {row[0] for row in store.client.query(sql).result_rows} == {"K1", "K2"}


def test_equal_timestamps_and_exact_ties_read_the_same_row_both_ways(store):
    store.insert_facts([position_state(f"E{i}", seq=1, ts=BASE_TS) for i in range(4)])  # one ts for all
    store.write_open_checkpoint()
    store.insert_facts(
        [
            position_state("E0", seq=2, ts=BASE_TS, status="CLOSED", quantity=ZERO),  # same ts, higher seq
            position_state("E1", seq=1, ts=BASE_TS, status="CLOSED", quantity=ZERO),  # exact tie: closed wins
            position_state("E2", seq=1, ts=BASE_TS, quantity=Decimal("0.7")),  # exact tie of two OPEN rows
        ]
    )
    opened = _assert_same(store)
    assert [r[0] for r in opened] == ["E2", "E3"]
    assert _assert_same(store) == opened  # the same row on every read


def test_random_histories_with_checkpoints_and_merges_match_the_full_read(store):
    rng = random.Random(16)
    seqs: dict[str, int] = {}
    for _step in range(40):
        batch = []
        for _ in range(rng.randint(1, 12)):
            trade = f"R{rng.randint(0, 30)}"
            seq = seqs.get(trade, 0) + 1
            if rng.random() < 0.15 and seq > 2:
                seq = rng.randint(1, seq - 1)  # a late older record (a replay, a back-fill)
            else:
                seqs[trade] = seq
            status = rng.choice(["OPEN", "OPEN", "OPEN", "CLOSED", "TOMBSTONED"])
            quantity = ZERO if status != "OPEN" or rng.random() < 0.1 else Decimal(rng.randint(1, 9))
            ts = BASE_TS + rng.choice([0, seq, seq * 1000])  # equal timestamps across trades and records
            batch.append(position_state(trade, seq=seq, status=status, quantity=quantity, ts=ts))
        store.insert_facts(batch)
        action = rng.random()
        if action < 0.3:
            store.write_open_checkpoint()
        elif action < 0.4:
            store.optimize(LATEST_TABLE)
        _assert_same(store)


def test_an_existing_store_migrates_and_rows_merged_before_stay_below_any_checkpoint(store):
    db = store.database
    store.insert_facts([position_state("M1", seq=1), position_state("M2", seq=1)])
    store.client.command(f"DROP TABLE `{db}`.`{CHECKPOINT_TABLE}`")
    store.client.command(f"ALTER TABLE `{db}`.`{LATEST_TABLE}` MODIFY SETTING enable_block_number_column = 0")
    store.insert_facts([position_state("M1", seq=2, status="CLOSED", quantity=ZERO)])
    store.optimize(LATEST_TABLE)  # merged without block numbers: the old rows read as the part's first block
    changes = ensure_schema(store.client, store.namespace)
    assert changes == [f"set {LATEST_TABLE}.{BLOCK_NUMBERS}", f"created {CHECKPOINT_TABLE}"]
    assert ensure_schema(store.client, store.namespace) == []
    assert [r[0] for r in _assert_same(store)] == ["M2"]  # no checkpoint yet: the whole table
    store.write_open_checkpoint()
    store.insert_facts([position_state("M2", seq=2, status="CLOSED", quantity=ZERO), position_state("M3", seq=1)])
    store.optimize(LATEST_TABLE)
    assert [r[0] for r in _assert_same(store)] == ["M3"]


def test_checkpointer_writes_on_its_interval_only_when_new_and_at_close(store):
    store.insert_facts([position_state("C1", seq=1)])
    checkpointer = OpenSetCheckpointer(store, interval_s=0.05)
    try:
        _wait(lambda: store.open_checkpoint() is not None)
        first = store.open_checkpoint()
        assert first is not None and first[1] == ["C1"]
        store.insert_facts([position_state("C1", seq=2, status="CLOSED", quantity=ZERO), position_state("C2", seq=1)])
        _wait(lambda: store.open_checkpoint() != first)
    finally:
        checkpointer.close()
    last = store.open_checkpoint()
    assert last is not None and last[1] == ["C2"] and checkpointer.last_error == ""


def _wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
