"""ClickHouse store: one clickhouse-connect `Client`, embedded chDB or a server over HTTP, the same SQL.

Writers call `insert_rows` / `insert_facts`; readers (restore, dolphin-ctl) call `latest_position_states`,
`open_position_states`, `recent_anomalies`, `count`, `foreign_namespace_rows`, and `query` for a read-only
SELECT whose SQL the reader owns (restore's legacy-table reader). The password is handed in by the caller,
which read it once at start (`config.Secrets`); this module never reads the environment.

chDB allows one process per data path (the engine locks `<path>/status`). A second process gets
`StoreBusy` naming the path and the holder, instead of chDB's generic start-up error.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import os
import re
import threading
import time
from collections.abc import Buffer, Iterable, Sequence
from decimal import Decimal
from typing import Any

import clickhouse_connect
import msgspec
import pyarrow as pa
import pyarrow.json as pa_json
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from dolphin_nautilus.domain.facts import Fact
from dolphin_nautilus.journal.open_set import (
    LATEST_ORDER,
    checkpoint_block_sql,
    checkpoint_sql,
    latest_block_sql,
    may_be_open_sql,
    open_candidates_sql,
)
from dolphin_nautilus.journal.schema import (
    CHECKPOINT_TABLE,
    LATEST_TABLE,
    NS_SUFFIX,
    TableSpec,
    database_name,
    ensure_schema,
    is_timestamp_field,
    table_specs,
)
from dolphin_nautilus.journal.settings import (
    BadRows,
    QueryResult,
    StoreBusy,
    StoreConfig,
    StoreError,
    StoreUnavailable,
)

# ClickHouse error codes that mean "this data is bad", as opposed to "the store is unavailable".
# Only these may quarantine a row; any other failure keeps the row in the spool and retries.
DATA_ERROR_CODES = frozenset({6, 25, 26, 27, 32, 33, 38, 41, 53, 69, 70, 72, 117, 131, 321, 407})
_CODE = re.compile(rb"Code: (\d+)\.")


def error_code(exc: BaseException) -> int | None:
    match = _CODE.search(str(exc).encode(errors="replace"))
    return int(match.group(1)) if match else None


def classify(exc: BaseException) -> StoreError:
    """Map a client exception to BadRows (data rejected) or StoreUnavailable (anything else)."""
    if (
        isinstance(exc, ClickHouseError)
        and not isinstance(exc, OperationalError)
        and error_code(exc) in DATA_ERROR_CODES
    ):
        return BadRows(str(exc))
    return StoreUnavailable(f"{type(exc).__name__}: {exc}")


def _chdb_lock_holder(path: str) -> str | None:
    """Who holds the chDB engine lock on `path`, or None if nobody does."""
    status = os.path.join(path, "status")
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return os.read(fd, 4096).decode(errors="replace").strip().replace("\n", "; ") or "unknown"
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


_READ_ONLY_SQL = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)


def open_client(config: StoreConfig, password: str = ""):
    if config.backend == "chdb":
        if not config.chdb_path:
            raise StoreError("chdb backend needs chdb_path (a directory)")
        path = os.path.realpath(config.chdb_path)
        os.makedirs(path, exist_ok=True)
        try:
            return clickhouse_connect.get_client(dsn=f"chdb://{path}")
        except Exception as exc:
            holder = _chdb_lock_holder(path)
            if holder is not None:
                raise StoreBusy(f"chDB path {path} is in use by another process ({holder})") from exc
            raise StoreUnavailable(f"cannot open chDB at {path}: {exc}") from exc
    try:
        return clickhouse_connect.get_client(
            host=config.host,
            port=config.port,
            username=config.username,
            password=password,
            secure=config.secure,
            connect_timeout=config.connect_timeout,
            send_receive_timeout=config.send_receive_timeout,
        )
    except Exception as exc:
        raise StoreUnavailable(f"cannot reach ClickHouse at {config.host}:{config.port}: {type(exc).__name__}") from exc


def row_id_from_blob(table: str, blob: bytes) -> int:
    """`Fact.row_id`, computed from the fact's msgpack bytes the writer already has (same formula)."""
    digest = hashlib.blake2b(table.encode() + b"|" + blob, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@functools.cache
def _keyed_hash(table: str) -> Any:
    """blake2b (8-byte digest) that has already taken `table|`: a copy of it hashes one fact."""
    return hashlib.blake2b(table.encode() + b"|", digest_size=8)


def row_ids_from_blobs(table: str, blobs: Iterable[Buffer]) -> list[int]:
    """`row_id_from_blob` for many facts of one table, from any buffer of each fact's bytes (the writer passes
    views into its WAL record): the same digest, fed `table|` once and then each fact, without joining bytes."""
    copy, from_bytes = _keyed_hash(table).copy, int.from_bytes
    ids = []
    for blob in blobs:
        hasher = copy()
        hasher.update(blob)
        ids.append(from_bytes(hasher.digest(), "big") >> 1)
    return ids


_astuple = msgspec.structs.astuple
INSERT_FORMAT = "ArrowStream"
_ENCODE_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)


