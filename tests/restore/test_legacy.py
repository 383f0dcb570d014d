"""Legacy BLUE position_state through chDB: schema detection, latest row per trade in SQL, ties, filters."""

from __future__ import annotations

from decimal import Decimal

from dolphin_nautilus.restore import decide, read_legacy_position_state

from .conftest import BTC, ETH, KNOWN, MAX_BARS


def make_table(client, database, columns_sql, rows, names):
    client.command(f"CREATE TABLE {database}.position_state ({columns_sql}) ENGINE = MergeTree ORDER BY tuple()")
    client.insert(f"{database}.position_state", rows, column_names=names)


NAMES = ["trade_id", "asset", "side", "status", "quantity", "notional", "bars_held", "ts"]


def test_missing_table_is_an_unreachable_source(chdb_client, legacy_db):
    batch = read_legacy_position_state(chdb_client, legacy_db)
    assert batch.unreachable == f"table {legacy_db}.position_state not found"
    assert decide([batch], KNOWN, MAX_BARS, 1).status == "DEGRADED"


def test_table_without_position_columns_is_an_unreachable_source(chdb_client, legacy_db):
    make_table(chdb_client, legacy_db, "trade_id String, foo Int32", [["a", 1]], ["trade_id", "foo"])
    assert "is not a position_state table" in read_legacy_position_state(chdb_client, legacy_db).unreachable


def test_text_timestamps_nullable_columns_and_garbage_values(chdb_client, legacy_db):
    make_table(
        chdb_client,
        legacy_db,
        "trade_id String, asset String, side String, status String, quantity Nullable(Float64), "
        "notional String, bars_held Int64, updated_at String",
        [
            ["a", "BTCUSDT", "LONG", "OPEN", 1.0, "100", 1, "2026-06-11 09:00:00"],
            ["a", "BTCUSDT", "LONG", "OPEN", 2.0, "200", 2, "2026-06-11 10:00:00"],
            ["a", "BTCUSDT", "LONG", "OPEN", 3.0, "300", 3, "2026-06-11 08:00:00"],
            ["b", "ETHUSDT", "SHORT", "OPEN", None, "abc", 4, "2026-06-11 10:00:00"],
        ],
        ["trade_id", "asset", "side", "status", "quantity", "notional", "bars_held", "updated_at"],
    )
    batch = read_legacy_position_state(chdb_client, legacy_db)
    a, b = sorted(batch.candidates, key=lambda c: c.trade_id)
    assert (a.quantity, a.notional, a.bars_held) == (Decimal("2.0"), Decimal(200), 2)
    assert set(b.defects) == {"quantity missing", "notional not a number: 'abc'"}
    decision = decide([batch], KNOWN, MAX_BARS, 1)
    assert [s.trade_id for s in decision.slots] == ["a"]
    assert [(r.trade_id, r.kind) for r in decision.rejections] == [("b", "invalid")]


def test_seq_column_orders_before_ts(chdb_client, legacy_db):
    make_table(
        chdb_client,
        legacy_db,
        "trade_id String, instrument_id String, side String, status String, "
        "quantity Float64, notional Float64, bars_held Int64, seq Int64, ts Int64",
        [["a", BTC, "LONG", "OPEN", 1.0, 100.0, 1, 2, 10], ["a", BTC, "LONG", "OPEN", 5.0, 500.0, 1, 1, 99]],
        ["trade_id", "instrument_id", "side", "status", "quantity", "notional", "bars_held", "seq", "ts"],
    )
    [c] = read_legacy_position_state(chdb_client, legacy_db).candidates
    assert (c.seq, c.quantity) == (2, Decimal("1.0"))


def test_rows_tied_on_the_latest_ts_are_both_returned_and_the_tie_recorded(chdb_client, legacy_db):
    make_table(
        chdb_client,
        legacy_db,
        "trade_id String, asset String, side String, status String, "
        "quantity Float64, notional Float64, bars_held Int64, ts Int64",
        [
            ["a", "BTCUSDT", "LONG", "OPEN", 1.0, 100.0, 1, 5],
            ["a", "BTCUSDT", "LONG", "CLOSED", 1.0, 100.0, 1, 5],
            ["a", "BTCUSDT", "LONG", "OPEN", 2.0, 200.0, 1, 5],
            ["a", "BTCUSDT", "LONG", "OPEN", 9.0, 900.0, 1, 1],
        ],
        NAMES,
    )
    batch = read_legacy_position_state(chdb_client, legacy_db)
    assert sorted(c.status for c in batch.candidates) == ["CLOSED", "OPEN"]
    decision = decide([batch], KNOWN, MAX_BARS, 1)
    assert decision.slots == () and [d.kind for d in decision.disagreements] == ["tie_in_source"]


def test_closed_trades_are_returned_only_for_ids_other_sources_hold(chdb_client, legacy_db):
    make_table(
        chdb_client,
        legacy_db,
        "trade_id String, asset String, side String, status String, "
        "quantity Float64, notional Float64, bars_held Int64, ts Int64",
        [
            ["open", "BTCUSDT", "LONG", "OPEN", 1.0, 100.0, 1, 5],
            ["gone", "ETHUSDT", "LONG", "OPEN", 1.0, 100.0, 1, 1],
            ["gone", "ETHUSDT", "LONG", "CLOSED", 1.0, 100.0, 1, 2],
            ["held", "ETHUSDT", "LONG", "TOMBSTONED", 1.0, 100.0, 1, 2],
        ],
        NAMES,
    )
    everything = read_legacy_position_state(chdb_client, legacy_db)
    assert sorted(c.trade_id for c in everything.candidates) == ["gone", "held", "open"]
    filtered = read_legacy_position_state(chdb_client, legacy_db, closed_for_trade_ids={"held"})
    assert sorted(c.trade_id for c in filtered.candidates) == ["held", "open"]
    assert {c.instrument_id for c in filtered.candidates} == {BTC, ETH}
