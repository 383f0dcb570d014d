"""The trading process's side of the store service (`stores.service`): the Journal, the store readers and
the live state by proxy. The trading process never loads chDB and never writes a store itself.

Durability contract
-------------------
* `RemoteJournal.append(fact)` is a deque append on the caller's thread: nothing is encoded there. A fact
  in that deque is NOT safe: if the trading process dies, it is lost.
* A sender thread takes the deque in batches (every `send_interval` seconds, or sooner once `batch_size`
  facts are waiting), encodes each batch once as a `journal.record` and sends it; the service puts those
  bytes into its WAL as they are. The batch is kept in memory until the service ACKs it, and the service
  ACKs only after its Journal has fsync'd the batch to its WAL. From the ACK on, the batch is **accepted**
  (`status().accepted`, `sync()`), exactly as in the in-process Journal.
* kill -9 of the TRADING process: facts still in the deque or in unacked batches are lost (as with the
  in-process Journal's FIFO); accepted facts are in the WAL. The service sees the pipe close, writes what
  it received to its WAL (and to ClickHouse when it can), gives the lease back and exits; the next start
  replays the WAL.
* kill -9 of the SERVICE: accepted facts are in its WAL; the parent restarts the service (counted in
  `status().restarts`), which retakes the lease under the same holder id, replays the WAL into ClickHouse
  first, and gets every unacked batch again in order. A batch that the dead service had already written is
  written again with the same `row_id`s, which ClickHouse deduplicates, so nothing is lost or doubled.
* Memory stays bounded while the service cannot be restarted (or cannot keep up): at most
  `max_unacked_batches` batches wait for an ACK in memory; once more than `spill_after` facts wait behind
  them, the sender moves them, encoded, to the trading process's own spill WAL (`spill_dir`, fsync'd) and
  sends them from there, in order, when the service takes them. Spilled facts are safe: a spill left by a
  killed process is sent first by the next one on the same `spill_dir`. `status()` shows the error and the
  spill. `flush(timeout)` waits until everything appended before it is in ClickHouse (False on timeout:
  accepted facts are then safe in the WAL); `close()` flushes and stops the service.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from typing import Any

import msgspec

from dolphin_nautilus.domain.facts import Fact
from dolphin_nautilus.journal.record import encode_record
from dolphin_nautilus.journal.settings import JournalStatus, QueryResult
from dolphin_nautilus.journal.wal import Position, WriteAheadLog
from dolphin_nautilus.state.lease import LeaseStatus
from dolphin_nautilus.state.store import LiveEntries, NotLeaseHolder
from dolphin_nautilus.stores import wire
from dolphin_nautilus.stores.service_client import ServiceClient
from dolphin_nautilus.stores.wire import ServiceDied, StoreServiceError

log = logging.getLogger(__name__)


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
    spilled: int = 0  # facts in the trading process's spill WAL, not yet ACKed
    restarts: int = 0  # times the service was restarted after dying
    service_pid: int | None = None
    service_reachable: bool = True


class _Marker:
    __slots__ = ("last_batch", "ready")

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.last_batch = 0


class _Batch:
    """A batch sent (or about to be) and not yet ACKed. `spill_end`: where it ends in the spill WAL, if it
    came from there (the spill is confirmed past it on its ACK)."""

    __slots__ = ("count", "record", "spill_end")

    def __init__(self, record: bytes, count: int, spill_end: Position | None = None) -> None:
        self.record, self.count, self.spill_end = record, count, spill_end


_spill_header = msgspec.msgpack.Encoder()
_spill_decoder = msgspec.msgpack.Decoder(tuple[int, bytes])


class RemoteJournal:
    """Journal by proxy: same append/flush/sync/status/close, the writing done in the store service."""

    def __init__(
        self,
        service: ServiceClient,
        *,
        spill_dir: str,
        batch_size: int = 5000,
        send_interval: float = 0.05,
        max_unacked_batches: int = 64,
        spill_after: int | None = None,
    ) -> None:
        self.service = service
        self.batch_size = batch_size
        self.send_interval = send_interval
        self.max_unacked_batches = max_unacked_batches
        self.spill_after = 4 * batch_size if spill_after is None else spill_after
        self._queue: deque = deque()
        self._wake = threading.Event()
        self._acked = threading.Condition()
        self._unacked: dict[int, _Batch] = {}  # batch id -> batch, in send order
        self._spill = WriteAheadLog(spill_dir)
        self._spill_read = self._spill.checkpoint  # the next spilled record not yet taken into _unacked
        self._spilled = sum(_spill_decoder.decode(p)[0] for p, _ in self._spill.pending())  # a previous life's
        self._batch_ids = itertools.count(1)
        self._last_batch = 0
        self._drained = 0
        self._accepted = 0
        self._stopping = False
        self._give_up_at = float("inf")
        self._child_status: JournalStatus | None = None
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
            return bool(self.service.call(wire.Flush(_left(deadline)), timeout=_left(deadline)))
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
        """True once every batch up to `batch_id` is ACKed, spilled ones included."""
        with self._acked:
            return self._acked.wait_for(
                lambda: (not self._unacked or next(iter(self._unacked)) > batch_id) and not self._spill.has_pending,
                timeout,
            )

    @property
    def accepted(self) -> int:
        return self._accepted

    def status(self) -> RemoteJournalStatus:
        reachable = True
        try:
            self._child_status = self.service.call(wire.JournalStatusRequest(), timeout=5.0)
        except (StoreServiceError, TimeoutError):
            reachable = False
        child = msgspec.structs.asdict(self._child_status) if self._child_status is not None else {}
        status = RemoteJournalStatus(**child)
        status.appended = self._drained + sum(1 for item in list(self._queue) if type(item) is not _Marker)
        status.accepted = self._accepted
        with self._acked:
            status.unacked = sum(batch.count for batch in self._unacked.values() if batch.spill_end is None)
            status.spilled = self._spilled
        status.sent_batches = self._last_batch
        status.restarts = self.service.restarts
        status.service_pid = self.service.pid
        status.service_reachable = reachable
        if not reachable or (self.service.last_error and not status.last_error):
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
            status = RemoteJournalStatus(
                **{
                    **msgspec.structs.asdict(status),
                    **msgspec.structs.asdict(final),
                    "appended": status.appended,
                    "accepted": self._accepted,
                }
            )
        if status.unacked or status.spilled:
            log.error(
                "journal closed with %d facts the store service never acknowledged (%d of them safe in the "
                "spill %s, sent by the next start)",
                status.unacked + status.spilled,
                status.spilled,
                self._spill.directory,
            )
        self._spill.close()
        return status

    # ---- sender thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self.send_interval)
            self._wake.clear()
            if not self.service.alive and self.service.restart():
                self._resend_unacked()
            self._send_spilled()
            while (
                self._queue
                and self.service.alive
                and not self._spill_left()
                and len(self._unacked) < self.max_unacked_batches
            ):
                self._send_next_batch()
            if len(self._queue) > self.spill_after:
                self._spill_queue()
            if self._stopping:
                if not (self._queue or self._unacked or self._spill_left()):
                    return
                if time.monotonic() >= self._give_up_at:
                    self._spill_unacked()  # what the service never took is kept for the next start
                    self._spill_queue()
                    return

    def _take_facts(self) -> tuple[list, list[_Marker]]:
        queue = self._queue
        facts: list = []
        markers: list[_Marker] = []
        for _ in range(min(len(queue), self.batch_size)):
            item = queue.popleft()
            (markers if type(item) is _Marker else facts).append(item)
        self._drained += len(facts)
        return facts, markers

    def _send_next_batch(self) -> None:
        facts, markers = self._take_facts()
        if facts:
            self._send(_Batch(encode_record(facts), len(facts)))
        _release(markers, self._last_batch)

    def _send(self, batch: _Batch) -> None:
        batch_id = next(self._batch_ids)
        with self._acked:
            self._unacked[batch_id] = batch
        self._last_batch = batch_id
        try:
            self.service.send_batch(batch_id, batch.count, batch.record)
        except ServiceDied:
            pass  # kept in _unacked; re-sent after the restart

    def _resend_unacked(self) -> None:
        with self._acked:
            batches = list(self._unacked.items())
        for batch_id, batch in batches:
            try:
                self.service.send_batch(batch_id, batch.count, batch.record)
            except ServiceDied:
                return

    # ---- the spill: bounded memory while the service is away or slow ------------------------------
    def _spill_left(self) -> bool:
        """Spilled records not yet taken into _unacked: newer facts wait behind them (order is kept)."""
        return self._spill_read < self._spill.end

    def _spill_queue(self) -> None:
        """Move every queued fact, encoded, into the spill WAL (one fsync); they are sent from there in order."""
        records, markers, count = [], [], 0
        while self._queue:
            facts, taken = self._take_facts()
            markers += taken
            if facts:
                records.append(_spill_header.encode((len(facts), encode_record(facts))))
                count += len(facts)
        if records:
            self._spill.append_many(records)
            with self._acked:
                self._spilled += count
            log.warning(
                "store service not taking facts (%s): %d facts spilled to %s",
                self.service.last_error or "slow",
                count,
                self._spill.directory,
            )
        _release(markers, self._last_batch)  # sync() also waits for the spill to drain

    def _spill_unacked(self) -> None:
        """At a close that gives up: the in-memory batches never ACKed go to the spill too (a copy the service
        did write is deduplicated by row_id when the next start sends it again)."""
        with self._acked:
            batches = {i: batch for i, batch in self._unacked.items() if batch.spill_end is None}
        if batches:
            self._spill.append_many([_spill_header.encode((b.count, b.record)) for b in batches.values()])
            with self._acked:
                for batch_id in batches:
                    self._unacked.pop(batch_id, None)
                self._spilled += sum(b.count for b in batches.values())

    def _send_spilled(self) -> None:
        """Send spilled records, oldest first, as room in _unacked allows."""
        if not self._spill_left():
            return
        for payload, end in self._spill.pending(self._spill_read):
            if len(self._unacked) >= self.max_unacked_batches or not self.service.alive:
                return
            count, record = _spill_decoder.decode(payload)
            self._spill_read = end
            self._send(_Batch(record, count, spill_end=end))

    def _on_ack(self, batch_ids: list[int]) -> None:
        confirm = None
        with self._acked:
            for batch_id in batch_ids:
                batch = self._unacked.pop(batch_id, None)
                if batch is None:
                    continue
                self._accepted += batch.count
                if batch.spill_end is not None:
                    self._spilled -= batch.count
                    confirm = batch.spill_end
            if confirm is not None:
                self._spill.confirm(confirm)  # acks come in send order: everything before it is in
            self._acked.notify_all()
        self._wake.set()  # room for more batches


class RemoteStoreReader:
    """The ClickHouseStore reader methods, run in the store service."""

    def __init__(self, service: ServiceClient, namespace: str, *, timeout: float = 120.0) -> None:
        self.service = service
        self.namespace = namespace
        self.timeout = timeout

    def latest_position_states(self, trade_ids: list[str] | None = None) -> list[dict[str, Any]]:
        return self.service.call(wire.LatestPositionStates(trade_ids), timeout=self.timeout)

    def open_position_states(self) -> list[dict[str, Any]]:
        return self.service.call(wire.OpenPositionStates(), timeout=self.timeout)

    def recent_anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.service.call(wire.RecentAnomalies(limit), timeout=self.timeout)

    def count(self, table: str, *, final: bool = True) -> int:
        return self.service.call(wire.CountRows(table, final), timeout=self.timeout)

    def row_ids(self, table: str) -> set[int]:
        return self.service.call(wire.RowIds(table), timeout=self.timeout)

    def foreign_namespace_rows(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.service.call(wire.ForeignNamespaceRows(limit), timeout=self.timeout)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        return self.service.call(wire.SelectQuery(sql, parameters or {}), timeout=self.timeout)

    def ping(self) -> bool:
        return self.service.call(wire.Ping(), timeout=self.timeout)

    def close(self) -> None:
        """Nothing to do: the service closes with the journal (`RemoteJournal.close`)."""


class RemoteLiveState:
    """The live-state store, read and written in the store service, which holds the namespace's lease.
    The lease itself is the service's alone: ask `Stores.lease_status()`."""

    def __init__(self, service: ServiceClient, namespace: str, *, timeout: float = 30.0) -> None:
        self.service = service
        self.namespace = namespace
        self.timeout = timeout

    def get(self, key: str) -> dict | None:
        return self.service.call(wire.StateGet(key), timeout=self.timeout)

    def entries(self) -> dict[str, dict]:
        return self.service.call(wire.StateEntries(), timeout=self.timeout)

    def read_entries(self) -> LiveEntries:
        return self.service.call(wire.StateReadEntries(), timeout=self.timeout)

    def lease_holder(self) -> str | None:
        return self.service.call(wire.StateLeaseHolder(), timeout=self.timeout)

    def put(self, key: str, value: dict) -> None:
        self.write_many({key: value})

    def remove(self, key: str) -> None:
        self.write_many({key: None})

    def write_many(self, changes: dict[str, dict | None]) -> None:
        self.service.call(wire.StateWrite(dict(changes)), timeout=self.timeout)

    def compare_and_set(self, key: str, expected: dict | None, new: dict | None) -> bool:
        return self.service.call(wire.StateCompareAndSet(key, expected, new), timeout=self.timeout)

    def lease_status(self) -> LeaseStatus:
        return self.service.call(wire.LeaseStatusRequest(), timeout=self.timeout)

    def acquire_lease(self, holder_id: str, ttl_s: float, *, take_over_own: bool = True) -> bool:
        raise NotLeaseHolder("the store service holds the namespace's lease; the trading process never takes it")

    renew_lease = acquire_lease

    def release_lease(self, holder_id: str) -> None:
        raise NotLeaseHolder("the store service gives the lease back when it closes")

    def close(self) -> None:
        """Nothing to do: the service closes with the journal (`RemoteJournal.close`)."""


def _release(markers: list[_Marker], last_batch: int) -> None:
    for marker in markers:
        marker.last_batch = last_batch
        marker.ready.set()


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


__all__ = ["RemoteJournal", "RemoteJournalStatus", "RemoteLiveState", "RemoteStoreReader", "ServiceClient"]
