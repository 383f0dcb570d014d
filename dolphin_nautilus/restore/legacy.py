"""Read a legacy BLUE `position_state` table for restore, through any clickhouse-connect `Client`.

The schema is detected from system.columns (legacy tables name the instrument `asset`, have no seq, and
order by timestamps such as `ts`/`updated_at`/`created_at`). The latest row per trade is chosen in SQL
(argMax), so only one or two rows per trade leave the database. When several rows share the latest
timestamp, the most and the least conservative of them are both returned and decide() resolves the tie
and records it. Never raises: an unreadable table is an `unreachable` source, a bad row a rejection.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from dolphin_nautilus.restore.candidates import Rejection, SourceBatch, parse_legacy_rows
from dolphin_nautilus.restore.values import INSTRUMENT_KEYS, OPENED_KEYS, TS_KEYS, excerpt

LEGACY_SOURCE = "legacy_position_state"
REQUIRED_COLUMNS = ("trade_id", "status", "quantity")


def read_legacy_position_state(
    client: Any,
    database: str,
    table: str = "position_state",
    *,
    source: str = LEGACY_SOURCE,
    closed_for_trade_ids: Collection[str] | None = None,
) -> SourceBatch:
    """The latest legacy row per trade as candidates.

    `closed_for_trade_ids`: None returns every trade; a collection returns trades whose latest row is
    CLOSED/TOMBSTONED only when their id is in it (the ids other sources hold open), so the result grows
    with open slots rather than with history.
    """
    try:
        columns = _columns(client, database, table)
    except Exception as exc:  # noqa: BLE001 - a store failure is an unreachable source, not a crash
        return SourceBatch(name=source, unreachable=f"reading columns of {database}.{table} failed: {exc!r}")
    if not columns:
        return SourceBatch(name=source, unreachable=f"table {database}.{table} not found")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing or not any(k in columns for k in INSTRUMENT_KEYS):
        return SourceBatch(
            name=source,
            unreachable=f"{database}.{table} is not a position_state table "
            f"(missing {missing or 'an instrument/asset column'}; columns {sorted(columns)})",
        )
    order = _order_terms(columns)
    if not order:
        return SourceBatch(name=source, unreachable=f"{database}.{table} has no seq or timestamp column to order by")
    sql, parameters = _latest_rows_sql(columns, order, database, table, closed_for_trade_ids)
    try:
        result = client.query(sql, parameters=parameters)
    except Exception as exc:  # noqa: BLE001
        return SourceBatch(name=source, unreachable=f"querying {database}.{table} failed: {exc!r}")
    return _to_batch(list(columns), result.result_rows, source)


def _columns(client: Any, database: str, table: str) -> dict[str, str]:
    result = client.query(
        # EPHEMERAL columns are listed but cannot be selected (our own schema has one for nanosecond inserts).
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {tbl:String} "
        "AND default_kind != 'EPHEMERAL' ORDER BY position",
        parameters={"db": database, "tbl": table},
    )
    return {name: type_ for name, type_ in result.result_rows}


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _order_terms(columns: dict[str, str]) -> list[str]:
    """seq (when present), then every timestamp column; text timestamps parsed, NULLs as the type's default."""
    terms = []
    for name in ("seq", *TS_KEYS):
        if name not in columns:
            continue
        expr = _quote(name)
        if "String" in columns[name]:
            expr = f"parseDateTime64BestEffortOrNull(toString({expr}), 9)"
        terms.append(f"coalesce({expr}, defaultValueOfArgumentType({expr}))")
    return terms


def _latest_rows_sql(
    columns: dict[str, str], order: list[str], database: str, table: str, closed_ids: Collection[str] | None
) -> tuple[str, dict[str, Any]]:
    row = "tuple(" + ", ".join(_quote(c) for c in columns) + ")"
    # Conservative rank: a close, then a retraction, then anything else. With it, among rows tied on the
    # latest order key, `newest` is the most conservative and `newest_other` the least (the tie is visible).
    rank = (
        "multiIf(upper(toString(status)) IN ('CLOSED', 'TOMBSTONED'), 0, "
        "toFloat64OrNull(toString(quantity)) <= 0, 1, 2)"
    )
    if "notional" in columns:
        rank = rank.replace(", 1, 2)", ", 1, toFloat64OrNull(toString(notional)) <= 0, 1, 2)")
    tiebreak = f"cityHash64(toString({row}))"
    ts_terms = order[1:] if "seq" in columns else order
    first_ts = ts_terms[0] if ts_terms else "NULL"
    where = ""
    candidates = ""
    parameters: dict[str, Any] = {}
    if closed_ids is not None:
        # A trade whose latest row is open has at least one open row: aggregate only those trades (and the
        # ids asked for), so the GROUP BY and the row tuples cost what the open slots cost, not the history.
        table_sql = f"{_quote(database)}.{_quote(table)}"
        candidates = (
            f"WHERE toString(trade_id) IN (SELECT toString(trade_id) FROM {table_sql} "
            "WHERE upper(toString(status)) NOT IN ('CLOSED', 'TOMBSTONED')) "
            "OR toString(trade_id) IN {ids:Array(String)}"
        )
        where = (
            "WHERE upper(toString(tupleElement(newest, {status_pos:UInt32}))) NOT IN ('CLOSED', 'TOMBSTONED') "
            "OR trade_key IN {ids:Array(String)}"
        )
        parameters = {"status_pos": list(columns).index("status") + 1, "ids": sorted(closed_ids)}
    sql = f"""
        SELECT newest, newest_other, first_ts FROM (
            SELECT toString(trade_id) AS trade_key,
                   argMax({row}, tuple({", ".join(order)}, -{rank}, {tiebreak})) AS newest,
                   argMax({row}, tuple({", ".join(order)}, {rank}, {tiebreak})) AS newest_other,
                   min({first_ts}) AS first_ts
            FROM {_quote(database)}.{_quote(table)}
            {candidates}
            GROUP BY trade_key
        ) {where}
        ORDER BY trade_key
    """
    return sql, parameters


def _to_batch(names: list[str], rows: list[tuple[Any, ...]], source: str) -> SourceBatch:
    records: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    for newest, newest_other, first_ts in rows:
        try:
            for values in (newest,) if newest == newest_other else (newest, newest_other):
                record = dict(zip(names, values, strict=True))
                if not any(record.get(k) is not None for k in OPENED_KEYS):
                    record["opened_ts"] = first_ts
                records.append(record)
        except Exception as exc:  # noqa: BLE001 - e.g. a row whose shape does not match the columns
            rejections.append(
                Rejection(source=source, trade_id="", reason=f"unreadable row: {exc!r}", raw_excerpt=excerpt(newest))
            )
    batch = parse_legacy_rows(records, source)
    return SourceBatch(
        name=source, candidates=batch.candidates, rejections=(*rejections, *batch.rejections), warnings=batch.warnings
    )
