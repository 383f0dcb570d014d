"""File-backed live state for backtests and single-machine runs.

One JSON file per namespace holds the entries and the lease record. Every mutation runs under an
exclusive `flock` on a sibling lock file (so two processes, or two stores in one process, serialize) and
rewrites the file via temp file + fsync + rename + directory fsync, so a crash leaves either the old or
the new file, never a torn one. The lease is a record (holder, wall-clock expiry) checked under that lock
on every write, so only one holder can write and another can take over once it expires.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from dolphin_nautilus.state.store import (
    LeaseLost,
    LiveEntries,
    NotLeaseHolder,
    StateStoreError,
    _checked_namespace,
    decode_entries,
    decode_value,
    encode_value,
)


class LocalStateStore:
    def __init__(self, path: str | os.PathLike, namespace: str) -> None:
        self.namespace = _checked_namespace(namespace)
        self.directory = Path(path)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.file = self.directory / f"{namespace.lower()}.state.json"
        self._lock_file = self.directory / f"{namespace.lower()}.state.lock"
        self._holder: str | None = None  # the holder this store acquired for
        self._token: int | None = None  # fencing token of that acquisition

    # ------------------------------------------------------------ reads

    def get(self, key: str) -> dict | None:
        value = self._entries_of(self._read()).get(key)
        return None if value is None else decode_value(value)

    def entries(self) -> dict[str, dict]:
        return self.read_entries().entries

    def read_entries(self) -> LiveEntries:
        return decode_entries(self._entries_of(self._read()).items())

    def lease_holder(self) -> str | None:
        lease = self._read()["lease"]
        return lease["holder"] if lease and lease["expires_at"] > time.time() else None

    # ------------------------------------------------------------ writes (lease holder only)

    def put(self, key: str, value: dict) -> None:
        self.write_many({key: value})

    def remove(self, key: str) -> None:
        self.write_many({key: None})

    def write_many(self, changes: Mapping[str, dict | None]) -> None:
        encoded = {k: None if v is None else encode_value(v) for k, v in changes.items()}
        with self._locked() as state:
            self._check_holder(state)
            for key, text in encoded.items():
                if text is None:
                    state["entries"].pop(key, None)
                else:
                    state["entries"][key] = text
            self._write(state)

    def compare_and_set(self, key: str, expected: dict | None, new: dict | None) -> bool:
        expected_text = None if expected is None else encode_value(expected)
        new_text = None if new is None else encode_value(new)
        with self._locked() as state:
            self._check_holder(state)
            if state["entries"].get(key) != expected_text:
                return False
            if new_text is None:
                state["entries"].pop(key, None)
            else:
                state["entries"][key] = new_text
            self._write(state)
            return True

    # ------------------------------------------------------------ lease

    def acquire_lease(self, holder_id: str, ttl_s: float, *, take_over_own: bool = True) -> bool:
        """Take the lease under a new fencing token, or False while another holder's lease is live.

        With `take_over_own` a live lease of this very holder id is taken over (a node restarted after a crash:
        its previous life's lease); the new token fences that previous life off. Without it (a keeper taking
        back a lapsed lease) a live lease of the same id is left alone: it is a newer life of this node.
        """
        with self._locked() as state:
            lease = state["lease"]
            if lease and lease["expires_at"] > time.time() and (lease["holder"] != holder_id or not take_over_own):
                return False
            # Every acquisition gets a new token, so every earlier holder (a paused former life included) is fenced.
            token = state.get("fence", 0) + 1
            state["fence"] = token
            state["lease"] = {"holder": holder_id, "expires_at": time.time() + ttl_s, "token": token}
            self._write(state)
        self._holder, self._token = holder_id, token
        return True

    @property
    def fencing_token(self) -> int | None:
        return self._token if self._holder is not None else None

    def renew_lease(self, holder_id: str, ttl_s: float) -> bool:
        with self._locked() as state:
            lease = state["lease"]
            if (
                not lease
                or lease["holder"] != holder_id
                or lease.get("token") != self._token  # a newer life of this holder id took it over
                or lease["expires_at"] <= time.time()
            ):
                if self._holder == holder_id:
                    self._holder = None
                return False
            lease["expires_at"] = time.time() + ttl_s
            self._write(state)
        self._holder = holder_id
        return True

    def release_lease(self, holder_id: str) -> None:
        with self._locked() as state:
            lease = state["lease"]
            if lease and lease["holder"] == holder_id and lease.get("token") == self._token:
                state["lease"] = None  # only our own acquisition: never a newer life's lease
                self._write(state)
        if self._holder == holder_id:
            self._holder = None

    def close(self) -> None:
        """Nothing is buffered; the lease is kept until it expires or is released explicitly."""

    # ------------------------------------------------------------ internals

    def _check_holder(self, state: dict) -> None:
        if self._holder is None:
            raise NotLeaseHolder(f"namespace {self.namespace}: this store does not hold the writer lease")
        lease = state["lease"]
        if (
            not lease
            or lease["holder"] != self._holder
            or lease.get("token") != self._token
            or lease["expires_at"] <= time.time()
        ):
            lost, self._holder = self._holder, None
            now_held_by = lease["holder"] if lease and lease["expires_at"] > time.time() else None
            raise LeaseLost(
                f"namespace {self.namespace}: lease of {lost!r} expired or was taken (holder now {now_held_by!r})"
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._sweep_temp_files()
            yield self._read()
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _sweep_temp_files(self) -> None:
        """Under the lock no one is mid-write, so any temp file is left by a killed writer."""
        for stale in self.directory.glob(f"{self.file.name}*.tmp"):
            stale.unlink(missing_ok=True)

    def _entries_of(self, state: dict) -> dict:
        entries = state.get("entries") if isinstance(state, dict) else None
        if not isinstance(entries, dict):
            raise StateStoreError(f"state file {self.file} has no 'entries' object")
        return entries

    def _read(self) -> dict:
        try:
            raw = self.file.read_bytes()
        except FileNotFoundError:
            return {"entries": {}, "lease": None}
        try:
            state = json.loads(raw)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            raise StateStoreError(f"state file {self.file} is not valid JSON: {exc}") from exc
        return state

    def _write(self, state: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=self.file.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(json.dumps(state, sort_keys=True).encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.file)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)