def _arrow_type(name: str, annotation: object) -> pa.DataType | None:
    """The Arrow type a fact field travels as; None for money (Decimal), which travels as its text so that
    ClickHouse parses it into the column's own type (Decimal(38, 18) or Float64) exactly as it parses JSON."""
    if annotation is Decimal or annotation == "Decimal":
        return None
    if annotation is bool or annotation == "bool":
        return pa.bool_()
    if annotation is int or annotation == "int":
        return pa.int64()  # timestamps too: UNIX ns into the EPHEMERAL <name>__ns Int64 column
    return pa.string()


@functools.cache
def _layout(fact_type: type[Fact]) -> tuple[list[str], list[pa.DataType | None], pa_json.ParseOptions]:
    """Insert column names (`TableSpec.insert_columns` order), the Arrow type of each fact field, and the
    options that read the fact's JSON lines straight into those types (money as its text)."""
    fields = msgspec.structs.fields(fact_type)
    names = ["namespace", "row_id"] + [f.name + NS_SUFFIX if is_timestamp_field(f.name) else f.name for f in fields]
    types = [_arrow_type(f.name, f.type) for f in fields]
    schema = pa.schema([(f.name, pa.string() if t is None else t) for f, t in zip(fields, types, strict=True)])
    return names, types, pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")


_json_lines = msgspec.json.Encoder().encode_lines
_JSON_READ = pa_json.ReadOptions(use_threads=False, block_size=1 << 30)  # one block: one chunk per column


def encode_rows(namespace: str, rows: Iterable[tuple[int, Fact]]) -> bytes:
    """`encode_columns` for (row_id, fact) pairs."""
    pairs = list(rows)
    return encode_columns(namespace, [row_id for row_id, _ in pairs], [fact for _, fact in pairs])


# Facts per msgpack/msgspec call on the journal writer: short enough that the build and insert threads get the
# GIL between calls (one call over a whole batch held it for tens of ms). The output is that of one call.
FACTS_PER_CALL = 1024


def fact_lines(facts: Sequence[Fact]) -> bytes | None:
    """The facts as JSON lines: what `encode_columns` reads; None if msgspec refuses them."""
    try:
        return b"".join([_json_lines(facts[i : i + FACTS_PER_CALL]) for i in range(0, len(facts), FACTS_PER_CALL)])
    except _ENCODE_ERRORS:
        return None


def encode_columns(namespace: str, row_ids: Sequence[int], facts: Sequence[Fact], lines: bytes | None = None) -> bytes:
    """An Arrow IPC stream (ClickHouse's `ArrowStream` input) of one table's rows: namespace, row_id, then the
    fact's fields, one column each; ClickHouse reads the columns without parsing text (money excepted).
    Arrow's JSON reader, which holds no GIL, reads the facts' JSON lines (`fact_lines`, or `lines` when the
    caller made them already) into the columns; a batch that reader refuses takes the per-value path, where a
    value that does not fit its column raises BadRows, as ClickHouse would."""
    if not facts:
        return b""
    names, types, parse = _layout(type(facts[0]))
    if lines is None:
        lines = fact_lines(facts)
    try:
        if lines is None:
            raise TypeError("msgspec cannot encode these facts as JSON")
        columns = pa_json.read_json(pa.py_buffer(lines), read_options=_JSON_READ, parse_options=parse).columns
    except _ENCODE_ERRORS:
        columns = _columns(facts, types)
    try:
        ids = pa.array(row_ids, pa.uint64())
        table = pa.Table.from_arrays([pa.repeat(namespace, len(facts)), ids, *columns], names)
    except _ENCODE_ERRORS as exc:
        raise BadRows(f"Code: 6. rows do not fit their columns: {type(exc).__name__}: {exc}") from exc
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _columns(facts: Sequence[Fact], types: list[pa.DataType | None]) -> list[pa.Array]:
    """The fact fields as Arrow columns, value by value (money as its text); BadRows for a value that does not fit."""
    try:
        return [
            pa.array(list(map(str, column)), pa.string()) if arrow_type is None else pa.array(column, arrow_type)
            for column, arrow_type in zip(zip(*map(_astuple, facts), strict=True), types, strict=True)
        ]
    except _ENCODE_ERRORS as exc:
        raise BadRows(f"Code: 6. rows do not fit their columns: {type(exc).__name__}: {exc}") from exc


