"""The store-service child process as the trading process sees it: start, typed RPC, death and restart.

`ServiceClient` starts `python -m dolphin_nautilus.stores.service`, hands it the `ServiceSpec` over a
socketpair and raises the service's start-up error (LeaseHeld naming the holder, StoreBusy, ...) with its
own class. Afterwards it sends fact batches and requests (`stores.wire`), resolves each request with its
typed reply or typed error, notices the child's death (pending requests get `ServiceDied` and are retried
by `call` until their timeout; requests are idempotent) and restarts it with backoff when asked.
"""

from __future__ import annotations

import itertools
import logging
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from dolphin_nautilus.journal.settings import JournalStatus
from dolphin_nautilus.stores import wire
from dolphin_nautilus.stores.wire import ServiceDied, StoreServiceError

log = logging.getLogger(__name__)


class ServiceClient:
    """One store-service child at a time: start, RPC, death detection and restart with backoff."""

    def __init__(self, spec: wire.ServiceSpec, *, start_timeout: float = 120.0) -> None:
        self._spec_bytes = wire.encode(spec)
        self.start_timeout = start_timeout
        self.restarts = 0
        self.last_error = ""
        self.on_ack = lambda batch_ids: None
        self.on_death = lambda: None
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._pending: dict[int, tuple[Future, Any]] = {}
        self._ids = itertools.count(1)
        self._alive = threading.Event()
        self._closing = False
        self._closed = False
        self._generation = 0
        self._retry_at = 0.0
        self._retry_delay = 0.2
        self.process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._start()  # a first start that fails raises here (LeaseHeld, StoreBusy, ...)

    # ---- process ------------------------------------------------------------------------------
    def _start(self) -> None:
        parent_sock, child_sock = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "dolphin_nautilus.stores.service", str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),),
                start_new_session=True,  # Ctrl-C is the parent's to handle
            )
        finally:
            child_sock.close()
        conn = Connection(parent_sock.detach())
        try:
            conn.send_bytes(self._spec_bytes)
            if not conn.poll(self.start_timeout):
                raise StoreServiceError(f"store service did not start within {self.start_timeout:.0f}s")
            hello = wire.from_service_decoder.decode(conn.recv_bytes())
        except BaseException as exc:
            conn.close()
            process.kill()
            process.wait()
            if isinstance(exc, (EOFError, OSError)):
                raise StoreServiceError(f"store service exited during start-up (code {process.returncode})") from exc
            raise
        if type(hello) is wire.StartFailed:
            conn.close()
            process.wait()
            raise wire.raise_error(hello.error)
        if type(hello) is not wire.Ready:
            conn.close()
            process.kill()
            process.wait()
            raise StoreServiceError(f"store service said {hello!r} instead of ready")
        with self._lock:
            self.process, self._conn = process, conn
            self._generation += 1
            generation = self._generation
            self._alive.set()
        threading.Thread(
            target=self._receive, args=(conn, generation), name="store-service-receiver", daemon=True
        ).start()

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
                message = wire.from_service_decoder.decode(conn.recv_bytes())
                if isinstance(message, wire.Ack):
                    self.on_ack(message.batch_ids)
                    continue
                if not isinstance(message, wire.Reply | wire.Failure):
                    log.error("store service sent an unexpected %s; ignored", type(message).__name__)
                    continue
                waiting = self._pending.pop(message.request_id, None)
                if waiting is None:
                    continue
                future, reply_type = waiting
                if isinstance(message, wire.Failure):
                    future.set_exception(wire.raise_error(message.error))
                    continue
                try:
                    future.set_result(wire.decode_value(message.value, reply_type))
                except Exception as exc:  # noqa: BLE001 - a reply of the wrong shape is the caller's error
                    future.set_exception(StoreServiceError(f"unreadable reply: {exc}"))
        except (EOFError, OSError):
            pass
        self._on_death(generation)

    def _on_death(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._alive.clear()
            pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            future.set_exception(ServiceDied("store service exited while serving the request"))
        if not self._closing:
            code = self.process.poll() if self.process is not None else None
            self.last_error = f"store service (pid {self.pid}) exited with code {code}"
            log.error("%s; restarting it", self.last_error)
        self.on_death()

    # ---- messages -----------------------------------------------------------------------------
    def send_bytes(self, message: bytes) -> None:
        if not self._alive.is_set():
            raise ServiceDied("store service is not running")
        try:
            with self._send_lock:
                if self._conn is None:
                    raise ValueError("no connection")
                self._conn.send_bytes(message)
        except (OSError, ValueError) as exc:
            raise ServiceDied(f"store service unreachable: {exc}") from exc

    def send_batch(self, batch_id: int, count: int, record: bytes) -> None:
        self.send_bytes(wire.encode(wire.FactBatch(batch_id, count, record)))

    def call(self, request: msgspec.Struct, *, timeout: float | None = 60.0) -> Any:
        """Run `request` in the service; waits through a restart (requests are idempotent) until `timeout`."""
        return self._call(request, wire.REPLY_TYPES[type(request)], timeout)

    def call_raw(self, request: bytes, reply_type: Any = Any, *, timeout: float | None = 60.0) -> Any:
        """Send an already-encoded request (tests use it to check how the service treats a bad one)."""
        return self._call(msgspec.Raw(request), reply_type, timeout)

    def _call(self, request: Any, reply_type: Any, timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        body = request if isinstance(request, msgspec.Raw) else msgspec.Raw(wire.encode(request))
        what = type(request).__name__
        while True:
            if self._closed:
                raise StoreServiceError("store service is closed")
            if not self._alive.wait(_left(deadline)):
                raise TimeoutError(f"store service not running ({self.last_error}); {what} not done")
            request_id = next(self._ids)
            future: Future = Future()
            with self._lock:  # registered under the lock, so a death in between cannot orphan the future
                if not self._alive.is_set():
                    continue
                self._pending[request_id] = (future, reply_type)
            try:
                self.send_bytes(wire.encode(wire.Call(request_id, body)))
                return future.result(_left(deadline))
            except ServiceDied:
                self._alive.wait(0.05)
                continue
            except FutureTimeout:
                self._pending.pop(request_id, None)
                raise TimeoutError(f"store service: {what} got no answer within {timeout}s") from None

    def close(self, timeout: float = 30.0) -> JournalStatus | None:
        """Ask the service to close its journal, give the lease back and exit; returns its final journal
        status (None if it was not running)."""
        status = None
        self._closing = True
        try:
            if self._alive.is_set():
                status = self.call(wire.CloseService(), timeout=timeout)
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


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
