"""ClickHouse DDL for the 8 row families (docs/design.md §4), derived from the fact Structs.

Each table holds the fact's fields plus `namespace` and `row_id`. Timestamps are `DateTime64(9, 'UTC')`;
the writer sends them as UNIX nanoseconds into an EPHEMERAL `<name>__ns Int64` companion column whose
value the real column's DEFAULT converts exactly (text formats would read a bare integer as seconds).

Tables are ReplacingMergeTree ordered by a content-derived key ending in `row_id`, so a replayed row
collapses into the original (immediately for a byte-identical replayed insert, through the
non-replicated deduplication window; at merge time or with FINAL otherwise).

`position_state_latest` is ReplacingMergeTree(seq) ORDER BY trade_id, fed by a materialized view, so
restore reads one row per trade without scanning history. It keeps each row's insert block number, and
`position_state_open_checkpoint` holds the open set as of a block number (`journal.open_set`), so restore
reads the checkpoint and the rows written since, merged or not.

`ensure_schema` is idempotent: creates what is missing, adds missing columns (a migration), and raises
`SchemaMismatch` for an existing column of another type. It never drops or rewrites data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import msgspec

from dolphin_nautilus.domain.facts import FACT_TYPES, Fact, PositionState

DECIMAL = "Decimal(38, 18)"
FLOAT = "Float64"
DATETIME = "DateTime64(9, 'UTC')"
NS_SUFFIX = "__ns"
LATEST_TABLE = "position_state_latest"
LATEST_VIEW = "position_state_latest_mv"
CHECKPOINT_TABLE = "position_state_open_checkpoint"  # the open set as of a block number (journal.open_set)
BLOCK_NUMBERS = "enable_block_number_column = 1"  # each row keeps its insert block number through merges
DEDUP_WINDOW = 10_000  # recent insert blocks remembered per table: a replayed identical block is dropped

# Low-cardinality string fields (repeated values): cheaper storage and filters.
_LOW_CARDINALITY = frozenset(
    {
        "origin",
        "instrument_id",
        "side",
        "status",
        "type",
        "event",
        "currency",
        "severity",
        "code",
        "liquidity",
        "reason",
        "exit_reason",
    }
)
# Sorting keys: content-derived columns (so a replayed row lands beside its original) ending in row_id.
_ORDER_BY = {
    "trade_entries": ("trade_id", "row_id"),
    "trade_exit_legs": ("trade_id", "leg_no", "row_id"),
    "trades": ("trade_id", "row_id"),
    "position_state": ("trade_id", "seq", "row_id"),
    "capital_updates": ("currency", "ts", "row_id"),
    "orders": ("client_order_id", "row_id"),
    "fills": ("trade_id", "row_id"),
    "anomalies": ("ts", "row_id"),
}
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class SchemaError(Exception):
    """The schema cannot be brought to the expected shape."""


class SchemaMismatch(SchemaError):
    def __init__(self, table: str, column: str, expected: str, found: str):
        self.table, self.column, self.expected, self.found = table, column, expected, found
        super().__init__(
            f"schema mismatch in {table}.{column}: expected type {expected}, found {found}; "
            "refusing to migrate automatically (no data was changed)"
        )


class CommandClient(Protocol):
    def command(self, cmd: str, parameters: dict | None = None): ...
    def query(self, query: str, parameters: dict | None = None): ...


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    ephemeral_ns: bool = False  # a DateTime64 fed from the EPHEMERAL <name>__ns Int64 column

    def ddl(self) -> list[str]:
        if not self.ephemeral_ns:
            return [f"`{self.name}` {self.type}"]
        source = self.name + NS_SUFFIX
        return [
            f"`{source}` Int64 EPHEMERAL 0",
            f"`{self.name}` {self.type} DEFAULT fromUnixTimestamp64Nano(`{source}`, 'UTC')",
        ]


@dataclass(frozen=True)
class TableSpec:
    name: str
    fact_type: type[Fact]
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]

    @property
    def insert_columns(self) -> tuple[str, ...]:
        """Column names in the order the writer sends values: namespace, row_id, then the fact's fields."""
        return tuple(c.name + NS_SUFFIX if c.ephemeral_ns else c.name for c in self.columns)

    @property
    def stored_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def validate_namespace(namespace: str) -> str:
    if not _IDENT.match(namespace):
        raise ValueError(f"namespace {namespace!r} must match {_IDENT.pattern} (it names a database)")
    return namespace


