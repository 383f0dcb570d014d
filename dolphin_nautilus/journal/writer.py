"""The journal writer: facts in on the caller's thread in microseconds, ClickHouse rows out on its own thread.

Durability contract
-------------------
* `append(fact)` puts the fact object on an in-memory FIFO and returns; nothing is encoded or written on
  the caller's thread. A fact in that FIFO is NOT yet safe: a crash (kill -9, power loss) loses it.
  `append_record(payload, count)` queues a batch another process already encoded (`journal.record`, the
  store service's input); its bytes go into the WAL as they are.
* The writer thread drains the FIFO in batches and appends each batch, as one CRC-framed msgpack record
  (`journal.record`), to a write-ahead log (segment files in `spool_dir`) and fdatasyncs it BEFORE anything
  else happens to the batch. From that moment the fact is **accepted**: `Journal.accepted` counts accepted facts
  in append order (the first `accepted` facts appended are safe), and `sync(timeout)` waits until all facts appended
  before the call are accepted.
* Only then is the batch inserted into ClickHouse (one insert per table; its insert blocks are built on a
  thread of their own while the record before it is inserted) and handed to the sinks (e.g. the live-state
  store). After ClickHouse confirms every table of the record, the WAL checkpoint moves past it
  and fully confirmed segments are deleted. `flush(timeout)` waits until all facts appended before the
  call are in ClickHouse (or quarantined).
* When ClickHouse is unavailable the records simply stay in the WAL (the spool); new batches keep being
  appended there. The writer retries with backoff and then replays the pending records IN ORDER, one
  insert per original record, before any newer record.
* A crash between a ClickHouse insert and the checkpoint move re-inserts that record on restart. Nothing
  is duplicated: each row carries a deterministic `row_id` in a ReplacingMergeTree keyed on it, and the
  replayed insert is byte-identical, so the table's insert-deduplication window drops it outright.
* So after kill -9 at any point, every accepted fact is in ClickHouse or in the WAL, and a restarted
  Journal on the same `spool_dir` puts the WAL's pending records into ClickHouse first.
* A row ClickHouse rejects as bad data (parse error, overflow: `store.DATA_ERROR_CODES`) is isolated by
  bisecting its batch, written to `quarantine.jsonl` (fsync'd) and reported as a `JOURNAL_QUARANTINE`
  anomaly fact; the rest of the batch is inserted. Any other failure is treated as "unavailable": the row
  stays in the spool and is retried, never dropped.
* Sinks are called on the writer thread with each accepted batch (after the WAL fsync, before the
  ClickHouse insert). A sink that raises is counted and logged; it never stops the journal.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import msgspec

from dolphin_nautilus.domain.facts import Anomaly, Fact, canonical_json
from dolphin_nautilus.journal.batch import EncodedRecord, Rows, fact_record, mixed_records, stored_rows
from dolphin_nautilus.journal.settings import BadRows, JournalConfig, JournalStatus, StoreUnavailable
from dolphin_nautilus.journal.store import ClickHouseStore, encode_columns, fact_lines
from dolphin_nautilus.journal.wal import Position, WriteAheadLog

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Fact]], None]
Blocks = dict[str, bytes]  # table -> its insert block (`store.encode_columns`), built ahead of the insert
QUARANTINE_FILE = "quarantine.jsonl"
QUARANTINE_CODE = "JOURNAL_QUARANTINE"


class _Marker:
    """A flush request travelling through the FIFO, so it is ordered exactly with the facts."""

    __slots__ = ("accepted", "written")

    def __init__(self) -> None:
        self.accepted = threading.Event()
        self.written = threading.Event()


class _Accepted:
    """The newest accepted record, still in memory: where it lies in the WAL, its rows, and the future of its
    insert blocks (None when they are built at insert time)."""

    __slots__ = ("blocks", "end", "rows", "start")

    def __init__(self, start: Position, end: Position, rows: Rows, blocks: Future[Blocks] | None) -> None:
        self.start, self.end, self.rows, self.blocks = start, end, rows, blocks

    @property
    def count(self) -> int:
        return sum(len(ids) for ids, _ in self.rows.values())


_NEVER = 1 << 62  # `_wake_at` while a wake-up is already pending


class Journal:
    def __init__(self, store: ClickHouseStore, config: JournalConfig, sinks: Sequence[Sink] = ()):
        self.store = store
        self.config = config
        self._sinks = list(sinks)
        self._queue: deque = deque()
        self._wake_at = config.batch_size
        self._wake = threading.Event()
        self._stopping = False
        self._status = JournalStatus()
        self._drained = 0
        self._markers: list[tuple[Position, _Marker]] = []
        self._retry_at = 0.0
        self._retry_delay = config.retry_initial
        self._accepted: deque[_Accepted] = deque()  # accepted records not yet handed to the inserter, in order
        self._wal = WriteAheadLog(config.spool_dir, segment_bytes=config.segment_bytes)
        self._status.backlog = self._wal.has_pending  # a previous run left records: replay them first
        self._quarantine_path = os.path.join(config.spool_dir, QUARANTINE_FILE)
        # A three-stage pipeline: while the writer thread encodes and fsyncs record N+2, the builder makes record
        # N+1's insert blocks (Arrow's JSON reader holds no GIL) and the inserter puts record N into ClickHouse
        # (chDB and the HTTP client release the GIL). At most one insert is in flight, so inserts stay in record
        # order and the checkpoint still moves only after ClickHouse confirmed.
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"journal-build-{store.namespace}")
        self._inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"journal-insert-{store.namespace}")
        self._inflight: tuple[Future[int], _Accepted] | None = None
        self._thread = threading.Thread(target=self._run, name=f"journal-{store.namespace}", daemon=True)
        self._thread.start()

    # ---- caller's side (hot path) -------------------------------------------------------------
    def append(self, fact: Fact) -> None:
        """Queue a fact. Costs a deque append; see the module docstring for when it becomes durable."""
        queue = self._queue
        queue.append(fact)
        if len(queue) >= self._wake_at:
            # Once per batch, not once per fact while the writer is busy: the writer lowers it again.
            self._wake_at = _NEVER
            self._wake.set()

    def append_record(self, payload: bytes, count: int) -> None:
        """Queue a record of `count` facts encoded elsewhere (`journal.record.encode_record`)."""
        self._queue.append(EncodedRecord(payload, count))
        self._wake.set()

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def sync(self, timeout: float | None = None) -> bool:
        """Wait until every fact appended before this call is accepted (fsync'd to the WAL)."""
        return self._request_marker().accepted.wait(timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every fact appended before this call is in ClickHouse (or quarantined).
        False on timeout, e.g. while ClickHouse is down: the facts are then safe in the spool."""
        return self._request_marker().written.wait(timeout)

    def _request_marker(self) -> _Marker:
        if not self._thread.is_alive():
            raise RuntimeError("journal is closed")
        marker = _Marker()
        self._queue.append(marker)
        self._wake.set()
        return marker

    @property
    def accepted(self) -> int:
        return self._status.accepted

    def status(self) -> JournalStatus:
        snapshot = msgspec.structs.replace(self._status)
        snapshot.appended = self._drained + sum(_count(item) for item in list(self._queue))
        return snapshot

    def close(self, timeout: float = 30.0) -> JournalStatus:
        """Stop: write everything queued to the WAL and, if ClickHouse is up, into ClickHouse."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        return self.status()

    # ---- writer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self._wait_time())
                self._wake.clear()
                self._wake_at = self.config.batch_size
                stopping = self._stopping
                while self._queue:
                    self._accept_next_batch()
                    self._deliver(force=stopping, overlap=True)
                self._deliver(force=stopping)
                if stopping and not self._queue:
                    break
        except Exception:  # a bug here must be loud; accepted facts stay in the WAL for the next start
            log.exception("journal writer crashed")
            raise
        finally:
            self._inserter.shutdown(wait=True)
            self._builder.shutdown(wait=True)
            self._wal.close()

    def _wait_time(self) -> float:
        if self._status.backlog:
            return max(0.0, min(self.config.flush_interval, self._retry_at - time.monotonic()))
        return self.config.flush_interval

    def _drain(self) -> tuple[list, list[_Marker], int, bool]:
        """Facts and records (in order) up to about `batch_size` facts, the markers among them, the facts
        taken and whether any encoded record is among them."""
        queue = self._queue
        items: list[object] = []
        markers: list[_Marker] = []
        popleft, keep = queue.popleft, items.append
        taken, limit, has_records = 0, self.config.batch_size, False
        while queue and taken < limit:
            item = popleft()
            kind = type(item)
            if kind is _Marker:
                markers.append(item)
            elif kind is EncodedRecord:
                keep(item)
                taken += item.count
                has_records = True
            else:
                keep(item)
                taken += 1
        return items, markers, taken, has_records

    def _accept_next_batch(self) -> None:
        items, markers, taken, has_records = self._drain()
        self._drained += taken
        records, entries = (mixed_records if has_records else fact_record)(items, self._quarantine)
        if records:
            start, end = self._wal.append_batch(records)
            rows = entries.rows()
            self._status.accepted += len(entries)
            self._status.batches += len(records)
            if self._status.backlog:
                self._status.spooled += len(entries)
                blocks = None  # it will be replayed from the spool
            else:  # the JSON lines here, where the GIL is, so the builder's Arrow reading runs beside the insert
                lines = {table: fact_lines(facts) for table, (_, facts) in rows.items()}
                blocks = self._builder.submit(self._build_blocks, rows, lines)
            self._accepted.append(_Accepted(start, end, rows, blocks))
            if self._sinks:  # a tuple: the builder thread reads the same facts
                self._call_sinks(tuple(entries.facts))
        for marker in markers:
            marker.accepted.set()
            self._markers.append((self._wal.end, marker))

    def _build_blocks(self, rows: Rows, lines: dict[str, bytes | None]) -> Blocks:
        """Each table's insert block; a table whose rows do not fit is left out (its insert bisects them)."""
        blocks = {}
        for table, (row_ids, facts) in rows.items():
            try:
                blocks[table] = encode_columns(self.store.namespace, row_ids, facts, lines[table])
            except BadRows:
                pass
        return blocks

    def _call_sinks(self, facts: Sequence[Fact]) -> None:
        for sink in self._sinks:
            try:
                sink(facts)
            except Exception as exc:  # noqa: BLE001 - a sink's failure is counted, never stops the journal
                self._status.sink_failures += 1
                log.warning("journal sink %r failed: %s", sink, exc)

    # ---- delivery to ClickHouse ---------------------------------------------------------------
    def _deliver(self, *, force: bool = False, overlap: bool = False) -> None:
        """Put the accepted records (or, after an outage, the whole spool) into ClickHouse, one insert at a time,
        in order. With `overlap` an insert is only started, and while it runs one more record may be accepted
        behind it, so that record's blocks are built by the time it is due; without, everything is finished."""
        inflight = self._inflight
        if overlap and inflight is not None and not inflight[0].done() and len(self._accepted) < 2:
            return
        while True:
            was_backlog = self._status.backlog
            self._finish_insert()
            if self._status.backlog and not was_backlog:
                self._status.spooled += sum(a.count for a in self._accepted)  # accepted before the outage showed
            if not self._wal.has_pending:
                self._release_markers()
                return
            if self._status.backlog and not force and time.monotonic() < self._retry_at:
                self._accepted.clear()  # in the spool: replayed from there, in order
                return
            fresh = self._accepted.popleft() if self._accepted else None
            if not self._status.backlog and fresh is not None and self._wal.checkpoint == fresh.start:
                # the common case: no backlog, insert from memory
                self._inflight = (self._inserter.submit(self._insert, fresh.rows, fresh.blocks), fresh)
                if overlap:
                    return
                continue
            unsent = ([] if fresh is None else [fresh]) + list(self._accepted)
            self._accepted.clear()
            try:
                self._replay_pending()
            except StoreUnavailable as exc:
                self._on_unavailable(exc, sum(a.count for a in unsent))
            else:
                self._on_delivered()
            self._release_markers()
            return

    def _finish_insert(self) -> None:
        """Wait for the insert in flight; confirm its record in the WAL, or spool it if ClickHouse failed."""
        if self._inflight is None:
            return
        future, fresh = self._inflight
        self._inflight = None
        try:
            future.result()
        except StoreUnavailable as exc:
            self._on_unavailable(exc, fresh.count)
        else:
            self._wal.confirm(fresh.end)
            self._on_delivered()
        self._release_markers()

    def _on_delivered(self) -> None:
        self._status.backlog = False
        self._retry_delay = self.config.retry_initial

    def _replay_pending(self) -> None:
        for payload, end in self._wal.pending():
            self._status.replayed += self._insert(stored_rows(payload))
            self._wal.confirm(end)

    def _insert(self, rows: Rows, blocks: Future[Blocks] | None = None) -> int:
        """Insert one WAL record, all tables; returns the facts written (quarantined ones excluded)."""
        built = {} if blocks is None else blocks.result()
        written = sum(
            len(facts) - self._insert_table(table, row_ids, facts, built.get(table))
            for table, (row_ids, facts) in rows.items()
        )
        self._status.written += written
        return written

    def _insert_table(self, table: str, row_ids: list[int], facts: list[Fact], block: bytes | None = None) -> int:
        """Insert rows, bisecting around rows rejected as bad data; returns how many were quarantined."""
        try:
            if block is None:
                block = encode_columns(self.store.namespace, row_ids, facts)
            self.store.insert_rows(table, block)
            return 0
        except BadRows as exc:
            if len(facts) == 1:
                self._quarantine(table, row_ids[0], facts[0], str(exc))
                return 1
            half = len(facts) // 2
            return self._insert_table(table, row_ids[:half], facts[:half]) + self._insert_table(
                table, row_ids[half:], facts[half:]
            )

    def _on_unavailable(self, exc: StoreUnavailable, unsent: int) -> None:
        """`unsent`: facts accepted but not inserted that now wait in the spool."""
        if not self._status.backlog:
            self._status.spooled += unsent
        self._status.backlog = True
        self._status.failures += 1
        self._status.last_error = str(exc)[:500]
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.config.retry_max)
        log.warning("ClickHouse unavailable, facts stay in the spool %s: %s", self.config.spool_dir, exc)

    def _release_markers(self) -> None:
        checkpoint = self._wal.checkpoint
        keep = []
        for end, marker in self._markers:
            (marker.written.set() if end <= checkpoint else keep.append((end, marker)))
        self._markers = keep

    # ---- bad rows -----------------------------------------------------------------------------
    def _quarantine(self, table: str, row_id: int, fact: object, error: str) -> None:
        """`fact`: the object, or (for what arrived encoded) a text that stands for it."""
        if isinstance(fact, str):
            fact_json = fact
        else:
            fact_json = msgspec.json.encode(fact).decode() if isinstance(fact, msgspec.Struct) else repr(fact)
        line = canonical_json({"table": table, "row_id": row_id, "error": error[:2000], "fact": fact_json})
        with open(self._quarantine_path, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._status.quarantined += 1
        log.error("journal quarantined a %s row (row_id %s) to %s: %s", table, row_id, self._quarantine_path, error)
        if isinstance(fact, Anomaly) and fact.code == QUARANTINE_CODE:
            return  # never loop on our own report
        self._queue.append(
            Anomaly(
                ts=time.time_ns(),
                origin="journal",
                code=QUARANTINE_CODE,
                severity="ERROR",
                trade_id=str(getattr(fact, "trade_id", "")),
                instrument_id=str(getattr(fact, "instrument_id", "")),
                message=f"{table} row rejected and quarantined",
                details=canonical_json(
                    {"table": table, "row_id": row_id, "error": error[:500], "file": self._quarantine_path}
                ),
            )
        )


def _count(item: object) -> int:
    """Facts an item of the FIFO stands for."""
    if type(item) is EncodedRecord:
        return item.count
    return 0 if type(item) is _Marker else 1
