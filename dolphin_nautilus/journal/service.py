"""The store service: a child process that owns ClickHouse (chDB), the Journal and the live-state sink.

The trading process never loads chDB; it talks to this process through `journal.remote`. Started as

    python -m dolphin_nautilus.journal.service FD

with FD one end of a socketpair (a `multiprocessing.connection.Connection`). The first message is a
msgpack `ServiceSpec`; the service answers ("ready", pid) or ("failed", error type, message) and exits.

Messages (pickled tuples; fact batches are msgpack bytes inside):
  parent -> ("facts", batch_id, payload)      payload: msgpack list of (table, fact) pairs
            ("call", request_id, op, args, kwargs)  op: flush, sync, status, info, close, or a READERS name
  child  -> ("ack", [batch_id, ...])          sent only after journal.sync(): the batches are in the WAL
            ("reply", request_id, ok, value)  value: the result, or (error type name, message)

A batch is appended to the Journal on the main thread in arrival order; the acker thread then waits for
journal.sync() and acks every batch appended before it. If the parent goes away (EOF) the service closes
the Journal (everything received goes to the WAL, and to ClickHouse if it is up) and exits.
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
from pathlib import Path

import msgspec

from dolphin_nautilus.config import Config
from dolphin_nautilus.domain.facts import FACT_TYPE_BY_TABLE

log = logging.getLogger("dolphin_nautilus.journal.service")

# The ClickHouseStore methods a parent may call; anything else is refused.
READERS = frozenset({
    "latest_position_states", "open_position_states", "recent_anomalies", "count", "row_ids",
    "foreign_namespace_rows", "ping", "legacy_position_state",
})
REJECTED_TABLE = "!rejected"  # a batch entry the parent could not encode: quarantined here, never dropped


class ServiceSpec(msgspec.Struct, frozen=True, kw_only=True):
    config: Config
    state_dir: str
    node_id: str  # the parent's lease holder id: the live-state sink writes under the parent's lease


class Rejected(msgspec.Struct, frozen=True):
    type_name: str
    text: str  # repr() of the object, cut
    error: str


class RejectedObject:
    """Stands for an object the parent could not encode. It has no `table`, so the Journal quarantines it
    (quarantine.jsonl + a JOURNAL_QUARANTINE anomaly) exactly as it would an unencodable object in-process."""

    def __init__(self, rejected: Rejected) -> None:
        self.rejected = rejected

    @property
    def table(self) -> str:
        raise AttributeError(f"not a journal fact ({self.rejected.type_name}): {self.rejected.error}")

    def __repr__(self) -> str:
        return f"<{self.rejected.type_name} from the trading process: {self.rejected.text}>"


_batch_decoder = msgspec.msgpack.Decoder(list[tuple[str, msgspec.Raw]])
_fact_decoders = {table: msgspec.msgpack.Decoder(t) for table, t in FACT_TYPE_BY_TABLE.items()}
_rejected_decoder = msgspec.msgpack.Decoder(Rejected)


def decode_batch(payload: bytes) -> list:
    """Facts of a batch in order; an entry that does not decode becomes a RejectedObject (quarantined)."""
    out: list = []
    for table, raw in _batch_decoder.decode(payload):
        try:
            if table == REJECTED_TABLE:
                out.append(RejectedObject(_rejected_decoder.decode(raw)))
            else:
                out.append(_fact_decoders[table].decode(raw))
        except Exception as exc:  # noqa: BLE001 - one bad entry must not lose the batch
            out.append(RejectedObject(Rejected(type_name=table, text=bytes(raw)[:500].hex(), error=repr(exc))))
    return out


class StoreService:
    """Opens the stores exactly as the in-process wiring does (node.stores), then serves one connection."""

    def __init__(self, spec: ServiceSpec) -> None:
        from dolphin_nautilus.journal.store import ClickHouseStore
        from dolphin_nautilus.journal.writer import Journal
        from dolphin_nautilus.node.stores import clickhouse_config, journal_config, open_live_state
        from dolphin_nautilus.state import SlotStateWriter

        config, state_dir = spec.config, Path(spec.state_dir)
        ttl = config.hazelcast.lease_ttl_s
        self.live_state = open_live_state(config, state_dir)
        try:
            # Same holder id as the parent, which holds the lease: this (re)takes it as that holder.
            if not self.live_state.acquire_lease(spec.node_id, ttl):
                raise RuntimeError(f"live state of '{config.node.namespace}' is leased to "
                                   f"{self.live_state.lease_holder()}, not to {spec.node_id}")
            self.store = ClickHouseStore(clickhouse_config(config, state_dir))
        except BaseException:
            self.live_state.close()
            raise
        writer = SlotStateWriter(self.live_state, spec.node_id, lease_ttl_s=ttl)
        self.journal = Journal(self.store, journal_config(config, state_dir), sinks=[writer.write_batch])
        self._send_lock = threading.Lock()
        self._acks: queue.SimpleQueue = queue.SimpleQueue()
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="store-service")
        self._conn: Connection | None = None

    def serve(self, conn: Connection) -> None:
        self._conn = conn
        acker = threading.Thread(target=self._ack_loop, name="store-service-acker", daemon=True)
        acker.start()
        try:
            while True:
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    log.warning("store service: the trading process went away; closing the journal")
                    break
                if message[0] == "facts":
                    for fact in decode_batch(message[2]):
                        self.journal.append(fact)
                    self._acks.put(message[1])
                elif message[2] == "close":
                    self._acks.put(None)
                    acker.join()
                    self._reply(message[1], True, self._close())
                    return
                else:
                    self._dispatch(*message[1:])
        finally:
            self._acks.put(None)
            acker.join(30)
            self._close()

    def _dispatch(self, request_id: int, op: str, args: tuple, kwargs: dict) -> None:
        if op == "status":
            self._reply(request_id, True, msgspec.structs.asdict(self.journal.status()))
        elif op == "info":
            self._reply(request_id, True, {
                "pid": os.getpid(), "namespace": self.store.namespace, "database": self.store.database,
                "nautilus_loaded": any(m.startswith("nautilus_trader") for m in sys.modules),
            })
        else:
            self._workers.submit(self._run_blocking, request_id, op, args, kwargs)

    def _run_blocking(self, request_id: int, op: str, args: tuple, kwargs: dict) -> None:
        try:
            if op in ("flush", "sync"):
                result = getattr(self.journal, op)(*args)
            elif op in READERS:
                result = getattr(self.store, op)(*args, **kwargs)
            else:
                raise ValueError(f"store service: unknown request {op!r}")
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, named
            self._reply(request_id, False, (type(exc).__name__, str(exc)))
        else:
            self._reply(request_id, True, result)

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
                    self.journal.sync()
                except Exception:  # the journal's writer died: let the parent restart us and re-send
                    log.exception("store service: journal cannot accept facts; exiting")
                    os._exit(70)
                self._send(("ack", batch_ids))
            if done:
                return

    def _reply(self, request_id: int, ok: bool, value) -> None:
        self._send(("reply", request_id, ok, value))

    def _send(self, message: tuple) -> None:
        try:
            with self._send_lock:
                self._conn.send(message)
        except (OSError, ValueError):
            pass  # the parent is gone; what we hold is in the WAL or goes there on close

    def _close(self) -> dict:
        if self._workers is None:
            return msgspec.structs.asdict(self.journal.status())
        self._workers.shutdown(wait=True)
        self._workers = None
        try:
            status = self.journal.close()
        finally:
            self.store.close()
            self.live_state.close()  # the lease stays the parent's to release
        return msgspec.structs.asdict(status)


def main(argv: list[str]) -> int:
    # Owner-only files (chDB, WAL, live state) even when started outside dolphin-node, which sets the same mask.
    os.umask(0o077)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s store-service %(levelname)s %(name)s: %(message)s")
    conn = Connection(int(argv[0]))
    try:
        spec = msgspec.msgpack.decode(conn.recv_bytes(), type=ServiceSpec)
        service = StoreService(spec)
    except BaseException as exc:  # noqa: BLE001 - the parent raises it, with the same type and message
        conn.send(("failed", type(exc).__name__, str(exc)))
        conn.close()
        return 2
    conn.send(("ready", os.getpid()))
    service.serve(conn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
