"""The store service: a child process that owns every store write of the node (`stores.owner.StoreOwner`).

The trading process never loads chDB; it talks to this process through `stores.remote`. Started as

    python -m dolphin_nautilus.stores.service FD

with FD one end of a socketpair. The protocol is `stores.wire`: the first message is a `ServiceSpec`; the
service opens the stores (taking the namespace's lease, whose single renewer then runs here) and answers
`Ready` or `StartFailed` (an `ErrorReport`: e.g. `lease_held` naming the holder, `store_busy`) and exits.

A `FactBatch` is appended to the Journal on the main thread in arrival order, its record bytes as they are;
the acker thread then waits for journal.sync() and acks every batch appended before it. Requests that may
block (flush, sync, the ClickHouse readers, the live state) run on a small pool. If the trading process goes
away (EOF) the service closes the Journal (everything received goes to the WAL, and to ClickHouse if it is
up), gives the lease back and exits, so a restarted node can take the namespace at once.
This module must not import nautilus_trader.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from dolphin_nautilus.stores import wire
from dolphin_nautilus.stores.owner import StoreOwner

log = logging.getLogger("dolphin_nautilus.stores.service")


class StoreService:
    """Serves one connection for a StoreOwner."""

    def __init__(self, owner: StoreOwner, conn: Connection) -> None:
        self.owner = owner
        self._conn = conn
        self._send_lock = threading.Lock()
        self._acks: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: ThreadPoolExecutor | None = ThreadPoolExecutor(max_workers=2, thread_name_prefix="store-service")

    def serve(self) -> None:
        acker = threading.Thread(target=self._ack_loop, name="store-service-acker", daemon=True)
        acker.start()
        try:
            while True:
                try:
                    message = wire.to_service_decoder.decode(self._conn.recv_bytes())
                except (EOFError, OSError):
                    log.warning("store service: the trading process went away; closing the journal")
                    break
                if isinstance(message, wire.FactBatch):
                    self.owner.journal.append_record(message.record, message.count)
                    self._acks.put(message.batch_id)
                    continue
                request = self._decode_request(message)
                if type(request) is wire.CloseService:
                    self._acks.put(None)
                    acker.join()
                    self._send(wire.Reply(message.request_id, msgspec.Raw(wire.encode_value(self._close()))))
                    return
                if request is not None:
                    self._dispatch(message.request_id, request)
        finally:
            self._acks.put(None)
            acker.join(30)
            self._close()

    def _decode_request(self, call: wire.Call) -> Any:
        try:
            return wire.request_decoder.decode(call.request)
        except msgspec.DecodeError as exc:
            self._send(
                wire.Failure(
                    call.request_id,
                    wire.ErrorReport("bad_request", f"store service: unknown or malformed request: {exc}"),
                )
            )
            return None

    def _dispatch(self, request_id: int, request: Any) -> None:
        if type(request) in (wire.JournalStatusRequest, wire.ServiceInfoRequest, wire.LeaseStatusRequest):
            self._run(request_id, request)  # answered at once: never queued behind a slow reader
        else:
            assert self._workers is not None
            self._workers.submit(self._run, request_id, request)

    def _run(self, request_id: int, request: Any) -> None:
        try:
            result = self._answer(request)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, typed
            self._send(wire.Failure(request_id, wire.report_error(exc)))
        else:
            self._send(wire.Reply(request_id, msgspec.Raw(wire.encode_value(result))))

    def _answer(self, request: Any) -> Any:
        owner, store, live = self.owner, self.owner.clickhouse, self.owner.live_state
        match request:
            case wire.Flush(timeout=timeout):
                return owner.journal.flush(timeout)
            case wire.Sync(timeout=timeout):
                return owner.journal.sync(timeout)
            case wire.JournalStatusRequest():
                return owner.journal.status()
            case wire.ServiceInfoRequest():
                return wire.ServiceInfo(
                    pid=os.getpid(),
                    namespace=store.namespace,
                    database=store.database,
                    nautilus_loaded=any(m.startswith("nautilus_trader") for m in sys.modules),
                )
            case wire.LeaseStatusRequest():
                return owner.lease_status()
            case wire.LatestPositionStates(trade_ids=trade_ids):
                return store.latest_position_states(trade_ids)
            case wire.OpenPositionStates():
                return store.open_position_states()
            case wire.RecentAnomalies(limit=limit):
                return store.recent_anomalies(limit)
            case wire.CountRows(table=table, final=final):
                return store.count(table, final=final)
            case wire.RowIds(table=table):
                return store.row_ids(table)
            case wire.ForeignNamespaceRows(limit=limit):
                return store.foreign_namespace_rows(limit)
            case wire.Ping():
                return store.ping()
            case wire.SelectQuery(sql=sql, parameters=parameters):
                return store.query(sql, parameters)
            case wire.StateGet(key=key):
                return live.get(key)
            case wire.StateEntries():
                return live.entries()
            case wire.StateReadEntries():
                return live.read_entries()
            case wire.StateLeaseHolder():
                return live.lease_holder()
            case wire.StateWrite(changes=changes):
                return live.write_many(changes)
            case wire.StateCompareAndSet(key=key, expected=expected, new=new):
                return live.compare_and_set(key, expected, new)
        raise wire.BadRequest(f"store service: unknown request {type(request).__name__}")

    def _ack_loop(self) -> None:
        """Ack batches once the Journal has fsync'd them to its WAL (one sync covers all batches before it)."""
        while True:
            batch_ids = [self._acks.get()]
            while not self._acks.empty():
                batch_ids.append(self._acks.get())
            done = None in batch_ids
            batch_ids = [b for b in batch_ids if b is not None]
            if batch_ids:
                try:
                    self.owner.journal.sync()
                except Exception:  # the journal's writer died: let the parent restart us and re-send
                    log.exception("store service: journal cannot accept facts; exiting")
                    os._exit(70)
                self._send(wire.Ack(batch_ids))
            if done:
                return

    def _send(self, message: msgspec.Struct) -> None:
        try:
            with self._send_lock:
                self._conn.send_bytes(wire.encode(message))
        except (OSError, ValueError):
            pass  # the parent is gone; what we hold is in the WAL or goes there on close

    def _close(self) -> Any:
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None
        return self.owner.close()


def main(argv: list[str]) -> int:
    # Owner-only files (chDB, WAL, live state) even when started outside dolphin-node, which sets the same mask.
    os.umask(0o077)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s store-service %(levelname)s %(name)s: %(message)s"
    )
    conn = Connection(int(argv[0]))
    try:
        spec = wire.spec_decoder.decode(conn.recv_bytes())
        owner = StoreOwner(spec.stores, spec.secrets, spec.node_id)
    except BaseException as exc:  # noqa: BLE001 - the parent raises it, with the same class and message
        conn.send_bytes(wire.encode(wire.StartFailed(wire.report_error(exc))))
        conn.close()
        return 2
    conn.send_bytes(wire.encode(wire.Ready(os.getpid())))
    StoreService(owner, conn).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
