"""The trading process's side of the store service (`journal.service`): a Journal and a store reader by proxy.

The trading process never loads chDB or ClickHouse's client: `RemoteJournal` hands facts to a child
process that runs the real `Journal`, and `RemoteStoreReader` runs the `ClickHouseStore` reader methods
there by RPC.

Durability contract
-------------------
* `RemoteJournal.append(fact)` is a deque append on the caller's thread: nothing is encoded there. A fact
  in that deque is NOT safe: if the trading process dies, it is lost.
* A sender thread takes the deque in batches (every `send_interval` seconds, or sooner once `batch_size`
  facts are waiting), msgpack-encodes each batch once and sends it. The batch is kept in memory until the
  service ACKs it, and the service ACKs only after its Journal has fsync'd the batch to its WAL. From the
  ACK on, the batch is **accepted** (`status().accepted`, `sync()`), exactly as in the in-process Journal.
* kill -9 of the TRADING process: facts still in the deque or in unacked batches are lost (as with the
  in-process Journal's FIFO); accepted facts are in the WAL. The service sees the pipe close, writes what
  it received to its WAL (and to ClickHouse when it can) and exits; the next start replays the WAL.
* kill -9 of the SERVICE: accepted facts are in its WAL; the parent restarts the service (counted in
  `status().restarts`), whose Journal replays the WAL into ClickHouse first, and re-sends every unacked
  batch in order. A batch that the dead service had already written is written again with the same
  `row_id`s, which ClickHouse deduplicates, so nothing is lost or doubled.
* While the service cannot be restarted, batches stay in memory and are retried with backoff; `status()`
  shows the error. `flush(timeout)` waits until everything appended before it is in ClickHouse
  (False on timeout: accepted facts are then safe in the WAL); `close()` flushes and stops the service.
"""

from __future__ import annotations

import itertools
import logging
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from dolphin_nautilus.domain.facts import Fact
from dolphin_nautilus.journal.service import REJECTED_TABLE, Rejected, ServiceSpec

log = logging.getLogger(__name__)


class StoreServiceError(RuntimeError):
    """The store service failed, or could not start, for a reason that is not a store error."""


class ServiceDied(StoreServiceError):
    """The service process went away while a request was in flight; it is being restarted."""


_STORE_ERRORS = ("StoreBusy", "StoreUnavailable", "BadRows", "StoreError", "SchemaError", "SchemaMismatch")
_BUILTIN_ERRORS = {"ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError,
                   "TimeoutError": TimeoutError}


def remote_error(type_name: str, message: str) -> Exception:
    """The service's exception re-raised here with the same type (for ours and common builtins) and text."""
    if type_name in _STORE_ERRORS:
        from dolphin_nautilus import journal  # imported only on this rare path: it loads clickhouse_connect

        return getattr(journal, type_name)(message)
    if type_name == "LeaseHeld":
        from dolphin_nautilus.node.stores import LeaseHeld

        return LeaseHeld(message)
    if type_name in _BUILTIN_ERRORS:
        return _BUILTIN_ERRORS[type_name](message)
    return StoreServiceError(f"{type_name}: {message}")


