"""An ordered, fsync'd, append-only log of byte records in numbered segment files.

Record framing: 4-byte big-endian length, 4-byte CRC32 of the payload, payload. A torn or corrupt tail
(a crash during a write) is truncated on open: that record was never fsync'd, so never acknowledged.

`checkpoint` marks the first record not yet confirmed downstream. It is replaced atomically but not
fsync'd: losing it only means re-delivering records, which the consumer deduplicates.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_HEADER = struct.Struct(">II")
_SEGMENT_PREFIX = "wal-"
_SEGMENT_SUFFIX = ".log"
_CHECKPOINT = "checkpoint"


@dataclass(frozen=True, order=True)
class Position:
    segment: int
    offset: int


def _segment_name(segment: int) -> str:
    return f"{_SEGMENT_PREFIX}{segment:012d}{_SEGMENT_SUFFIX}"


class WriteAheadLog:
    def __init__(self, directory: str, *, segment_bytes: int = 64 << 20):
        self.directory = directory
        self.segment_bytes = segment_bytes
        os.makedirs(directory, exist_ok=True)
        self._segments = self._list_segments()
        self.checkpoint = self._read_checkpoint()
        for segment in self._segments:
            self._truncate_torn_tail(segment)
        if not self._segments:
            self._segments = [max(self.checkpoint.segment, 1)]
        self._file = open(self._path(self._segments[-1]), "ab")  # noqa: SIM115
        self.end = Position(self._segments[-1], self._file.tell())
        if self.checkpoint < Position(self._segments[0], 0):
            self.checkpoint = Position(self._segments[0], 0)
        self._sync_dir()

    # ---- paths and recovery -------------------------------------------------------------------
    def _path(self, segment: int) -> str:
        return os.path.join(self.directory, _segment_name(segment))

    def _list_segments(self) -> list[int]:
        names = (n for n in os.listdir(self.directory) if n.startswith(_SEGMENT_PREFIX) and n.endswith(_SEGMENT_SUFFIX))
        return sorted(int(n[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)]) for n in names)

    def _read_checkpoint(self) -> Position:
        try:
            with open(os.path.join(self.directory, _CHECKPOINT)) as f:
                segment, offset = (int(x) for x in f.read().split())
            return Position(segment, offset)
        except (FileNotFoundError, ValueError):
            return Position(0, 0)

    def _truncate_torn_tail(self, segment: int) -> None:
        path = self._path(segment)
        good = 0
        for _, end in self._scan(segment, 0):
            good = end.offset
        if good != os.path.getsize(path):
            with open(path, "r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())

    def _scan(self, segment: int, offset: int) -> Iterator[tuple[bytes, Position]]:
        with open(self._path(segment), "rb") as f:
            f.seek(offset)
            while True:
                header = f.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    return
                length, crc = _HEADER.unpack(header)
                payload = f.read(length)
                if len(payload) < length or zlib.crc32(payload) != crc:
                    return
                offset += _HEADER.size + length
                yield payload, Position(segment, offset)

    def _sync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ---- writing ------------------------------------------------------------------------------
    def append(self, payload: bytes) -> Position:
        """Append one record and fsync it. Returns the position just after it."""
        return self.append_many((payload,))

    def append_many(self, payloads: Iterable[bytes]) -> Position:
        """Append records in order, then fsync once. Returns the position just after the last one."""
        return self.append_batch(payloads)[1]

    def append_batch(self, payloads: Iterable[bytes]) -> tuple[Position, Position]:
        """`append_many`, returning also where the first record begins (in a new segment if one was started)."""
        start: Position | None = None
        write = self._file.write
        for payload in payloads:
            if self.end.offset >= self.segment_bytes:
                self._roll()
                write = self._file.write
            if start is None:
                start = self.end
            write(_HEADER.pack(len(payload), zlib.crc32(payload)))
            write(payload)
            self.end = Position(self.end.segment, self._file.tell())
        self._file.flush()
        os.fdatasync(self._file.fileno())
        return (self.end if start is None else start), self.end

    def pending(self, start: Position | None = None) -> Iterator[tuple[bytes, Position]]:
        """Records after the checkpoint (or after `start`, a record boundary past it), in order (includes
        records appended while iterating)."""
        position = self.checkpoint if start is None else max(start, self.checkpoint)
        for segment in list(self._segments):
            if segment < position.segment:
                continue
            yield from self._scan(segment, position.offset if segment == position.segment else 0)

    @property
    def has_pending(self) -> bool:
        return self.checkpoint < self.end

    def confirm(self, position: Position) -> None:
        """Everything before `position` is stored downstream: advance the checkpoint, drop old segments."""
        if position <= self.checkpoint:
            return
        if position.segment != self._segments[-1] and position.offset >= os.path.getsize(self._path(position.segment)):
            # The end of a finished segment: point at the next one so the finished one can be deleted.
            position = Position(self._segments[self._segments.index(position.segment) + 1], 0)
        self.checkpoint = position
        tmp = os.path.join(self.directory, _CHECKPOINT + ".tmp")
        with open(tmp, "w") as f:
            f.write(f"{self.checkpoint.segment} {self.checkpoint.offset}")
        os.replace(tmp, os.path.join(self.directory, _CHECKPOINT))
        while len(self._segments) > 1 and self._segments[0] < self.checkpoint.segment:
            os.unlink(self._path(self._segments.pop(0)))

    def _roll(self) -> None:
        self._file.flush()
        os.fdatasync(self._file.fileno())  # the finished segment's records are durable before the next one starts
        self._file.close()
        segment = self._segments[-1] + 1
        self._segments.append(segment)
        self._file = open(self._path(segment), "ab")  # noqa: SIM115
        self._sync_dir()
        if self.checkpoint == self.end:  # everything so far is confirmed: nothing pending before the new segment
            self.checkpoint = Position(segment, 0)
        self.end = Position(segment, 0)

    def close(self) -> None:
        self._file.close()