def database_name(namespace: str) -> str:
    return f"dolphin_{validate_namespace(namespace)}"


def is_timestamp_field(name: str) -> bool:
    return name == "ts" or name.endswith("_ts")


def _column_type(name: str, annotation: object, money_type: str) -> str:
    if is_timestamp_field(name):
        return DATETIME
    if annotation is Decimal or annotation == "Decimal":
        return money_type
    if annotation is bool or annotation == "bool":
        return "Bool"
    if annotation is int or annotation == "int":
        return "Int64"
    if annotation is str or annotation == "str":
        return "LowCardinality(String)" if name in _LOW_CARDINALITY else "String"
    raise SchemaError(f"no ClickHouse type for field {name}: {annotation!r}")


def table_spec(fact_type: type[Fact], money_type: str = DECIMAL) -> TableSpec:
    columns = [Column("namespace", "LowCardinality(String)"), Column("row_id", "UInt64")]
    for field in msgspec.structs.fields(fact_type):
        col_type = _column_type(field.name, field.type, money_type)
        columns.append(Column(field.name, col_type, ephemeral_ns=col_type == DATETIME))
    return TableSpec(fact_type.table, fact_type, tuple(columns), _ORDER_BY[fact_type.table])


def table_specs(money_type: str = DECIMAL) -> dict[str, TableSpec]:
    if money_type not in (DECIMAL, FLOAT):
        raise ValueError(f"money_type must be {DECIMAL!r} or {FLOAT!r}, got {money_type!r}")
    return {t.table: table_spec(t, money_type) for t in FACT_TYPES}


def latest_columns(position_state: TableSpec) -> tuple[Column, ...]:
    return tuple(Column(c.name, c.type) for c in position_state.columns)


def create_table_sql(database: str, spec: TableSpec) -> str:
    cols = ",\n  ".join(part for c in spec.columns for part in c.ddl())
    return (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{spec.name}` (\n  {cols}\n)\n"
        f"ENGINE = ReplacingMergeTree\nORDER BY ({', '.join(spec.order_by)})\n"
        f"SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}"
    )


def create_latest_sql(database: str, columns: tuple[Column, ...]) -> str:
    cols = ",\n  ".join(f"`{c.name}` {c.type}" for c in columns)
    return (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{LATEST_TABLE}` (\n  {cols}\n)\n"
        f"ENGINE = ReplacingMergeTree(seq)\nORDER BY trade_id\nSETTINGS {BLOCK_NUMBERS}"
    )


def create_checkpoint_sql(database: str) -> str:
    # One logical row: merges keep the newest checkpoint (version as_of_block); readers take the highest.
    return (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{CHECKPOINT_TABLE}` (\n"
        "  `slot` UInt8 DEFAULT 0,\n  `as_of_block` UInt64,\n  `taken_ts` DateTime64(9, 'UTC'),\n"
        "  `open_trade_ids` Array(String)\n)\nENGINE = ReplacingMergeTree(as_of_block)\nORDER BY slot"
    )


def create_latest_view_sql(database: str, columns: tuple[Column, ...]) -> str:
    names = ", ".join(f"`{c.name}`" for c in columns)
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{LATEST_VIEW}` "
        f"TO `{database}`.`{LATEST_TABLE}` AS SELECT {names} FROM `{database}`.`{PositionState.table}`"
    )