class ClickHouseStore:
    """Wraps one clickhouse-connect Client bound to one namespace's database."""

    def __init__(self, config: StoreConfig, *, password: str = "", migrate: bool = True):
        self.config = config
        self.namespace = config.namespace
        self.database = database_name(config.namespace)
        self.specs: dict[str, TableSpec] = table_specs(config.money_type)
        self.client = open_client(config, password)
        # Held by every insert and while the open-set checkpoint reads its block number (journal.open_set).
        self.write_lock = threading.Lock()
        self.schema_changes: list[str] = (
            ensure_schema(self.client, self.namespace, config.money_type) if migrate else []
        )

    # ---- writes -------------------------------------------------------------------------------
    def ping(self) -> bool:
        try:
            return self.client.ping()
        except Exception:  # noqa: BLE001 - any failure to answer means "not reachable now"
            return False

    def insert_rows(self, table: str, payload: bytes) -> None:
        """Insert a payload made by `encode_rows`. Raises BadRows or StoreUnavailable."""
        spec = self.specs[table]
        try:
            with self.write_lock:
                self.client.raw_insert(
                    f"`{self.database}`.`{table}`",
                    list(spec.insert_columns),
                    insert_block=payload,
                    fmt=INSERT_FORMAT,
                )
        except Exception as exc:
            raise classify(exc) from exc

    def insert_facts(self, facts: Sequence[Fact]) -> None:
        """Synchronous insert, grouped by table (tests, tools, backfills; the Journal is the hot-path writer)."""
        by_table: dict[str, list[tuple[int, Fact]]] = {}
        for fact in facts:
            by_table.setdefault(fact.table, []).append((fact.row_id, fact))
        for table, rows in by_table.items():
            self.insert_rows(table, encode_rows(self.namespace, rows))

    # ---- reads --------------------------------------------------------------------------------
    def _dicts(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        result = self.client.query(sql, parameters=parameters or {})
        return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

    def _latest_sql(self, where: str = "") -> str:
        # LIMIT 1 BY reads the right row whether or not the engine has merged yet; (seq, ts) is restore's order,
        # and an exact tie takes the conservative row (journal.open_set.LATEST_ORDER), the same in every reader.
        # *_ns: exact nanosecond ints beside the DateTime64 columns (Python datetimes stop at microseconds).
        return (
            f"SELECT *, toUnixTimestamp64Nano(ts) AS ts_ns, toUnixTimestamp64Nano(opened_ts) AS opened_ts_ns "
            f"FROM `{self.database}`.`{LATEST_TABLE}` {where} "
            f"ORDER BY trade_id, {LATEST_ORDER} LIMIT 1 BY trade_id"
        )

    def latest_position_states(self, trade_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """The latest position_state row per trade (any status), from the engine-maintained latest table."""
        if trade_ids is None:
            return self._dicts(self._latest_sql())
        if not trade_ids:
            return []
        return self._dicts(self._latest_sql("WHERE trade_id IN {ids:Array(String)}"), {"ids": list(trade_ids)})

    def open_position_states(self, *, use_checkpoint: bool = True) -> list[dict[str, Any]]:
        """Latest rows whose status is OPEN: filtered AFTER choosing the latest (docs/design.md §5.1).

        With a checkpoint (journal.open_set) only the checkpoint's trades and the trades with an OPEN row written
        since are read, so the cost follows the open slots and the recent opens, not the history, merged or not.
        Without one (or with `use_checkpoint=False`, the reference the tests compare with) the whole latest table
        is aggregated. Either way one statement does the work in ClickHouse: the candidate ids are its subquery
        (the primary key, trade_id, picks the granules from the set it builds), and only the open rows leave it."""
        block = self.checkpoint_block() if use_checkpoint else None
        latest = self._latest_sql(f"WHERE trade_id IN ({self._may_be_open_sql(block)})")
        return self._dicts(f"SELECT * FROM ({latest}) WHERE status = 'OPEN' ORDER BY trade_id")

    def open_checkpoint(self) -> tuple[int, list[str]] | None:
        """The newest open-set checkpoint: (as of block, ids of the trades that may be open), or None."""
        rows = self.client.query(checkpoint_sql(self.database, CHECKPOINT_TABLE)).result_rows
        return (int(rows[0][0]), list(rows[0][1])) if rows else None

    def checkpoint_block(self) -> int | None:
        """The block of the newest open-set checkpoint, or None when there is none."""
        rows = self.client.query(checkpoint_block_sql(self.database, CHECKPOINT_TABLE)).result_rows
        return int(rows[0][0]) if rows else None

    def _may_be_open_sql(self, block: int | None) -> str:
        """A subquery of the ids of the trades that may be open now (journal.open_set): from the checkpoint as of
        `block` and the trades with an OPEN row after it, or from the whole latest table when `block` is None."""
        if block is None:
            return may_be_open_sql(self.database, LATEST_TABLE)
        return open_candidates_sql(self.database, LATEST_TABLE, CHECKPOINT_TABLE, block)

    def latest_block(self) -> int:
        """The highest insert block number of the latest table (0 when empty)."""
        return int(self.client.command(latest_block_sql(self.database, LATEST_TABLE)) or 0)

    def write_open_checkpoint(self, *, only_if_new: bool = False) -> int | None:
        """Write the trades that may be open as of the latest block (read under the write lock: no insert is in
        flight, so every block up to it is committed); computed from the previous checkpoint when there is one
        (journal.open_set), in one INSERT ... SELECT. Returns the block, or None when `only_if_new` and nothing
        was written since."""
        previous = self.checkpoint_block()
        with self.write_lock:
            block = self.latest_block()
        if only_if_new and previous is not None and previous >= block:
            return None
        may_be_open = may_be_open_sql(
            self.database, LATEST_TABLE, f"WHERE trade_id IN ({self._may_be_open_sql(previous)})"
        )
        self.client.command(
            f"INSERT INTO `{self.database}`.`{CHECKPOINT_TABLE}` (as_of_block, taken_ts, open_trade_ids) "
            "SELECT {block:UInt64}, fromUnixTimestamp64Nano({ts:Int64}, 'UTC'), arraySort(groupArray(trade_id)) "
            f"FROM ({may_be_open})",
            parameters={"block": block, "ts": time.time_ns()},
        )
        return block

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        """A read-only SELECT (or WITH ... SELECT); anything else is refused before it reaches ClickHouse."""
        if not _READ_ONLY_SQL.match(sql):
            raise ValueError("store query: only SELECT statements are allowed")
        result = self.client.query(sql, parameters=parameters or {})
        return QueryResult(column_names=list(result.column_names), result_rows=list(result.result_rows))

    def recent_anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._dicts(
            f"SELECT * FROM `{self.database}`.`anomalies` FINAL ORDER BY ts DESC, row_id LIMIT {{n:UInt32}}",
            {"n": int(limit)},
        )

    def count(self, table: str, *, final: bool = True) -> int:
        """Rows in a table; FINAL (default) counts each row_id once even before background merges."""
        if table not in self.specs and table != LATEST_TABLE:
            raise ValueError(f"unknown table {table!r}")
        if table == LATEST_TABLE:
            return len(self.latest_position_states())
        return int(self.client.command(f"SELECT count() FROM `{self.database}`.`{table}`{' FINAL' if final else ''}"))

    def row_ids(self, table: str) -> set[int]:
        result = self.client.query(f"SELECT DISTINCT row_id FROM `{self.database}`.`{table}`")
        return {row[0] for row in result.result_rows}

    def foreign_namespace_rows(self, limit: int = 100) -> list[dict[str, Any]]:
        """Rows whose namespace is not ours, across all tables (for `dolphin-ctl mode-verify`)."""
        out: list[dict[str, Any]] = []
        for table in [*self.specs, LATEST_TABLE]:
            rows = self._dicts(
                f"SELECT row_id, namespace, ts FROM `{self.database}`.`{table}` "
                "WHERE namespace != {ns:String} LIMIT {n:UInt32}",
                {"ns": self.namespace, "n": int(limit)},
            )
            out += [{"table": table, **row} for row in rows]
        return out[:limit]

    def optimize(self, table: str) -> None:
        self.client.command(f"OPTIMIZE TABLE `{self.database}`.`{table}` FINAL")

    def close(self) -> None:
        self.client.close()
