"""The store-service protocol: typed msgspec messages (tagged unions) over one socket, and typed errors.

Trading process -> service: first a `ServiceSpec` (what to open, the secrets, the lease holder id), then
  `FactBatch`  a batch of facts as one `journal.record` (the service's WAL stores these bytes as they are)
  `Call`       a `Request` (a tagged union: journal flush/sync/status/close, lease status, the store
               readers, the live-state reads and writes); the service answers it with `Reply` or `Failure`.
Service -> trading process: `Ready` or `StartFailed` once, then
  `Ack`        batch ids whose facts are fsync'd to the service's WAL
  `Reply`      the request's result, decoded by the caller with the request's `REPLY_TYPES` entry
  `Failure`    an `ErrorReport`: an `ErrorKind` from one table (`ERROR_KINDS`), so the caller raises the same
               exception class (StoreBusy, LeaseHeld, ...) with the service's message.

Reader results hold ClickHouse values (Decimal, datetime, date) inside `Any`; `encode_value` tags those as
msgpack extensions so they come back as the same Python types (msgspec alone would turn them into strings).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import msgspec

from dolphin_nautilus.journal.schema import SchemaError, SchemaMismatch
from dolphin_nautilus.journal.settings import (
    BadRows,
    JournalStatus,
    QueryResult,
    StoreBusy,
    StoreError,
    StoreUnavailable,
)
from dolphin_nautilus.state.lease import LeaseStatus
from dolphin_nautilus.state.store import (
    LeaseHeld,
    LeaseLost,
    LiveEntries,
    NotLeaseHolder,
    StateStoreError,
    StateUnavailable,
)
from dolphin_nautilus.stores.spec import StoreSecrets, StoresSpec


class StoreServiceError(RuntimeError):
    """The store service failed, or could not start, for a reason that is not a store error."""


class ServiceDied(StoreServiceError):
    """The service process went away while a request was in flight; it is being restarted."""


class BadRequest(StoreServiceError):
    """The service could not read a request (unknown kind or malformed)."""


# ---- errors: one table, both directions ---------------------------------------------------------------
ErrorKind = Literal[
    "store_busy",
    "store_unavailable",
    "bad_rows",
    "schema_mismatch",
    "schema_error",
    "store_error",
    "lease_held",
    "lease_lost",
    "not_lease_holder",
    "state_unavailable",
    "state_error",
    "bad_request",
    "value_error",
    "key_error",
    "type_error",
    "timeout",
    "internal",
]
# Most specific first: a raised exception maps to the first kind whose class it is an instance of.
ERROR_KINDS: dict[ErrorKind, type[Exception]] = {
    "store_busy": StoreBusy,
    "store_unavailable": StoreUnavailable,
    "bad_rows": BadRows,
    "schema_mismatch": SchemaMismatch,
    "schema_error": SchemaError,
    "store_error": StoreError,
    "lease_held": LeaseHeld,
    "lease_lost": LeaseLost,
    "not_lease_holder": NotLeaseHolder,
    "state_unavailable": StateUnavailable,
    "state_error": StateStoreError,
    "bad_request": BadRequest,
    "value_error": ValueError,
    "key_error": KeyError,
    "type_error": TypeError,
    "timeout": TimeoutError,
    "internal": StoreServiceError,
}


class ErrorReport(msgspec.Struct, frozen=True):
    kind: ErrorKind
    message: str


def report_error(exc: BaseException) -> ErrorReport:
    kind: ErrorKind | None = next((k for k, cls in ERROR_KINDS.items() if isinstance(exc, cls)), None)
    if kind is None:
        return ErrorReport("internal", f"{type(exc).__name__}: {exc}")
    return ErrorReport(kind, str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))


def raise_error(report: ErrorReport) -> Exception:
    """The exception to raise for a report: the same class as in the service, the same message."""
    return ERROR_KINDS[report.kind](report.message)


# ---- start-up -----------------------------------------------------------------------------------------
class ServiceSpec(msgspec.Struct, frozen=True, kw_only=True):
    stores: StoresSpec
    secrets: StoreSecrets
    node_id: str  # the lease holder id the service takes the namespace's lease under

    def __repr__(self) -> str:  # the secrets never reach a log line through a repr
        return f"ServiceSpec(namespace={self.stores.namespace!r}, node_id={self.node_id!r}, secrets={self.secrets!r})"


class Ready(msgspec.Struct, frozen=True, tag="ready", array_like=True):
    pid: int


class StartFailed(msgspec.Struct, frozen=True, tag="start_failed", array_like=True):
    error: ErrorReport


# ---- requests (a tagged union; the union itself is the whitelist) -------------------------------------
class Flush(msgspec.Struct, frozen=True, tag="flush"):
    timeout: float | None = None


class Sync(msgspec.Struct, frozen=True, tag="sync"):
    timeout: float | None = None


class JournalStatusRequest(msgspec.Struct, frozen=True, tag="journal_status"):
    pass


class ServiceInfoRequest(msgspec.Struct, frozen=True, tag="info"):
    pass


class CloseService(msgspec.Struct, frozen=True, tag="close"):
    pass


class LeaseStatusRequest(msgspec.Struct, frozen=True, tag="lease_status"):
    pass


class LatestPositionStates(msgspec.Struct, frozen=True, tag="latest_position_states"):
    trade_ids: list[str] | None = None


class OpenPositionStates(msgspec.Struct, frozen=True, tag="open_position_states"):
    pass


class RecentAnomalies(msgspec.Struct, frozen=True, tag="recent_anomalies"):
    limit: int = 100


class CountRows(msgspec.Struct, frozen=True, tag="count"):
    table: str
    final: bool = True


class RowIds(msgspec.Struct, frozen=True, tag="row_ids"):
    table: str


class ForeignNamespaceRows(msgspec.Struct, frozen=True, tag="foreign_namespace_rows"):
    limit: int = 100


class Ping(msgspec.Struct, frozen=True, tag="ping"):
    pass


class SelectQuery(msgspec.Struct, frozen=True, tag="query"):
    sql: str
    parameters: dict[str, Any] = {}


class StateGet(msgspec.Struct, frozen=True, tag="state_get"):
    key: str


class StateEntries(msgspec.Struct, frozen=True, tag="state_entries"):
    pass


class StateReadEntries(msgspec.Struct, frozen=True, tag="state_read_entries"):
    """Every entry decoded one by one (a malformed value is listed with its key, never fatal)."""


class StateLeaseHolder(msgspec.Struct, frozen=True, tag="state_lease_holder"):
    pass


class StateWrite(msgspec.Struct, frozen=True, tag="state_write"):
    changes: dict[str, dict[str, Any] | None]


class StateCompareAndSet(msgspec.Struct, frozen=True, tag="state_cas"):
    key: str
    expected: dict[str, Any] | None
    new: dict[str, Any] | None


Request = (
    Flush
    | Sync
    | JournalStatusRequest
    | ServiceInfoRequest
    | CloseService
    | LeaseStatusRequest
    | LatestPositionStates
    | OpenPositionStates
    | RecentAnomalies
    | CountRows
    | RowIds
    | ForeignNamespaceRows
    | Ping
    | SelectQuery
    | StateGet
    | StateEntries
    | StateReadEntries
    | StateLeaseHolder
    | StateWrite
    | StateCompareAndSet
)


class ServiceInfo(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    namespace: str
    database: str
    nautilus_loaded: bool


Rows = list[dict[str, Any]]
REPLY_TYPES: dict[type, Any] = {
    Flush: bool,
    Sync: bool,
    JournalStatusRequest: JournalStatus,
    ServiceInfoRequest: ServiceInfo,
    CloseService: JournalStatus,
    LeaseStatusRequest: LeaseStatus,
    LatestPositionStates: Rows,
    OpenPositionStates: Rows,
    RecentAnomalies: Rows,
    CountRows: int,
    RowIds: set[int],
    ForeignNamespaceRows: Rows,
    Ping: bool,
    SelectQuery: QueryResult,
    StateGet: dict[str, Any] | None,
    StateEntries: dict[str, dict[str, Any]],
    StateReadEntries: LiveEntries,
    StateLeaseHolder: str | None,
    StateWrite: None,
    StateCompareAndSet: bool,
}


# ---- the envelope -------------------------------------------------------------------------------------
class FactBatch(msgspec.Struct, frozen=True, tag="facts", array_like=True):
    batch_id: int
    count: int  # facts in the record
    record: bytes  # a journal.record, as the trading process encoded it


class Call(msgspec.Struct, frozen=True, tag="call", array_like=True):
    request_id: int
    request: msgspec.Raw  # a Request; decoded in the service so a bad one is answered, not fatal


class Ack(msgspec.Struct, frozen=True, tag="ack", array_like=True):
    batch_ids: list[int]


class Reply(msgspec.Struct, frozen=True, tag="reply", array_like=True):
    request_id: int
    value: msgspec.Raw  # encode_value(result)


class Failure(msgspec.Struct, frozen=True, tag="failure", array_like=True):
    request_id: int
    error: ErrorReport


ToService = FactBatch | Call
FromService = Ready | StartFailed | Ack | Reply | Failure

_encoder = msgspec.msgpack.Encoder()
to_service_decoder = msgspec.msgpack.Decoder(ToService)
request_decoder = msgspec.msgpack.Decoder(Request)
spec_decoder = msgspec.msgpack.Decoder(ServiceSpec)
from_service_decoder = msgspec.msgpack.Decoder(FromService)


def encode(message: msgspec.Struct) -> bytes:
    return _encoder.encode(message)


def call_message(request_id: int, request: msgspec.Struct) -> bytes:
    return _encoder.encode(Call(request_id, msgspec.Raw(_encoder.encode(request))))


# ---- values with ClickHouse types ---------------------------------------------------------------------
_DECIMAL, _DATETIME, _DATE = 1, 2, 3


def encode_value(value: Any) -> bytes:
    return _encoder.encode(_tagged(value))


def decode_value(raw: msgspec.Raw | bytes, type_: Any) -> Any:
    return msgspec.msgpack.decode(raw, type=type_, ext_hook=_untag)


def _tagged(value: Any) -> Any:
    if isinstance(value, msgspec.Struct):  # a typed reply: its fields may hold ClickHouse values too
        return type(value)(**{f: _tagged(getattr(value, f)) for f in value.__struct_fields__})
    if isinstance(value, Decimal):
        return msgspec.msgpack.Ext(_DECIMAL, str(value).encode())
    if isinstance(value, dt.datetime):
        return msgspec.msgpack.Ext(_DATETIME, value.isoformat().encode())
    if isinstance(value, dt.date):
        return msgspec.msgpack.Ext(_DATE, value.isoformat().encode())
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_tagged(v) for v in value]
    return value


def _untag(code: int, data: memoryview) -> Any:
    text = bytes(data).decode()
    if code == _DECIMAL:
        return Decimal(text)
    if code == _DATETIME:
        return dt.datetime.fromisoformat(text)
    if code == _DATE:
        return dt.date.fromisoformat(text)
    raise ValueError(f"unknown value extension {code}")
