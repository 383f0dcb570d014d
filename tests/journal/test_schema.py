from __future__ import annotations

import pytest

from dolphin_nautilus.domain.facts import FACT_TYPES
from dolphin_nautilus.journal.schema import (
    LATEST_TABLE,
    LATEST_VIEW,
    SchemaMismatch,
    database_name,
    ensure_schema,
    validate_namespace,
)
from tests.journal.conftest import open_test_store
from tests.journal.factory import position_state


def _columns(store, table):
    return dict(
        store.client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}",
            parameters={"db": store.database, "t": table},
        ).result_rows
    )


def test_schema_creates_all_families_with_namespace_and_row_id(store):
    assert store.database == f"dolphin_{store.namespace}"
    for fact_type in FACT_TYPES:
        cols = _columns(store, fact_type.table)
        assert cols["namespace"] == "LowCardinality(String)"
        assert cols["row_id"] == "UInt64"
        assert cols["ts"] == "DateTime64(9, 'UTC')"
        assert set(fact_type.__struct_fields__) <= set(cols)
    assert _columns(store, "position_state")["quantity"] == "Decimal(38, 18)"
    engine = store.client.command(
        f"SELECT engine_full FROM system.tables WHERE database = '{store.database}' AND name = '{LATEST_TABLE}'"
    )
    assert "ReplacingMergeTree(seq)" in engine and "ORDER BY trade_id" in engine


def test_schema_is_idempotent(store, store_config):
    assert store.schema_changes  # the first open created everything
    assert ensure_schema(store.client, store.namespace) == []
    assert open_test_store(store_config).schema_changes == []


def test_missing_column_is_added_and_view_rebuilt(store):
    db = store.database
    store.client.command(f"DROP VIEW `{db}`.`{LATEST_VIEW}`")
    store.client.command(f"ALTER TABLE `{db}`.position_state DROP COLUMN order_seq")
    store.client.command(f"ALTER TABLE `{db}`.{LATEST_TABLE} DROP COLUMN order_seq")
    store.client.command(f"ALTER TABLE `{db}`.orders DROP COLUMN ts")
    store.client.command(f"ALTER TABLE `{db}`.orders DROP COLUMN ts__ns")
    changes = ensure_schema(store.client, store.namespace)
    assert "added position_state.order_seq" in changes
    assert f"added {LATEST_TABLE}.order_seq" in changes
    assert "added orders.ts" in changes
    assert f"created {LATEST_VIEW}" in changes
    assert _columns(store, "orders")["ts"] == "DateTime64(9, 'UTC')"
    # The migrated tables take rows again, and the rebuilt view feeds the latest table.
    store.insert_facts([position_state("T9", seq=7)])
    [latest] = store.latest_position_states(["T9"])
    assert latest["order_seq"] == 7
    assert ensure_schema(store.client, store.namespace) == []


def test_incompatible_column_type_is_a_clear_error_and_changes_nothing(store):
    db = store.database
    store.client.command(f"ALTER TABLE `{db}`.fills MODIFY COLUMN fee Float64")
    with pytest.raises(SchemaMismatch) as err:
        ensure_schema(store.client, store.namespace)
    text = str(err.value)
    assert f"{db}.fills.fee" in text and "Decimal(38, 18)" in text and "Float64" in text
    assert _columns(store, "fills")["fee"] == "Float64"


def test_namespace_must_be_a_safe_identifier():
    assert database_name("pink") == "dolphin_pink"
    for bad in ("", "Blue", "a-b", "x; DROP DATABASE y", "1abc"):
        with pytest.raises(ValueError, match="namespace"):
            validate_namespace(bad)
