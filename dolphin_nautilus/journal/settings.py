"""The journal's and the ClickHouse store's settings, status and errors: what a process needs to configure,
watch or handle them without loading the ClickHouse client (clickhouse-connect, chDB, pyarrow). A trading
process whose stores run in the store service never loads that client itself, which keeps its start short.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from dolphin_nautilus.journal.schema import DECIMAL


class StoreError(Exception):
    pass


class StoreBusy(StoreError):
    """The chDB path is held by another process."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or cannot take writes right now; retry later."""


class BadRows(StoreError):
    """ClickHouse rejected the data itself (parse error, overflow, ...); retrying will not help."""


class StoreConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    namespace: str
    backend: Literal["chdb", "http"] = "chdb"
    chdb_path: str = ""  # directory; required for the chdb backend
    host: str = "localhost"
    port: int = 8123
    username: str = "default"
    secure: bool = False
    connect_timeout: float = 5.0
    send_receive_timeout: float = 60.0
    money_type: str = DECIMAL


class JournalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    spool_dir: str
    batch_size: int = 50_000  # most facts per WAL record / insert (a bigger one costs chDB less per row)
    flush_interval: float = 0.05  # seconds: the longest a fact waits before its batch is written
    retry_initial: float = 0.1  # seconds before the first retry when ClickHouse is unavailable
    retry_max: float = 5.0
    segment_bytes: int = 64 << 20


class JournalStatus(msgspec.Struct, kw_only=True):
    appended: int = 0  # facts taken by append() (including ones still queued)
    accepted: int = 0  # facts fsync'd to the WAL
    batches: int = 0  # WAL records (one per batch) written
    written: int = 0  # facts inserted into ClickHouse (directly or by replay)
    spooled: int = 0  # facts accepted while ClickHouse was unavailable, or whose insert failed
    replayed: int = 0  # facts inserted from the spool after an outage or a restart
    quarantined: int = 0  # facts ClickHouse (or the encoder) rejected as bad data
    failures: int = 0  # failed insert attempts (unavailable)
    sink_failures: int = 0
    backlog: bool = False  # True while the spool holds records not yet in ClickHouse
    last_error: str = ""


class QueryResult(msgspec.Struct, frozen=True):
    """Rows of a read-only query. The names are clickhouse-connect's, so a reader written against a `Client`
    (`client.query(sql, parameters=...).result_rows`) reads through a store, in-process or by RPC, alike."""

    column_names: list[str]
    result_rows: list[tuple[Any, ...]]
