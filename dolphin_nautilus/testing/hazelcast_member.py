"""A single Hazelcast member that speaks the open binary client protocol (2.x) well enough for the
unmodified `hazelcast-python-client` 5.7: handshake, cluster view, IMap, ITopic, ping.

No Java member can be installed on our build machines, so tests (and ops rehearsals) run the real client
against this. Scope and fidelity limits:
- one member, all partitions; no backups, migration or split brain; every operation is atomic because one
  asyncio loop thread runs them all (stronger than a real cluster during failover);
- no predicates, SQL, entry processors, locks, entry listeners or near-cache invalidation: those message
  types (and every other one not listed in `_HANDLERS`) get an UnsupportedOperation error reply, so a client
  call fails fast instead of hanging;
- TTL is real (monotonic clock). `replace_if_same`/`replace` keep the entry's expiry (unverified against
  a real member); `set_ttl` resets it.

Start it in-process (`HazelcastMember().start()`) or as a process:
`python -m dolphin_nautilus.testing.hazelcast_member --port 5701 --cluster-name dev`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

BEGIN_FRAGMENT = 0x8000
END_FRAGMENT = 0x4000
UNFRAGMENTED = BEGIN_FRAGMENT | END_FRAGMENT
IS_FINAL = 0x2000
BEGIN_DATA_STRUCTURE = 0x1000
END_DATA_STRUCTURE = 0x0800
IS_NULL = 0x0400
IS_EVENT = 0x0200

PARTITION_COUNT = 271
SERVER_VERSION = "5.5.0"
REQUEST_HEADER = 16  # type, correlation id, partition id

ERROR_UNSUPPORTED_OPERATION = 61
ERROR_ILLEGAL_ARGUMENT = 23

_FRAME_HEADER = struct.Struct("<iH")
_RESPONSE_HEADER = struct.Struct("<iqB")
_EVENT_HEADER = struct.Struct("<iqi")


# ---------------------------------------------------------------- encoding


def _frame(payload: bytes = b"", flags: int = 0) -> bytearray:
    return bytearray(_FRAME_HEADER.pack(len(payload) + _FRAME_HEADER.size, flags) + payload)


def _uuid_bytes(value: uuid.UUID | None) -> bytes:
    if value is None:
        return struct.pack("<?qq", True, 0, 0)
    return struct.pack("<?QQ", False, value.int >> 64, value.int & ((1 << 64) - 1))


BEGIN = bytes(_frame(b"", BEGIN_DATA_STRUCTURE))
END = bytes(_frame(b"", END_DATA_STRUCTURE))
NULL = bytes(_frame(b"", IS_NULL))


def _string(text: str) -> bytes:
    return bytes(_frame(text.encode()))


def _nullable_data(data: bytes | None) -> bytes:
    return NULL if data is None else bytes(_frame(data))


def _data_list(items: list[bytes]) -> bytes:
    return BEGIN + b"".join(bytes(_frame(i)) for i in items) + END


def _entry_list(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return BEGIN + b"".join(bytes(_frame(k)) + bytes(_frame(v)) for k, v in pairs) + END


def _address(host: str, port: int) -> bytes:
    return BEGIN + bytes(_frame(struct.pack("<i", port))) + _string(host) + END


def _message(initial: bytearray, rest: bytes) -> bytes:
    """Join frames and mark the last one final (the initial frame when there is nothing else)."""
    if not rest:
        initial[4:6] = struct.pack("<H", struct.unpack_from("<H", initial, 4)[0] | IS_FINAL)
        return bytes(initial)
    tail = bytearray(rest)
    last = _last_frame_offset(tail)
    flags = struct.unpack_from("<H", tail, last + 4)[0] | IS_FINAL
    struct.pack_into("<H", tail, last + 4, flags)
    return bytes(initial) + bytes(tail)


def _last_frame_offset(buf: bytearray) -> int:
    offset = last = 0
    while offset < len(buf):
        last = offset
        offset += struct.unpack_from("<i", buf, offset)[0]
    return last


def response(correlation_id: int, fixed: bytes = b"", rest: bytes = b"", message_type: int = 1) -> bytes:
    # backupAckCount must be 0, or a smart client holds every reply waiting for backup events.
    initial = _frame(_RESPONSE_HEADER.pack(message_type, correlation_id, 0) + fixed, UNFRAGMENTED)
    return _message(initial, rest)


def event(message_type: int, correlation_id: int, fixed: bytes = b"", rest: bytes = b"") -> bytes:
    initial = _frame(_EVENT_HEADER.pack(message_type, correlation_id, -1) + fixed, UNFRAGMENTED | IS_EVENT)
    return _message(initial, rest)


def error_response(correlation_id: int, code: int, class_name: str, message: str) -> bytes:
    holder = BEGIN + bytes(_frame(struct.pack("<i", code))) + _string(class_name) + _string(message)
    holder += BEGIN + END + END  # empty stack trace, end of holder
    return response(correlation_id, rest=BEGIN + holder + END, message_type=0)


# ---------------------------------------------------------------- decoding


class ProtocolError(Exception):
    """A request this member cannot parse."""


@dataclass
class Request:
    frames: list[tuple[int, bytes]]
    cursor: int = 1

    @property
    def message_type(self) -> int:
        return struct.unpack_from("<i", self.frames[0][1], 0)[0]

    @property
    def correlation_id(self) -> int:
        return struct.unpack_from("<q", self.frames[0][1], 4)[0]

    def fixed(self, fmt: str) -> tuple:
        return struct.unpack_from("<" + fmt, self.frames[0][1], REQUEST_HEADER)

    def next_frame(self) -> tuple[int, bytes]:
        if self.cursor >= len(self.frames):
            raise ProtocolError(f"message 0x{self.message_type:06X} has too few frames")
        frame = self.frames[self.cursor]
        self.cursor += 1
        return frame

    def string(self) -> str:
        return self.next_frame()[1].decode()

    def data(self) -> bytes:
        return self.next_frame()[1]

    def data_list(self) -> list[bytes]:
        flags, _ = self.next_frame()
        if not flags & BEGIN_DATA_STRUCTURE:
            raise ProtocolError("expected a list")
        items = []
        while True:
            flags, payload = self.next_frame()
            if flags & END_DATA_STRUCTURE:
                return items
            items.append(payload)

    def uuid_at(self, offset: int) -> uuid.UUID | None:
        is_null, msb, lsb = struct.unpack_from("<?QQ", self.frames[0][1], REQUEST_HEADER + offset)
        return None if is_null else uuid.UUID(int=(msb << 64) | lsb)


def _identity(data: bytes) -> bytes:
    """Key/value equality as Java HeapData.equals: the bytes after the 4-byte partition hash."""
    return data[4:]


# ---------------------------------------------------------------- state


@dataclass
class Entry:
    key: bytes
    value: bytes
    expires_at: float | None  # time.monotonic() deadline; None never expires


def _expiry(ttl_ms: int) -> float | None:
    # -1 is "map default" (none configured here) and 0 is "infinite".
    return None if ttl_ms <= 0 else time.monotonic() + ttl_ms / 1000


@dataclass
class MemberState:
    maps: dict[str, dict[bytes, Entry]] = field(default_factory=dict)

    def live_map(self, name: str) -> dict[bytes, Entry]:
        entries = self.maps.setdefault(name, {})
        now = time.monotonic()
        for key in [k for k, e in entries.items() if e.expires_at is not None and e.expires_at <= now]:
            del entries[key]
        return entries


@dataclass(eq=False)
class Connection:
    writer: asyncio.StreamWriter
    authenticated: bool = False


Handler = Callable[["_Session", Request], bytes]


# ---------------------------------------------------------------- the member


class HazelcastMember:
    """One member on `host:port`. `restart()` gives a new member and cluster identity, like a real
    single-member cluster restart; data is lost unless `keep_data=True` (persistence configured)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, cluster_name: str = "dev") -> None:
        self.host = host
        self.port = port
        self.cluster_name = cluster_name
        self.state = MemberState()
        self.received_types: list[int] = []  # every request's message type, for tests
        self.member_uuid = uuid.uuid4()
        self.cluster_id = uuid.uuid4()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[Connection] = set()
        self._topic_listeners: dict[str, dict[uuid.UUID, tuple[Connection, int]]] = {}

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> HazelcastMember:
        if self.running:
            raise RuntimeError(f"member {self.address} already running")
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # bind failure: report it to start()
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=f"hz-member-{self.port}", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        log.info("hazelcast test member listening on %s", self.address)
        return self

    def stop(self) -> None:
        """Close the listener and every client connection; the clients see the member go away."""
        if not self.running:
            return
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)  # type: ignore[union-attr]
        self._thread = None
        self._loop = None

    def restart(self, keep_data: bool = False) -> None:
        self.stop()
        if not keep_data:
            self.state = MemberState()
        self.member_uuid = uuid.uuid4()
        self.cluster_id = uuid.uuid4()
        self.start()

    def drop_connections(self) -> None:
        """A network blip: close client sockets but keep listening with the same identity and data."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._close_connections(), self._loop).result(10)

    def __enter__(self) -> HazelcastMember:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ loop side

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._close_connections()
        await self._server.wait_closed()
        self._topic_listeners.clear()

    async def _close_connections(self) -> None:
        for conn in list(self._connections):
            conn.writer.close()
        self._connections.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(writer)
        self._connections.add(conn)
        session = _Session(self, conn)
        try:
            if await reader.readexactly(3) != b"CP2":
                return
            while True:
                request = await _read_message(reader)
                self.received_types.append(request.message_type)
                writer.write(session.handle(request))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._connections.discard(conn)
            for listeners in self._topic_listeners.values():
                for reg in [r for r, (c, _) in listeners.items() if c is conn]:
                    del listeners[reg]
            writer.close()


async def _read_message(reader: asyncio.StreamReader) -> Request:
    frames: list[tuple[int, bytes]] = []
    while True:
        length, flags = _FRAME_HEADER.unpack(await reader.readexactly(_FRAME_HEADER.size))
        payload = await reader.readexactly(length - _FRAME_HEADER.size)
        frames.append((flags, payload))
        if flags & IS_FINAL:
            return Request(frames)


class _Session:
    """One client connection's request handling; runs on the member's loop thread."""

    def __init__(self, member: HazelcastMember, conn: Connection) -> None:
        self.member = member
        self.conn = conn

    def handle(self, request: Request) -> bytes:
        message_type = request.message_type
        handler = _HANDLERS.get(message_type)
        if handler is None:
            return error_response(
                request.correlation_id,
                ERROR_UNSUPPORTED_OPERATION,
                "java.lang.UnsupportedOperationException",
                f"the test Hazelcast member does not implement message type 0x{message_type:06X}",
            )
        if not self.conn.authenticated and message_type not in (0x000100, 0x000200):
            return error_response(
                request.correlation_id, 27, "java.lang.IllegalStateException", "not authenticated"
            )
        try:
            return handler(self, request)
        except (ProtocolError, struct.error, UnicodeDecodeError) as exc:
            return error_response(
                request.correlation_id,
                ERROR_ILLEGAL_ARGUMENT,
                "java.lang.IllegalArgumentException",
                f"malformed message 0x{message_type:06X}: {exc}",
            )

    # ------------------------------------------------------------ client service

    def authenticate(self, req: Request) -> bytes:
        cluster_name = req.string()
        member = self.member
        status = 0 if cluster_name == member.cluster_name else 1  # 1 = CREDENTIALS_FAILED
        self.conn.authenticated = status == 0
        fixed = (
            struct.pack("<B", status)
            + _uuid_bytes(member.member_uuid)
            + struct.pack("<Bi", 1, PARTITION_COUNT)
            + _uuid_bytes(member.cluster_id)
            + struct.pack("<?", False)
        )
        rest = _address(member.host, member.port) + _string(SERVER_VERSION)
        return response(req.correlation_id, fixed, rest)

    def add_cluster_view_listener(self, req: Request) -> bytes:
        member = self.member
        major, minor, patch = (int(p) for p in SERVER_VERSION.split("."))
        member_info = (
            BEGIN
            + bytes(_frame(_uuid_bytes(member.member_uuid) + struct.pack("<?", False)))
            + _address(member.host, member.port)
            + BEGIN + END  # attributes
            + BEGIN + bytes(_frame(struct.pack("<BBB", major, minor, patch))) + END
            + END
        )
        members_view = event(0x000302, req.correlation_id, struct.pack("<i", 1), BEGIN + member_info + END)
        partition_ids = struct.pack(f"<{PARTITION_COUNT}i", *range(PARTITION_COUNT))
        partitions = BEGIN + bytes(_frame(partition_ids)) + END + bytes(_frame(_uuid_bytes(member.member_uuid)))
        partitions_view = event(0x000303, req.correlation_id, struct.pack("<i", 1), partitions)
        return response(req.correlation_id) + members_view + partitions_view

    def empty(self, req: Request) -> bytes:
        return response(req.correlation_id)

    def local_backup_listener(self, req: Request) -> bytes:
        return response(req.correlation_id, _uuid_bytes(uuid.uuid4()))

    # ------------------------------------------------------------ map service

    def _map(self, req: Request) -> dict[bytes, Entry]:
        return self.member.state.live_map(req.string())

    def map_put(self, req: Request, *, reply_old: bool = True) -> bytes:
        _, ttl = req.fixed("qq")
        entries = self._map(req)
        key, value = req.data(), req.data()
        old = entries.get(_identity(key))
        entries[_identity(key)] = Entry(key, value, _expiry(ttl))
        if not reply_old:
            return response(req.correlation_id)
        return response(req.correlation_id, rest=_nullable_data(old.value if old else None))

    def map_set(self, req: Request) -> bytes:
        return self.map_put(req, reply_old=False)

    def map_put_if_absent(self, req: Request) -> bytes:
        _, ttl = req.fixed("qq")
        entries = self._map(req)
        key, value = req.data(), req.data()
        existing = entries.get(_identity(key))
        if existing is None:
            entries[_identity(key)] = Entry(key, value, _expiry(ttl))
        return response(req.correlation_id, rest=_nullable_data(existing.value if existing else None))

    def map_get(self, req: Request) -> bytes:
        entries = self._map(req)
        entry = entries.get(_identity(req.data()))
        return response(req.correlation_id, rest=_nullable_data(entry.value if entry else None))

    def map_remove(self, req: Request) -> bytes:
        entries = self._map(req)
        old = entries.pop(_identity(req.data()), None)
        return response(req.correlation_id, rest=_nullable_data(old.value if old else None))

    def map_delete(self, req: Request) -> bytes:
        self._map(req).pop(_identity(req.data()), None)
        return response(req.correlation_id)

    def map_replace(self, req: Request) -> bytes:
        entries = self._map(req)
        key, value = req.data(), req.data()
        old = entries.get(_identity(key))
        if old is not None:
            entries[_identity(key)] = Entry(key, value, old.expires_at)
        return response(req.correlation_id, rest=_nullable_data(old.value if old else None))

    def map_replace_if_same(self, req: Request) -> bytes:
        entries = self._map(req)
        key, expected, value = req.data(), req.data(), req.data()
        old = entries.get(_identity(key))
        swapped = old is not None and _identity(old.value) == _identity(expected)
        if swapped:
            entries[_identity(key)] = Entry(key, value, old.expires_at)
        return response(req.correlation_id, struct.pack("<?", swapped))

    def map_remove_if_same(self, req: Request) -> bytes:
        entries = self._map(req)
        key, expected = req.data(), req.data()
        old = entries.get(_identity(key))
        removed = old is not None and _identity(old.value) == _identity(expected)
        if removed:
            del entries[_identity(key)]
        return response(req.correlation_id, struct.pack("<?", removed))

    def map_contains_key(self, req: Request) -> bytes:
        entries = self._map(req)
        found = _identity(req.data()) in entries
        return response(req.correlation_id, struct.pack("<?", found))

    def map_set_ttl(self, req: Request) -> bytes:
        (ttl,) = req.fixed("q")
        entries = self._map(req)
        entry = entries.get(_identity(req.data()))
        if entry is not None:
            entry.expires_at = _expiry(ttl)
        return response(req.correlation_id, struct.pack("<?", entry is not None))

    def map_key_set(self, req: Request) -> bytes:
        return response(req.correlation_id, rest=_data_list([e.key for e in self._map(req).values()]))

    def map_values(self, req: Request) -> bytes:
        return response(req.correlation_id, rest=_data_list([e.value for e in self._map(req).values()]))

    def map_entry_set(self, req: Request) -> bytes:
        pairs = [(e.key, e.value) for e in self._map(req).values()]
        return response(req.correlation_id, rest=_entry_list(pairs))

    def map_get_all(self, req: Request) -> bytes:
        entries = self._map(req)
        found = [entries.get(_identity(k)) for k in req.data_list()]
        return response(req.correlation_id, rest=_entry_list([(e.key, e.value) for e in found if e]))

    def map_put_all(self, req: Request) -> bytes:
        entries = self._map(req)
        items = req.data_list()
        for key, value in zip(items[::2], items[1::2]):
            entries[_identity(key)] = Entry(key, value, None)
        return response(req.correlation_id)

    def map_size(self, req: Request) -> bytes:
        return response(req.correlation_id, struct.pack("<i", len(self._map(req))))

    def map_is_empty(self, req: Request) -> bytes:
        return response(req.correlation_id, struct.pack("<?", not self._map(req)))

    def map_clear(self, req: Request) -> bytes:
        self._map(req).clear()
        return response(req.correlation_id)

    # ------------------------------------------------------------ topic service

    def topic_publish(self, req: Request) -> bytes:
        name, item = req.string(), req.data()
        fixed = struct.pack("<q", time.time_ns() // 1_000_000) + _uuid_bytes(self.member.member_uuid)
        for conn, correlation_id in list(self.member._topic_listeners.get(name, {}).values()):
            conn.writer.write(event(0x040202, correlation_id, fixed, bytes(_frame(item))))
        return response(req.correlation_id)

    def topic_add_listener(self, req: Request) -> bytes:
        registration = uuid.uuid4()
        listeners = self.member._topic_listeners.setdefault(req.string(), {})
        listeners[registration] = (self.conn, req.correlation_id)
        return response(req.correlation_id, _uuid_bytes(registration))

    def topic_remove_listener(self, req: Request) -> bytes:
        registration = req.uuid_at(0)
        removed = self.member._topic_listeners.get(req.string(), {}).pop(registration, None)
        return response(req.correlation_id, struct.pack("<?", removed is not None))


_HANDLERS: dict[int, Handler] = {
    0x000100: _Session.authenticate,
    0x000300: _Session.add_cluster_view_listener,
    0x000400: _Session.empty,  # createProxy
    0x000500: _Session.empty,  # destroyProxy
    0x000B00: _Session.empty,  # ping
    0x000C00: _Session.empty,  # statistics
    0x000F00: _Session.local_backup_listener,
    0x010100: _Session.map_put,
    0x010200: _Session.map_get,
    0x010300: _Session.map_remove,
    0x010400: _Session.map_replace,
    0x010500: _Session.map_replace_if_same,
    0x010600: _Session.map_contains_key,
    0x010800: _Session.map_remove_if_same,
    0x010900: _Session.map_delete,
    0x010E00: _Session.map_put_if_absent,
    0x010F00: _Session.map_set,
    0x012200: _Session.map_key_set,
    0x012300: _Session.map_get_all,
    0x012400: _Session.map_values,
    0x012500: _Session.map_entry_set,
    0x012A00: _Session.map_size,
    0x012B00: _Session.map_is_empty,
    0x012C00: _Session.map_put_all,
    0x012D00: _Session.map_clear,
    0x014300: _Session.map_set_ttl,
    0x040100: _Session.topic_publish,
    0x040200: _Session.topic_add_listener,
    0x040300: _Session.topic_remove_listener,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the wire-level Hazelcast test member.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5701)
    parser.add_argument("--cluster-name", default="dev")
    args = parser.parse_args(argv)
    member = HazelcastMember(args.host, args.port, args.cluster_name).start()
    print(f"hazelcast test member on {member.address} cluster {member.cluster_name}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        member.stop()


if __name__ == "__main__":
    main()
