"""The journal: every fact to ClickHouse (8 row families), off the hot path, nothing lost (docs/design.md §4)."""

from dolphin_nautilus.journal.schema import SchemaError, SchemaMismatch, ensure_schema
from dolphin_nautilus.journal.store import (
    BadRows,
    ClickHouseStore,
    StoreBusy,
    StoreConfig,
    StoreError,
    StoreUnavailable,
)
from dolphin_nautilus.journal.writer import Journal, JournalConfig, JournalStatus

__all__ = [
    "BadRows",
    "ClickHouseStore",
    "Journal",
    "JournalConfig",
    "JournalStatus",
    "SchemaError",
    "SchemaMismatch",
    "StoreBusy",
    "StoreConfig",
    "StoreError",
    "StoreUnavailable",
    "ensure_schema",
]