class ServiceClient:
    """One store-service child at a time: start, RPC, death detection and restart with backoff."""

    def __init__(self, spec: ServiceSpec, *, start_timeout: float = 120.0) -> None:
        self._spec_bytes = msgspec.msgpack.encode(spec)
        self.start_timeout = start_timeout
        self.restarts = 0
        self.last_error = ""
        self.on_ack = lambda batch_ids: None
        self.on_death = lambda: None
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._ids = itertools.count(1)
        self._alive = threading.Event()
        self._closing = False
        self._closed = False
        self._generation = 0
        self._retry_at = 0.0
        self._retry_delay = 0.2
        self.process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._start()  # a first start that fails raises here (StoreBusy, ...)

    # ---- process ------------------------------------------------------------------------------
    def _start(self) -> None:
        parent_sock, child_sock = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "dolphin_nautilus.journal.service", str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),), start_new_session=True,  # Ctrl-C is the parent's to handle
            )
        finally:
            child_sock.close()
        conn = Connection(parent_sock.detach())
        try:
            conn.send_bytes(self._spec_bytes)
            if not conn.poll(self.start_timeout):
                raise StoreServiceError(f"store service did not start within {self.start_timeout:.0f}s")
            hello = conn.recv()
        except BaseException as exc:
            conn.close()
            process.kill()
            process.wait()
            if isinstance(exc, (EOFError, OSError)):
                raise StoreServiceError(f"store service exited during start-up (code {process.returncode})") from exc
            raise
        if hello[0] == "failed":
            conn.close()
            process.wait()
            raise remote_error(hello[1], hello[2])
        with self._lock:
            self.process, self._conn = process, conn
            self._generation += 1
            generation = self._generation
            self._alive.set()
        threading.Thread(target=self._receive, args=(conn, generation), name="store-service-receiver",
                         daemon=True).start()

    @property
    def alive(self) -> bool:
        return self._alive.is_set()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def restart(self) -> bool:
        """Start a new service if the current one died (with backoff between failed tries)."""
        if self._alive.is_set() or self._closing or time.monotonic() < self._retry_at:
            return self._alive.is_set()
        if self.process is not None:
            self.process.wait()
        try:
            self._start()
        except Exception as exc:  # noqa: BLE001 - keep what we hold, say why, retry later
            self.last_error = f"store service restart failed: {type(exc).__name__}: {exc}"[:500]
            log.error("%s; retrying in %.1fs", self.last_error, self._retry_delay)
            self._retry_at = time.monotonic() + self._retry_delay
            self._retry_delay = min(self._retry_delay * 2, 5.0)
            return False
        self.restarts += 1
        self._retry_delay = 0.2
        log.warning("store service restarted (pid %s, restart #%d)", self.pid, self.restarts)
        return True

    def _receive(self, conn: Connection, generation: int) -> None:
        try:
            while True:
                message = conn.recv()
                if message[0] == "ack":
                    self.on_ack(message[1])
                    continue
                _, request_id, ok, value = message
                future = self._pending.pop(request_id, None)
                if future is not None:
                    future.set_result(value) if ok else future.set_exception(remote_error(*value))
        except (EOFError, OSError):
            pass
        self._on_death(generation)

    def _on_death(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._alive.clear()
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(ServiceDied("store service exited while serving the request"))
        if not self._closing:
            self.last_error = f"store service (pid {self.pid}) exited with code {self.process.poll()}"
            log.error("%s; restarting it", self.last_error)
        self.on_death()

    # ---- messages -----------------------------------------------------------------------------
    def send(self, message: tuple) -> None:
        if not self._alive.is_set():
            raise ServiceDied("store service is not running")
        try:
            with self._send_lock:
                self._conn.send(message)
        except (OSError, ValueError) as exc:
            raise ServiceDied(f"store service unreachable: {exc}") from exc

    def call(self, op: str, *args: Any, timeout: float | None = 60.0, **kwargs: Any) -> Any:
        """Run `op` in the service; waits through a restart (requests are idempotent) until `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise StoreServiceError("store service is closed")
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._alive.wait(remaining):
                raise TimeoutError(f"store service not running ({self.last_error}); {op} not done")
            request_id = next(self._ids)
            future: Future = Future()
            with self._lock:  # registered under the lock, so a death in between cannot orphan the future
                if not self._alive.is_set():
                    continue
                self._pending[request_id] = future
            try:
                self.send(("call", request_id, op, args, kwargs))
                return future.result(None if deadline is None else max(0.0, deadline - time.monotonic()))
            except ServiceDied:
                self._alive.wait(0.05)
                continue
            except FutureTimeout:
                self._pending.pop(request_id, None)
                raise TimeoutError(f"store service: {op} got no answer within {timeout}s") from None

    def close(self, timeout: float = 30.0) -> dict | None:
        """Ask the service to close its journal and exit; returns its final journal status (None if dead)."""
        status = None
        self._closing = True
        try:
            if self._alive.is_set():
                status = self.call("close", timeout=timeout)
        except (StoreServiceError, TimeoutError) as exc:
            log.error("store service did not close cleanly: %s", exc)
        self._closed = True
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._conn is not None:
            self._conn.close()
        return status


class RemoteJournalStatus(msgspec.Struct, kw_only=True):
    """The Journal's status fields, plus the service's. `accepted` counts facts the service has ACKed
    (fsync'd to its WAL); `written` .. `last_error` are the current service process's own figures."""

    appended: int = 0
    accepted: int = 0
    batches: int = 0
    written: int = 0
    spooled: int = 0
    replayed: int = 0
    quarantined: int = 0
    failures: int = 0
    sink_failures: int = 0
    backlog: bool = False
    last_error: str = ""
    sent_batches: int = 0  # batches sent to the service (re-sends not counted)
    unacked: int = 0  # facts sent but not yet ACKed
    restarts: int = 0  # times the service was restarted after dying
    service_pid: int | None = None
    service_reachable: bool = True


class _Marker:
    __slots__ = ("last_batch", "ready")

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.last_batch = 0


_encoder = msgspec.msgpack.Encoder()


def encode_batch(facts: list) -> bytes:
    """msgpack list of (table, fact); an object that cannot be encoded travels as a Rejected entry."""
    try:
        return _encoder.encode([(fact.table, fact) for fact in facts])
    except Exception:  # noqa: BLE001 - find the bad ones; the rest go as usual
        return _encoder.encode([msgspec.Raw(_encode_one(fact)) for fact in facts])


def _encode_one(fact: object) -> bytes:
    try:
        return _encoder.encode((fact.table, fact))
    except Exception as exc:  # noqa: BLE001
        try:
            text = repr(fact)[:2000]
        except Exception:  # noqa: BLE001
            text = f"<unprintable {type(fact).__name__}>"
        return _encoder.encode((REJECTED_TABLE, Rejected(type(fact).__name__, text, f"{type(exc).__name__}: {exc}")))


class RemoteJournal:
    """Journal by proxy: same append/flush/sync/status/close, the writing done in the store service."""

    def __init__(self, service: ServiceClient, *, batch_size: int = 5000, send_interval: float = 0.05,
                 max_unacked_batches: int = 64) -> None:
        self.service = service
        self.batch_size = batch_size
        self.send_interval = send_interval
        self.max_unacked_batches = max_unacked_batches
        self._queue: deque = deque()
        self._wake = threading.Event()
        self._acked = threading.Condition()
        self._unacked: dict[int, tuple[bytes, int]] = {}  # batch id -> (payload, facts), in send order
        self._batch_ids = itertools.count(1)
        self._last_batch = 0
        self._drained = 0
        self._accepted = 0
        self._stopping = False
        self._give_up_at = float("inf")
        self._child_status: dict = {}
        service.on_ack = self._on_ack
        service.on_death = self._wake.set
        self._thread = threading.Thread(target=self._run, name="remote-journal-sender", daemon=True)
        self._thread.start()

    # ---- caller's side (hot path) -------------------------------------------------------------
    def append(self, fact: Fact) -> None:
        """Queue a fact: a deque append, nothing encoded here. See the module docstring for durability."""
        queue = self._queue
        queue.append(fact)
        if len(queue) >= self.batch_size:
            self._wake.set()

    def sync(self, timeout: float | None = None) -> bool:
        """Wait until every fact appended before this call is ACKed (fsync'd to the service's WAL)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        marker = self._marker()
        return marker.ready.wait(timeout) and self._wait_acked(marker.last_batch, _left(deadline))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every fact appended before this call is in ClickHouse (or quarantined).
        False on timeout, e.g. while ClickHouse is down: the facts are then safe in the WAL."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.sync(timeout):
            return False
        try:
            return bool(self.service.call("flush", _left(deadline), timeout=_left(deadline)))
        except TimeoutError:
            return False

    def _marker(self) -> _Marker:
        if not self._thread.is_alive():
            raise RuntimeError("journal is closed")
        marker = _Marker()
        self._queue.append(marker)
        self._wake.set()
        return marker

    def _wait_acked(self, batch_id: int, timeout: float | None) -> bool:
        with self._acked:
            return self._acked.wait_for(lambda: not self._unacked or next(iter(self._unacked)) > batch_id, timeout)

    @property
    def accepted(self) -> int:
        return self._accepted

    def status(self) -> RemoteJournalStatus:
        reachable = True
        try:
            self._child_status = self.service.call("status", timeout=5.0)
        except (StoreServiceError, TimeoutError):
            reachable = False
        status = RemoteJournalStatus(**self._child_status)
        status.appended = self._drained + sum(1 for item in list(self._queue) if type(item) is not _Marker)
        status.accepted = self._accepted
        with self._acked:
            status.unacked = sum(n for _, n in self._unacked.values())
        status.sent_batches = self._last_batch
        status.restarts = self.service.restarts
        status.service_pid = self.service.pid
        status.service_reachable = reachable
        if not reachable or self.service.last_error and not status.last_error:
            status.last_error = self.service.last_error
        return status

    def close(self, timeout: float = 30.0) -> RemoteJournalStatus:
        """Send everything queued, wait for the ACKs, then close the service's journal (which writes to
        ClickHouse if it is up) and stop the service."""
        deadline = time.monotonic() + timeout
        self._give_up_at = deadline
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self._wait_acked(self._last_batch, _left(deadline))
        status = self.status()
        final = self.service.close(max(1.0, deadline - time.monotonic()))
        if final is not None:
            status = RemoteJournalStatus(**{**msgspec.structs.asdict(status), **final,
                                            "appended": status.appended, "accepted": self._accepted})
        if status.unacked:
            log.error("journal closed with %d facts the store service never acknowledged", status.unacked)
        return status

    # ---- sender thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self.send_interval)
            self._wake.clear()
            if not self.service.alive and self.service.restart():
                self._resend_unacked()
            while self._queue and self.service.alive and len(self._unacked) < self.max_unacked_batches:
                self._send_next_batch()
            if self._stopping and (not (self._queue or self._unacked) or time.monotonic() >= self._give_up_at):
                return

    def _send_next_batch(self) -> None:
        queue, facts, markers = self._queue, [], []
        for _ in range(min(len(queue), self.batch_size)):
            item = queue.popleft()
            (markers if type(item) is _Marker else facts).append(item)
        if facts:
            self._drained += len(facts)
            batch_id = next(self._batch_ids)
            payload = encode_batch(facts)
            with self._acked:
                self._unacked[batch_id] = (payload, len(facts))
            self._last_batch = batch_id
            try:
                self.service.send(("facts", batch_id, payload))
            except ServiceDied:
                pass  # kept in _unacked; re-sent after the restart
        for marker in markers:
            marker.last_batch = self._last_batch
            marker.ready.set()

    def _resend_unacked(self) -> None:
        with self._acked:
            batches = list(self._unacked.items())
        for batch_id, (payload, _) in batches:
            try:
                self.service.send(("facts", batch_id, payload))
            except ServiceDied:
                return

    def _on_ack(self, batch_ids: list[int]) -> None:
        with self._acked:
            for batch_id in batch_ids:
                entry = self._unacked.pop(batch_id, None)
                if entry is not None:
                    self._accepted += entry[1]
            self._acked.notify_all()
        self._wake.set()  # room for more batches


class RemoteStoreReader:
    """The ClickHouseStore reader methods, run in the store service."""

    def __init__(self, service: ServiceClient, namespace: str, *, timeout: float = 120.0) -> None:
        self.service = service
        self.namespace = namespace
        self.timeout = timeout

    def latest_position_states(self, trade_ids: list[str] | None = None) -> list[dict[str, Any]]:
        return self.service.call("latest_position_states", trade_ids, timeout=self.timeout)

    def open_position_states(self) -> list[dict[str, Any]]:
        return self.service.call("open_position_states", timeout=self.timeout)

    def recent_anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.service.call("recent_anomalies", limit, timeout=self.timeout)

    def count(self, table: str, *, final: bool = True) -> int:
        return self.service.call("count", table, final=final, timeout=self.timeout)

    def row_ids(self, table: str) -> set[int]:
        return self.service.call("row_ids", table, timeout=self.timeout)

    def foreign_namespace_rows(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.service.call("foreign_namespace_rows", limit, timeout=self.timeout)

    def legacy_position_state(self, database: str, table: str = "position_state",
                              closed_for_trade_ids: list[str] | None = None) -> dict[str, Any]:
        return self.service.call("legacy_position_state", database, table,
                                 closed_for_trade_ids=closed_for_trade_ids, timeout=self.timeout)

    def ping(self) -> bool:
        return self.service.call("ping", timeout=self.timeout)

    def close(self) -> None:
        """Nothing to do: the service closes with the journal (`RemoteJournal.close`)."""


def open_store_service(spec: ServiceSpec, *, batch_size: int = 5000, send_interval: float = 0.05,
                       start_timeout: float = 120.0) -> tuple[RemoteJournal, RemoteStoreReader]:
    """Start the store service for `spec` (raises its start-up error, e.g. StoreBusy) and return the proxies."""
    service = ServiceClient(spec, start_timeout=start_timeout)
    return (RemoteJournal(service, batch_size=batch_size, send_interval=send_interval),
            RemoteStoreReader(service, spec.config.node.namespace))


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


__all__ = ["RemoteJournal", "RemoteJournalStatus", "RemoteStoreReader", "ServiceClient", "ServiceDied",
           "StoreServiceError", "open_store_service", "remote_error"]
