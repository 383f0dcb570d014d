"""Live state in Hazelcast: map DOLPHIN_STATE_<NS> (canonical JSON strings) and lease map DOLPHIN_LEASE_<NS>.

Delivery: the store keeps the value of every key it wrote (`_mirror`) and a set of writes not yet
acknowledged (`_pending`). A write that cannot reach the member within the operation timeout stays
pending and is retried by a background thread; after every (re)connection the whole mirror and the lease
are re-put, because a restarted member comes back empty. So a write made around a member restart is not
lost, and no call blocks longer than about `op_timeout_s`.

Fencing: before each delivery (and each compare-and-set) the store reads `writer` and sends only if it still
carries its holder id *and* token. A holder paused past its lease, or an older incarnation of the same holder
id (a restarted node takes over its own lease under a new token), is fenced off: it sends nothing and drops
what it had pending. The check and the writes are separate operations (IMap has no multi-key conditional
write without CP or member-side code), so the residual window is one round trip.

The lease itself (acquire, renew, release, the fence counter) is in `hazelcast_lease.py`; the client, its
settings and the bounded waits are in `hazelcast_connection.py`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from hazelcast.errors import HazelcastError
from hazelcast.lifecycle import LifecycleState

from dolphin_nautilus.state.hazelcast_config import HazelcastStoreConfig
from dolphin_nautilus.state.hazelcast_connection import (
    MAP_SERVICE,
    open_hazelcast_client,
    register_map_proxies,
    wait_hazelcast_future,
)
from dolphin_nautilus.state.hazelcast_lease import LEASE_KEY, HazelcastLeaseMixin, encoded_lease
from dolphin_nautilus.state.store import (
    LeaseLost,
    LiveEntries,
    NotLeaseHolder,
    StateUnavailable,
    decode_entries,
    decode_value,
    encode_value,
    lease_map_name,
    state_map_name,
)

log = logging.getLogger(__name__)


class HazelcastStateStore(HazelcastLeaseMixin):
    def __init__(self, config: HazelcastStoreConfig, namespace: str, *, username: str = "", password: str = "") -> None:
        """`username`/`password`: the cluster credentials, passed in by the caller (never read here, never kept)."""
        self.namespace = namespace
        self.config = config
        self.state_map_name = state_map_name(namespace)
        self.lease_map_name = lease_map_name(namespace)
        self._lock = threading.RLock()
        self._mirror: dict[str, str] = {}
        self._pending: dict[str, str | None] = {}
        self._holder: str | None = None
        self._token: int | None = None  # fencing token of the latest acquisition (kept after a loss, for errors)
        self._lease_ttl_s = 0.0
        self._lease_deadline = 0.0  # time.monotonic()
        self._connected = threading.Event()
        self._resync_needed = threading.Event()  # wakes the worker; `_connections` says whether to resync
        self._connections = 0  # CONNECTED events so far (written by the client's reactor thread only)
        self._closed = threading.Event()
        self._client = open_hazelcast_client(config, username, password, self._on_lifecycle)
        if not self._connected.wait(config.connect_timeout_s):
            self._client.shutdown()
            raise StateUnavailable(
                f"no Hazelcast member reachable at {config.cluster_members} within {config.connect_timeout_s}s"
            )
        try:
            self._state = self._call(lambda: self._client.get_map(self.state_map_name), "get state map")
            self._leases = self._call(lambda: self._client.get_map(self.lease_map_name), "get lease map")
        except StateUnavailable:
            self._client.shutdown()
            raise
        self._worker = threading.Thread(
            target=self._resync_loop, args=(self._connections,), name=f"hz-state-{namespace}", daemon=True
        )  # the first connection needs no re-put
        self._worker.start()

    # ------------------------------------------------------------ reads

    def get(self, key: str) -> dict | None:
        text = self._call(lambda: self._state.get(key), f"get {key}")
        return None if text is None else decode_value(text)

    def entries(self) -> dict[str, dict]:
        return self.read_entries().entries

    def read_entries(self) -> LiveEntries:
        pairs = self._call(lambda: self._state.entry_set(), "entry_set")
        return decode_entries(pairs)

    def lease_holder(self) -> str | None:
        text = self._call(lambda: self._leases.get(LEASE_KEY), "lease get")
        return None if text is None else decode_value(text)["holder"]

    def cluster_map_names(self) -> set[str]:
        """Every map the cluster lists (all namespaces): what `dolphin-ctl mode-verify` shows."""
        objects = self._call(lambda: self._client.get_distributed_objects(), "list distributed objects")
        return {o.name for o in objects if o.service_name == MAP_SERVICE}

    def pending(self) -> dict[str, str | None]:
        """Writes not yet acknowledged by the member (key -> canonical JSON, None for a removal)."""
        with self._lock:
            return dict(self._pending)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Try to deliver pending writes until `timeout_s`; True when none is left."""
        deadline = time.monotonic() + (self.config.op_timeout_s if timeout_s is None else timeout_s)
        while True:
            with self._lock:
                self._deliver_pending()
                if not self._pending:
                    return True
            if time.monotonic() >= deadline or self._closed.is_set():
                return False
            time.sleep(0.05)

    # ------------------------------------------------------------ writes (lease holder only)

    def put(self, key: str, value: dict) -> None:
        self.write_many({key: value})

    def remove(self, key: str) -> None:
        self.write_many({key: None})

    def write_many(self, changes: Mapping[str, dict | None]) -> None:
        """Record the changes, then try to deliver them; undelivered ones stay pending (never lost)."""
        encoded = {k: None if v is None else encode_value(v) for k, v in changes.items()}
        with self._lock:
            self._check_holder()
            for key, text in encoded.items():
                if text is None:
                    self._mirror.pop(key, None)
                else:
                    self._mirror[key] = text
                self._pending[key] = text
            self._deliver_pending()
            if self._holder is None:
                raise LeaseLost(
                    f"namespace {self.namespace}: the member's lease record no longer carries this "
                    f"store's token {self._token}; the write was not sent"
                )

    def compare_and_set(self, key: str, expected: dict | None, new: dict | None) -> bool:
        expected_text = None if expected is None else encode_value(expected)
        new_text = None if new is None else encode_value(new)
        with self._lock:
            self._check_holder()
            self._deliver_pending()
            if key in self._pending:
                raise StateUnavailable(f"compare_and_set {key}: an earlier write to it is still undelivered")
            if self._holder is None or not self._fence_check():
                raise LeaseLost(
                    f"namespace {self.namespace}: the member's lease record no longer carries this "
                    f"store's token {self._token}; compare_and_set {key} was not sent"
                )
            swapped = self._call(lambda: self._cas_future(key, expected_text, new_text), f"compare_and_set {key}")
            if swapped:
                if new_text is None:
                    self._mirror.pop(key, None)
                else:
                    self._mirror[key] = new_text
            return swapped

    def _cas_future(self, key: str, expected: str | None, new: str | None):
        if expected is None and new is None:
            return self._state.contains_key(key).continue_with(lambda f: not f.result())
        if expected is None:
            return self._state.put_if_absent(key, new).continue_with(lambda f: f.result() is None)
        if new is None:
            return self._state.remove_if_same(key, expected)
        return self._state.replace_if_same(key, expected, new)

    def close(self) -> None:
        """Deliver what is pending (bounded), then disconnect. The lease is kept until it expires."""
        if self._closed.is_set():
            return
        self.flush(self.config.op_timeout_s)
        self._closed.set()
        self._resync_needed.set()
        self._worker.join(self.config.op_timeout_s + 1)
        self._client.shutdown()

    # ------------------------------------------------------------ internals

    def _load_mirror(self) -> None:
        """A new holder adopts the member's current state as the state it will keep re-putting."""
        pairs = self._call(lambda: self._state.entry_set(), "entry_set")
        with self._lock:
            self._mirror = {k: v for k, v in pairs}
            self._mirror.update({k: v for k, v in self._pending.items() if v is not None})
            for key in [k for k, v in self._pending.items() if v is None]:
                self._mirror.pop(key, None)

    def _check_holder(self) -> None:
        if self._holder is None:
            if self._token is not None:
                raise LeaseLost(
                    f"namespace {self.namespace}: the lease (token {self._token}) was lost or taken "
                    "over; this store no longer writes"
                )
            raise NotLeaseHolder(f"namespace {self.namespace}: this store does not hold the writer lease")
        if time.monotonic() >= self._lease_deadline:
            lost, self._holder = self._holder, None
            raise LeaseLost(f"namespace {self.namespace}: lease of {lost!r} expired before it was renewed")

    def _deliver_pending(self) -> None:
        """Send every pending write at once, wait for them (bounded), keep the ones that failed.

        Only while this store holds the lease and the member confirms our token (fencing): a store that was
        paused past its lease, or whose holder id was taken over by a newer incarnation, sends nothing.
        """
        if not self._pending or not self._is_connected() or self._holder is None:
            return
        try:
            if not self._fence_check():
                return
        except StateUnavailable as exc:
            log.warning("state writes for %s held back: %s", self.namespace, exc)
            return
        sent = {}
        for key, text in self._pending.items():
            future = self._state.delete(key) if text is None else self._state.set(key, text)
            sent[key] = (text, future)
        deadline = time.monotonic() + self.config.op_timeout_s
        for key, (text, future) in sent.items():
            try:
                wait_hazelcast_future(future, deadline - time.monotonic())
            except (HazelcastError, TimeoutError) as exc:
                log.warning("state write %s not delivered yet (%s); will retry", key, type(exc).__name__)
                continue
            if self._pending.get(key, object()) == text:
                del self._pending[key]

    def _on_lifecycle(self, state: str) -> None:
        # Runs on the client's reactor thread: only set flags, never call the client here.
        if state == LifecycleState.CONNECTED:
            self._connections += 1
            self._connected.set()
            self._resync_needed.set()
        elif state in (LifecycleState.DISCONNECTED, LifecycleState.SHUTTING_DOWN):
            self._connected.clear()

    def _is_connected(self) -> bool:
        return self._connected.is_set()

    def _resync_loop(self, resynced_connections: int) -> None:
        """Deliver pending writes every round; after each new connection, resync first.

        A new connection is told by the counter, not by the event's flag: a CONNECTED event landing between
        the wait's timeout and its clear would otherwise be lost, and a restarted member would stay empty.
        """
        while not self._closed.is_set():
            self._resync_needed.wait(self.config.retry_interval_s)
            self._resync_needed.clear()
            if self._closed.is_set():
                return
            connections = self._connections
            try:
                if connections != resynced_connections:
                    self._resync()
                    resynced_connections = connections
                with self._lock:
                    self._deliver_pending()
            except Exception:  # keep the worker alive; the next round retries
                log.exception("live-state resync for %s failed; retrying", self.namespace)
                time.sleep(self.config.retry_interval_s)

    def _resync(self) -> None:
        """After a (re)connection: retake our lease, then re-put everything we hold."""
        with self._lock:
            holder, token, ttl = self._holder, self._token, self._lease_ttl_s
        self._register_maps()
        if holder is None or token is None or time.monotonic() >= self._lease_deadline:
            return
        existing = self._retake(holder, token, ttl)
        if existing != encoded_lease(holder, token):
            with self._lock:
                if self._token != token:
                    return  # re-acquired meanwhile under another token: not ours to judge
            self._fenced(existing)
            return
        with self._lock:
            for key, text in self._mirror.items():
                self._pending.setdefault(key, text)
            self._deliver_pending()

    def _register_maps(self) -> None:
        """Announce our maps to the (possibly restarted) cluster again (see `register_map_proxies`)."""
        register_map_proxies(self._client, (self.state_map_name, self.lease_map_name), self._call)

    def _call(self, make_future, what: str):
        if self._closed.is_set():
            raise StateUnavailable(f"{what}: store is closed")
        try:
            return wait_hazelcast_future(make_future(), self.config.op_timeout_s + 0.5)
        except TimeoutError as exc:
            raise StateUnavailable(f"{what}: no answer within {self.config.op_timeout_s}s") from exc
        except HazelcastError as exc:
            raise StateUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
