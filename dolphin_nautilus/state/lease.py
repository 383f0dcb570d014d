"""The namespace's writer lease and the heartbeat, kept by the one process that writes the stores (docs/design.md §4).

`LeaseKeeper.acquire` takes the lease or raises `LeaseHeld` naming the holder. `start` runs the single
renewer: every `ttl_s / 6` it renews the lease and writes the heartbeat entry (holder id, wall-clock ns), so
the lease stays held whether or not facts flow, and nothing else in the node renews it. If a renewal finds
the lease gone (expired during a long stall), the keeper takes it back when nobody else holds it; when
another node does, it says so in `status()` and the writes that follow fail with `LeaseLost`: never two
writers. `status()` is what the trading process learns through the store service.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import msgspec

from dolphin_nautilus.state.store import LeaseHeld, LiveStateStore

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "heartbeat"


class LeaseStatus(msgspec.Struct, frozen=True, kw_only=True):
    holder_id: str  # the holder this keeper holds the lease for
    held: bool  # the last acquire or renewal succeeded
    renewals: int = 0
    failures: int = 0  # renewals that did not succeed (store unreachable, or the lease lost)
    last_renewed_ns: int = 0  # wall clock of the last successful acquire or renewal
    last_error: str = ""


class LeaseKeeper:
    def __init__(
        self, store: LiveStateStore, holder_id: str, ttl_s: float, *, clock_ns: Callable[[], int] = time.time_ns
    ) -> None:
        self.store = store
        self.holder_id = holder_id
        self.ttl_s = ttl_s
        self.interval_s = ttl_s / 6  # several renewals per TTL: one missed round never loses the lease
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._status = LeaseStatus(holder_id=holder_id, held=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lease (a holder's own unexpired lease is taken over) or raise LeaseHeld naming the holder."""
        if not self.store.acquire_lease(self.holder_id, self.ttl_s):
            holder = self.store.lease_holder()
            raise LeaseHeld(
                f"namespace '{self.store.namespace}' is held by another node ({holder}); "
                f"it expires {self.ttl_s:.0f}s after that node stops renewing it"
            )
        self._record(held=True, renewed=True)
        self._write_heartbeat()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.store.namespace}", daemon=True)
        self._thread.start()

    def renew_once(self) -> bool:
        """One round: renew (or take back a lapsed lease nobody else took), then heartbeat. True while held."""
        try:
            held = self.store.renew_lease(self.holder_id, self.ttl_s) or self.store.acquire_lease(
                self.holder_id, self.ttl_s
            )
            if not held:
                holder = self.store.lease_holder()
                self._record(held=False, error=f"lease of namespace '{self.store.namespace}' lost to {holder}")
                log.error("%s: this node stops writing live state", self._status.last_error)
                return False
            self._record(held=True, renewed=True)
            self._write_heartbeat()
            return True
        except Exception as exc:  # noqa: BLE001 - store unreachable: the next round retries before the TTL ends
            self._record(held=self._status.held, error=f"lease renewal failed: {type(exc).__name__}: {exc}")
            log.warning("%s", self._status.last_error)
            return False

    def status(self) -> LeaseStatus:
        with self._lock:
            return self._status

    def stop(self, *, release: bool) -> None:
        """Stop renewing; with `release`, give the lease back (the writes it guarded are over)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if release and self._status.held:
            try:
                self.store.release_lease(self.holder_id)
            except Exception as exc:  # noqa: BLE001 - it then expires after its TTL
                log.warning("lease of %s not released (%s); it expires in %.0fs", self.holder_id, exc, self.ttl_s)
            self._record(held=False)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.renew_once()

    def _write_heartbeat(self) -> None:
        self.store.put(HEARTBEAT_KEY, {"node_id": self.holder_id, "ts": self._clock_ns()})

    def _record(self, *, held: bool, renewed: bool = False, error: str | None = None) -> None:
        with self._lock:
            status = self._status
            changes: dict = {"held": held}
            if renewed:
                changes.update(renewals=status.renewals + 1, last_renewed_ns=self._clock_ns(), last_error="")
            if error is not None:
                changes.update(failures=status.failures + 1, last_error=error[:500])
            self._status = msgspec.structs.replace(status, **changes)
