"""The namespace lease and its fencing, for the Hazelcast live-state store (`hazelcast_store.py`).

Community Edition has no CP subsystem, so the lease is map-based: every acquisition first bumps the
namespace's fence counter (`fence`, compare-and-set) and then claims `writer` = {holder, token} with
`put_if_absent(..., ttl)`. Renewal checks the holder and calls `set_ttl` (never `replace_if_same`: a real
member drops an entry's TTL on replace). The store trusts a local monotonic deadline (taken *before* the
acquire/renew request was sent) that ends before the member's TTL, so it stops writing before the member
could hand the lease to another node.

`HazelcastLeaseMixin` is the lease half of `HazelcastStateStore`: it shares the store's lock, its holder and
token, its pending writes (dropped when fenced off) and its bounded member calls, declared below.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from dolphin_nautilus.state.store import MalformedValue, decode_value, encode_value

log = logging.getLogger("dolphin_nautilus.state.hazelcast_store")  # one logger for the store, both halves

LEASE_KEY = "writer"  # {"holder": id, "token": n}, with a TTL
FENCE_KEY = "fence"  # {"token": n}, no TTL: the namespace's fencing counter


def encoded_lease(holder_id: str, token: int) -> str:
    """The lease record as the member holds it (canonical JSON: compared as text)."""
    return encode_value({"holder": holder_id, "token": token})


def member_ttl_s(ttl_s: float) -> int:
    """The TTL sent to the member, in whole seconds, never shorter than ours.

    A real member truncates TTLs to whole seconds and its expiry can fall up to a second early (it keeps
    expiration times at second precision). Our local deadline stays at exactly `ttl_s`, so the local view
    always expires first and a holder stops writing before the member could hand its lease to another node.
    """
    return math.ceil(ttl_s) + 1


class HazelcastLeaseMixin:
    """Acquire, renew, release and check the namespace lease (see the module docstring)."""

    # Shared with HazelcastStateStore, which sets them up and owns the connection.
    namespace: str
    _lock: threading.RLock
    _holder: str | None
    _token: int | None
    _lease_ttl_s: float
    _lease_deadline: float
    _pending: dict[str, str | None]
    _leases: Any  # the lease map's proxy
    _call: Callable[..., Any]  # a bounded call to the member (StateUnavailable when it cannot answer)
    _load_mirror: Callable[[], None]  # a new holder adopts the member's current state

    @property
    def fencing_token(self) -> int | None:
        """The token of this store's current lease acquisition (None when it holds none)."""
        with self._lock:
            return self._token if self._holder is not None else None

    def acquire_lease(self, holder_id: str, ttl_s: float, *, take_over_own: bool = True) -> bool:
        """Take the namespace's lease under a new fencing token; False while another holder's lease is live.

        With `take_over_own`, a live lease of this very holder id is taken over: that is this node restarted
        after a crash (the holder id survives the process). The takeover bumps the token too, which fences off
        the previous life (e.g. its store-service child, paused or still closing). Without it (a keeper taking
        back a lapsed lease) a live lease of the same id is left alone: it belongs to a newer life.
        """
        started = time.monotonic()
        held = self._call(lambda: self._leases.get(LEASE_KEY), "lease read")
        if held is not None:
            if self._token is not None and held == encoded_lease(holder_id, self._token):
                return self._extend_own(held, holder_id, ttl_s, started)  # ours, lapsed only by our own clock
            return take_over_own and self._take_over_own(holder_id, held, ttl_s)
        token = self._next_token()
        mine = encoded_lease(holder_id, token)
        existing = self._call(
            lambda: self._leases.put_if_absent(LEASE_KEY, mine, ttl=member_ttl_s(ttl_s)), "lease acquire"
        )
        if existing is not None:
            return False  # another node (or another life of ours) was faster: theirs now
        self._hold(holder_id, token, ttl_s, started)
        self._load_mirror()
        return True

    def _extend_own(self, held: str, holder_id: str, ttl_s: float, started: float) -> bool:
        """Extend our own acquisition's record (same token), then check it is still that very record."""
        if not self._call(lambda: self._leases.set_ttl(LEASE_KEY, member_ttl_s(ttl_s)), "lease ttl"):
            return False
        if self._call(lambda: self._leases.get(LEASE_KEY), "lease extend") != held:
            return False
        self._hold(holder_id, decode_value(held)["token"], ttl_s, started)
        return True

    def _take_over_own(self, holder_id: str, held: str, ttl_s: float) -> bool:
        """Replace our previous life's record (compare-and-remove, then put-if-absent: never `replace`, which
        drops the TTL on a real member) and acquire afresh under a new token."""
        try:
            record = decode_value(held)
        except MalformedValue:
            return False
        if record.get("holder") != holder_id:
            return False
        if not self._call(lambda: self._leases.remove_if_same(LEASE_KEY, held), "lease takeover"):
            return False  # the record changed under us: whoever wrote it holds it now
        return self.acquire_lease(holder_id, ttl_s, take_over_own=False)

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
        mine = encoded_lease(holder_id, token)
        current = self._call(lambda: self._leases.get(LEASE_KEY), "lease read")
        if current is None:  # the cluster lost its data (a restart) and the resync has not put it back yet
            current = self._retake(holder_id, token, ttl_s)
        still_mine = (
            current == mine
            and self._call(lambda: self._leases.set_ttl(LEASE_KEY, member_ttl_s(ttl_s)), "lease ttl")
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
            self._call(lambda: self._leases.remove_if_same(LEASE_KEY, encoded_lease(holder_id, token)), "lease release")
        with self._lock:
            if self._holder == holder_id:
                self._holder, self._token = None, None

    # ------------------------------------------------------------ lease internals

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
        mine = encoded_lease(holder, token)
        current = self._call(lambda: self._leases.get(LEASE_KEY), "fence check")
        if current is None and time.monotonic() < self._lease_deadline:
            current = self._retake(holder, token, self._lease_ttl_s)
        if current == mine:
            return True
        self._fenced(current)
        return False

    def _retake(self, holder: str, token: int, ttl_s: float) -> str | None:
        """Put our lease record back after the cluster lost it; returns the record now on the member."""
        mine = encoded_lease(holder, token)
        started = time.monotonic()
        existing = self._call(
            lambda: self._leases.put_if_absent(LEASE_KEY, mine, ttl=member_ttl_s(ttl_s)), "lease retake"
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
