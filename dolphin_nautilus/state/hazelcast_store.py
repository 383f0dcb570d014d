"""Live state in Hazelcast: map DOLPHIN_STATE_<NS> (canonical JSON strings) and lease map DOLPHIN_LEASE_<NS>.

Delivery: the store keeps the value of every key it wrote (`_mirror`) and a set of writes not yet
acknowledged (`_pending`). A write that cannot reach the member within the operation timeout stays
pending and is retried by a background thread; after every (re)connection the whole mirror and the lease
are re-put, because a restarted member comes back empty. So a write made around a member restart is not
lost, and no call blocks longer than about `op_timeout_s`.

Lease (Community Edition has no CP subsystem, so it is map-based): every acquisition first bumps the
namespace's fence counter (`fence`, compare-and-set) and then claims `writer` = {holder, token} with
`put_if_absent(..., ttl)`. Renewal checks the holder and calls `set_ttl` (never `replace_if_same`: a real
member drops an entry's TTL on replace). The store trusts a local monotonic deadline (taken *before* the
acquire/renew request was sent) that ends before the member's TTL, so it stops writing before the member
could hand the lease to another node.

Fencing: before each delivery (and each compare-and-set) the store reads `writer` and sends only if it still
carries its holder id *and* token. A holder paused past its lease, or an older incarnation of the same holder
id (a restarted node takes over its own lease under a new token), is fenced off: it sends nothing and drops
what it had pending. The check and the writes are separate operations (IMap has no multi-key conditional
write without CP or member-side code), so the residual window is one round trip.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from functools import partial

import hazelcast
import msgspec
from hazelcast.errors import HazelcastError
from hazelcast.invocation import Invocation
from hazelcast.lifecycle import LifecycleState
from hazelcast.protocol.codec import client_create_proxy_codec

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

LEASE_KEY = "writer"  # {"holder": id, "token": n}, with a TTL
MAP_SERVICE = "hz:impl:mapService"
FENCE_KEY = "fence"  # {"token": n}, no TTL: the namespace's fencing counter


def _lease_value(holder_id: str, token: int) -> str:
    return encode_value({"holder": holder_id, "token": token})


def _member_ttl(ttl_s: float) -> int:
    """The TTL sent to the member, in whole seconds, never shorter than ours.

    A real member truncates TTLs to whole seconds and its expiry can fall up to a second early (it keeps
    expiration times at second precision). Our local deadline stays at exactly `ttl_s`, so the local view
    always expires first and a holder stops writing before the member could hand its lease to another node.
    """
    return math.ceil(ttl_s) + 1


class HazelcastStoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    cluster_members: list[str]
    cluster_name: str = "dev"
    connect_timeout_s: float = 10.0  # bound on the first connection; reconnects retry forever
    op_timeout_s: float = 5.0  # bound on every call to the member
    retry_initial_backoff_s: float = 0.2
    retry_max_backoff_s: float = 2.0
    retry_interval_s: float = 1.0  # how often pending writes are retried while the member is away
    smart_routing: bool = True


class HazelcastStateStore:
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
        self._resync_needed = threading.Event()
        self._closed = threading.Event()
        self._client = hazelcast.HazelcastClient(
            cluster_members=list(config.cluster_members),
            cluster_name=config.cluster_name,
            creds_username=username or None,
            creds_password=password or None,
            async_start=True,  # start returns at once; we bound the wait ourselves
            cluster_connect_timeout=-1,  # then reconnect forever: the member may restart at any time
            invocation_timeout=config.op_timeout_s,
            retry_initial_backoff=config.retry_initial_backoff_s,
            retry_max_backoff=config.retry_max_backoff_s,
            smart_routing=config.smart_routing,
            # The member waits for its sync backups before it answers, instead of sending backup acks to the
            # client: after an async start or a reconnect the client's backup listener is not registered yet,
            # and each write would then wait out operation_backup_timeout (5 s) for acks that never come.
            backup_ack_to_client_enabled=False,
            lifecycle_listeners=[self._on_lifecycle],
        )
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
        self._resync_needed.clear()  # the first connection needs no re-put
        self._worker = threading.Thread(target=self._resync_loop, name=f"hz-state-{namespace}", daemon=True)
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

    # ------------------------------------------------------------ lease

    @property
    def fencing_token(self) -> int | None:
        """The token of this store's current lease acquisition (None when it holds none)."""
        with self._lock:
            return self._token if self._holder is not None else None

    def acquire_lease(self, holder_id: str, ttl_s: float) -> bool:
        """Take the namespace's lease under a new fencing token; or join this holder id's own live lease.

        Joining (same holder id, lease not expired) keeps the lease's token: that is this node restarted after
        a crash, or its store-service child writing under the parent's lease. Every other acquisition bumps
        the token, which fences off any earlier holder still believing it holds the lease.
        """
        started = time.monotonic()
        held = self._call(lambda: self._leases.get(LEASE_KEY), "lease read")
        if held is not None:
            return self._join(holder_id, held, ttl_s, started)
        token = self._next_token()
        mine = _lease_value(holder_id, token)
        existing = self._call(
            lambda: self._leases.put_if_absent(LEASE_KEY, mine, ttl=_member_ttl(ttl_s)), "lease acquire"
        )
        if existing is not None:
            return self._join(holder_id, existing, ttl_s, started)
        self._hold(holder_id, token, ttl_s, started)
        self._load_mirror()
        return True

    def _join(self, holder_id: str, held: str, ttl_s: float, started: float) -> bool:
        record = decode_value(held)
        if record.get("holder") != holder_id:
            return False
        if not isinstance(record.get("token"), int):
            # A lease written before fencing tokens: release it and acquire afresh (once).
            if self._call(lambda: self._leases.remove_if_same(LEASE_KEY, held), "lease upgrade"):
                return self.acquire_lease(holder_id, ttl_s)
            return False
        # Extend, then check it is still that very record. Never replace: that drops the TTL on a real member.
        if not self._call(lambda: self._leases.set_ttl(LEASE_KEY, _member_ttl(ttl_s)), "lease ttl"):
            return False
        if self._call(lambda: self._leases.get(LEASE_KEY), "lease join") != held:
            return False
        self._hold(holder_id, record["token"], ttl_s, started)
        self._load_mirror()
        return True

    def renew_lease(self, holder_id: str, ttl_s: float) -> bool:
        """Extend this store's lease; False (and no longer the holder) once it expired locally or was taken."""
        started = time.monotonic()
        with self._lock:
            token = self._token  # set whenever a holder is (see _hold)
            if self._holder != holder_id or token is None or started >= self._lease_deadline:
                if self._holder == holder_id:
                    self._holder = None  # expired locally: the member may already have handed it on
                return False
        # Check the owner, extend, check again. Never replace_if_same: a real member clears the TTL on replace.
        # The first check keeps a store whose lease was taken from extending the new holder's lease.
        mine = _lease_value(holder_id, token)
        current = self._call(lambda: self._leases.get(LEASE_KEY), "lease read")
        if current is None:  # the cluster lost its data (a restart) and the resync has not put it back yet
            current = self._retake(holder_id, token, ttl_s)
        still_mine = (
            current == mine
            and self._call(lambda: self._leases.set_ttl(LEASE_KEY, _member_ttl(ttl_s)), "lease ttl")
            and self._call(lambda: self._leases.get(LEASE_KEY), "lease renew") == mine
        )
        with self._lock:
            if not still_mine:
                if self._holder == holder_id:
                    self._holder = None
                return False
            if self._holder == holder_id:
                self._lease_deadline = started + ttl_s
                self._lease_ttl_s = ttl_s
        return True

    def release_lease(self, holder_id: str) -> None:
        with self._lock:
            token = self._token if self._holder == holder_id else None
        if token is not None:
            self._call(lambda: self._leases.remove_if_same(LEASE_KEY, _lease_value(holder_id, token)), "lease release")
        with self._lock:
            if self._holder == holder_id:
                self._holder, self._token = None, None

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

    def _hold(self, holder_id: str, token: int, ttl_s: float, started: float) -> None:
        with self._lock:
            self._holder = holder_id
            self._token = token
            self._lease_ttl_s = ttl_s
            self._lease_deadline = started + ttl_s

    def _next_token(self) -> int:
        """Bump the namespace's fence counter (compare-and-set); every acquisition gets a new, higher token."""
        while True:
            current = self._call(lambda: self._leases.get(FENCE_KEY), "fence read")
            if current is None:
                # No counter: a new namespace, or a cluster that lost its data. Start above any token handed
                # out before (milliseconds since the epoch), so an old holder's token never comes back.
                token = time.time_ns() // 1_000_000
                created = partial(self._leases.put_if_absent, FENCE_KEY, encode_value({"token": token}))
                if self._call(created, "fence create") is None:
                    return token
                continue
            token = decode_value(current)["token"] + 1
            if self._call(
                partial(self._leases.replace_if_same, FENCE_KEY, current, encode_value({"token": token})), "fence bump"
            ):
                return token

    def _restore_fence(self, token: int) -> None:
        """After the cluster lost its data: put the counter back to at least our token."""
        while True:
            current = self._call(
                lambda: self._leases.put_if_absent(FENCE_KEY, encode_value({"token": token})), "fence restore"
            )
            if current is None or decode_value(current)["token"] >= token:
                return
            if self._call(
                partial(self._leases.replace_if_same, FENCE_KEY, current, encode_value({"token": token})),
                "fence restore",
            ):
                return

    def _fence_check(self) -> bool:
        """Does the member's lease record still carry our holder id and token? False fences this store off.

        An absent record while our own deadline runs means the cluster lost its data (a restart): we put it
        back under our token, unless another node was faster. Raises StateUnavailable when the member cannot
        answer: then nothing is known and nothing is sent.
        """
        holder, token = self._holder, self._token
        if holder is None or token is None:
            return False  # holding nothing: nothing to send (callers check first, so nothing to report either)
        mine = _lease_value(holder, token)
        current = self._call(lambda: self._leases.get(LEASE_KEY), "fence check")
        if current is None and time.monotonic() < self._lease_deadline:
            current = self._retake(holder, token, self._lease_ttl_s)
        if current == mine:
            return True
        self._fenced(current)
        return False

    def _retake(self, holder: str, token: int, ttl_s: float) -> str | None:
        """Put our lease record back after the cluster lost it; returns the record now on the member."""
        mine = _lease_value(holder, token)
        started = time.monotonic()
        existing = self._call(
            lambda: self._leases.put_if_absent(LEASE_KEY, mine, ttl=_member_ttl(ttl_s)), "lease retake"
        )
        if existing is not None:
            return existing
        self._restore_fence(token)
        self._hold(holder, token, ttl_s, started)
        return mine

    def _fenced(self, current: str | None) -> None:
        """Stop writing: the member's lease record is not ours (another holder, or none) any more.

        Writes of a fenced-off holder must never land later, so the undelivered ones are dropped: the new
        holder owns the state now, and the facts themselves are in the journal. Said loudly, with the keys.
        """
        with self._lock:
            lost, self._holder = self._holder, None
            dropped, self._pending = self._pending, {}
        log.error(
            "namespace %s: lease of %r (token %s) is now %s; this store stops writing and drops %d "
            "undelivered write(s): %s",
            self.namespace,
            lost,
            self._token,
            current,
            len(dropped),
            sorted(dropped),
        )

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
                _wait(future, deadline - time.monotonic())
            except (HazelcastError, TimeoutError) as exc:
                log.warning("state write %s not delivered yet (%s); will retry", key, type(exc).__name__)
                continue
            if self._pending.get(key, object()) == text:
                del self._pending[key]

    def _on_lifecycle(self, state: str) -> None:
        # Runs on the client's reactor thread: only set flags, never call the client here.
        if state == LifecycleState.CONNECTED:
            self._connected.set()
            self._resync_needed.set()
        elif state in (LifecycleState.DISCONNECTED, LifecycleState.SHUTTING_DOWN):
            self._connected.clear()

    def _is_connected(self) -> bool:
        return self._connected.is_set()

    def _resync_loop(self) -> None:
        while not self._closed.is_set():
            reconnected = self._resync_needed.wait(self.config.retry_interval_s)
            if self._closed.is_set():
                return
            self._resync_needed.clear()
            try:
                if reconnected:
                    self._resync()
                with self._lock:
                    self._deliver_pending()
            except Exception:  # keep the worker alive; the next round retries
                log.exception("live-state resync for %s failed; retrying", self.namespace)
                self._resync_needed.set()
                time.sleep(self.config.retry_interval_s)

    def _resync(self) -> None:
        """After a (re)connection: retake our lease, then re-put everything we hold."""
        with self._lock:
            holder, token, ttl = self._holder, self._token, self._lease_ttl_s
        self._register_maps()
        if holder is None or token is None or time.monotonic() >= self._lease_deadline:
            return
        existing = self._retake(holder, token, ttl)
        if existing != _lease_value(holder, token):
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
        """Announce our maps to the (possibly restarted) cluster again.

        The Python client creates a map's proxy on the cluster only on its first `get_map`, and, unlike the
        Java client, never again after reconnecting to a restarted cluster. The maps keep working without
        it, but the cluster's object list (what `dolphin-ctl mode-verify` and Management Center read) would
        no longer show them. The client has no public call for this, hence its invocation service.
        """
        for name in (self.state_map_name, self.lease_map_name):
            request = client_create_proxy_codec.encode_request(name, MAP_SERVICE)
            invocation = Invocation(request)
            self._client._invocation_service.invoke(invocation)  # noqa: SLF001 - no public call (see above)
            self._call(lambda invocation=invocation: invocation.future, f"register map {name}")

    def _call(self, make_future, what: str):
        if self._closed.is_set():
            raise StateUnavailable(f"{what}: store is closed")
        try:
            return _wait(make_future(), self.config.op_timeout_s + 0.5)
        except TimeoutError as exc:
            raise StateUnavailable(f"{what}: no answer within {self.config.op_timeout_s}s") from exc
        except HazelcastError as exc:
            raise StateUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc


def _wait(future, timeout_s: float):
    """Wait for a hazelcast Future (or a plain value) for at most `timeout_s`."""
    if not hasattr(future, "add_done_callback"):
        return future
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(max(timeout_s, 0.0)):
        raise TimeoutError
    return future.result()