def _existing_columns(client: CommandClient, database: str) -> dict[str, dict[str, str]]:
    rows = client.query(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} ORDER BY table, position",
        parameters={"db": database},
    ).result_rows
    tables = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
    ).result_rows
    found: dict[str, dict[str, str]] = {name: {} for (name,) in tables}
    for table, name, col_type in rows:
        found.setdefault(table, {})[name] = col_type
    return found


def _expected_types(columns: tuple[Column, ...]) -> list[tuple[str, str, Column]]:
    out = []
    for c in columns:
        if c.ephemeral_ns:
            out.append((c.name + NS_SUFFIX, "Int64", c))
        out.append((c.name, c.type, c))
    return out


def _migrate_table(
    client: CommandClient, database: str, table: str, columns: tuple[Column, ...], found: dict[str, str]
) -> list[str]:
    """Add missing columns; raise on a type conflict. Returns the names of the added columns."""
    for name, expected, _ in _expected_types(columns):
        if name in found and found[name] != expected:
            raise SchemaMismatch(f"{database}.{table}", name, expected, found[name])
    added: list[str] = []
    previous: str | None = None
    for column in columns:
        if column.name not in found:
            for part in column.ddl():
                after = f" AFTER `{previous}`" if previous else " FIRST"
                client.command(f"ALTER TABLE `{database}`.`{table}` ADD COLUMN IF NOT EXISTS {part}{after}")
                previous = part.split("`")[1]
            added.append(column.name)
        previous = column.name
    return added


def ensure_schema(client: CommandClient, namespace: str, money_type: str = DECIMAL) -> list[str]:
    """Create or migrate the namespace's database. Returns a list of the changes made (empty if none)."""
    database = database_name(namespace)
    specs = table_specs(money_type)
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    found = _existing_columns(client, database)
    changes: list[str] = []
    for spec in specs.values():
        if spec.name in found:
            changes += [
                f"added {spec.name}.{c}"
                for c in _migrate_table(client, database, spec.name, spec.columns, found[spec.name])
            ]
        else:
            client.command(create_table_sql(database, spec))
            changes.append(f"created {spec.name}")
    latest = latest_columns(specs[PositionState.table])
    if LATEST_TABLE in found:
        latest_added = _migrate_table(client, database, LATEST_TABLE, latest, found[LATEST_TABLE])
        changes += [f"added {LATEST_TABLE}.{c}" for c in latest_added]
    else:
        client.command(create_latest_sql(database, latest))
        changes.append(f"created {LATEST_TABLE}")
        latest_added = ["*"]
    changes += _migrate_open_set(client, database, found)
    if latest_added and LATEST_VIEW in found:
        # The view's column list is fixed at creation; it stores nothing (TO table), so recreate it.
        client.command(f"DROP VIEW IF EXISTS `{database}`.`{LATEST_VIEW}`")
        del found[LATEST_VIEW]
    if LATEST_VIEW not in found:
        client.command(create_latest_view_sql(database, latest))
        changes.append(f"created {LATEST_VIEW}")
    return changes


def _migrate_open_set(client: CommandClient, database: str, found: dict[str, dict[str, str]]) -> list[str]:
    """Block numbers on an existing latest table (rows merged before keep their part's first block number,
    which is below any checkpoint taken after this) and the checkpoint table."""
    changes = []
    create = client.command(
        "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": database, "t": LATEST_TABLE},
    )
    if BLOCK_NUMBERS not in str(create):
        client.command(f"ALTER TABLE `{database}`.`{LATEST_TABLE}` MODIFY SETTING {BLOCK_NUMBERS}")
        changes.append(f"set {LATEST_TABLE}.{BLOCK_NUMBERS}")
    if CHECKPOINT_TABLE not in found:
        client.command(create_checkpoint_sql(database))
        changes.append(f"created {CHECKPOINT_TABLE}")
    return changes
