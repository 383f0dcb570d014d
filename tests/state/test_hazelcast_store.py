"""HazelcastStateStore against real Hazelcast 5.7 members: map names, fencing, member restarts, outages.

`hazelcast_member` is one member (started once per session, emptied per test); restarting it costs a JVM
start, so only the tests about restarts do it.
"""

from __future__ import annotations

import threading
import time

import pytest
from hazelcast.lifecycle import LifecycleState

from dolphin_nautilus.state import LeaseLost, NotLeaseHolder, StateUnavailable
from dolphin_nautilus.state.hazelcast_store import HazelcastStateStore
from tests.state.conftest import hazelcast_config
from tests.support.hazelcast_cluster import free_ports


@pytest.fixture
def store(hazelcast_member):
    store = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    assert store.acquire_lease("node-a", ttl_s=30)
    yield store
    store.close()


def wait_for_entries(store, expected: dict, within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if store.entries() == expected:
                return
        except StateUnavailable:
            pass
        time.sleep(0.05)
    assert store.entries() == expected


def test_maps_are_named_after_the_namespace_upper_case(store, hazelcast_member):
    store.put("t1", {"q": "1"})
    assert hazelcast_member.map_names() == {"DOLPHIN_STATE_BLUE", "DOLPHIN_LEASE_BLUE"}
    assert hazelcast_member.map_entries("DOLPHIN_STATE_BLUE") == {"t1": '{"q":"1"}'}
    lease = hazelcast_member.map_entries("DOLPHIN_LEASE_BLUE")
    token = store.fencing_token
    assert lease == {"writer": f'{{"holder":"node-a","token":{token}}}', "fence": f'{{"token":{token}}}'}


def test_the_lease_entry_expires_on_the_member_and_never_loses_its_ttl(store, hazelcast_member):
    client = hazelcast_member.client()
    try:
        leases = client.get_map("DOLPHIN_LEASE_BLUE").blocking()
        assert 0 < leases.get_entry_view("writer").ttl <= 31_000
        assert store.renew_lease("node-a", ttl_s=30)
        # A real member clears an entry's TTL on replace/replace_if_same; renewal must not go through it.
        assert 0 < leases.get_entry_view("writer").ttl <= 31_000
        assert leases.get_entry_view("fence").ttl > 10**12  # the counter itself never expires
    finally:
        client.shutdown()


def test_second_store_of_the_namespace_cannot_write(store, hazelcast_member):
    second = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    try:
        assert not second.acquire_lease("node-b", ttl_s=30)
        with pytest.raises(NotLeaseHolder):
            second.put("t1", {"q": "from-b"})
        assert second.get("t1") is None
    finally:
        second.close()


def test_a_holder_whose_lease_record_vanished_is_fenced_and_drops_what_it_had_pending(hazelcast_member):
    """The lease map lost its data (cluster data loss, or an operator clearing it) while node-a, paused but
    well within its own deadline, still had a write to send; node-b takes the free lease. node-a must send
    nothing: its token is not the lease's any more."""
    old = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    new = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    try:
        assert old.acquire_lease("node-a", ttl_s=30)
        old.put("k", {"v": 1})
        # Recorded but not yet sent, as if its connection had just dropped: no public call stops a delivery midway.
        # The lock also holds node-a's retry loop back until node-b has the lease: were it to run first, node-a
        # would rightly put its own record back (its deadline still runs) and node-b would find the lease taken.
        with old._lock:  # noqa: SLF001 - fault injection into the store's pending writes
            old._pending["late"] = '{"v":"late"}'  # noqa: SLF001 - as above
            hazelcast_member.admin().get_map("DOLPHIN_LEASE_BLUE").blocking().clear()  # lease and fence counter
            assert new.acquire_lease("node-b", ttl_s=30)
        assert new.fencing_token > old.fencing_token  # the counter restarts above every earlier token
        assert old.flush(timeout_s=1)
        assert old.pending() == {}
        time.sleep(0.5)  # its background retry loop had time to send, had it not been fenced
        assert new.entries() == {"k": {"v": 1}}
        with pytest.raises(LeaseLost):
            old.put("k", {"v": 2})
        assert not old.renew_lease("node-a", ttl_s=30)
        new.put("k", {"v": 3})
        assert new.entries() == {"k": {"v": 3}}
    finally:
        old.close()
        new.close()


def test_writes_around_a_member_restart_are_not_lost(store, hazelcast_member):
    store.put("before", {"q": "1"})
    token = store.fencing_token
    hazelcast_member.restart()  # the member comes back empty: state, lease and fence counter are gone
    store.put("around", {"q": "2"})  # may hit the dead connection: kept pending, retried
    assert store.flush(timeout_s=20)
    wait_for_entries(store, {"before": {"q": "1"}, "around": {"q": "2"}})
    assert store.lease_holder() == "node-a"  # the lease was re-taken after the restart, same token
    assert store.fencing_token == token
    assert hazelcast_member.map_entries("DOLPHIN_LEASE_BLUE")["fence"] == f'{{"token":{token}}}'
    store.put("after", {"q": "3"})
    assert set(hazelcast_member.map_entries("DOLPHIN_STATE_BLUE")) == {"before", "around", "after"}
    # The store announced its maps to the restarted member again: they show in its object list.
    assert hazelcast_member.map_names() == {"DOLPHIN_STATE_BLUE", "DOLPHIN_LEASE_BLUE"}


def test_writes_while_the_member_is_down_are_delivered_in_order_when_it_returns(store, hazelcast_member):
    store.put("k1", {"v": 1})
    hazelcast_member.stop()
    started = time.monotonic()
    store.put("k2", {"v": 2})
    store.remove("k1")
    store.put("k3", {"v": 3})
    store.put("k2", {"v": 22})  # the last write of a key wins, as if applied in order
    assert time.monotonic() - started < 4 * (store.config.op_timeout_s + 1)  # bounded, never forever
    assert store.pending() == {"k2": '{"v":22}', "k1": None, "k3": '{"v":3}'}
    hazelcast_member.start()  # same port, empty
    assert store.flush(timeout_s=20)
    wait_for_entries(store, {"k2": {"v": 22}, "k3": {"v": 3}})
    assert store.lease_holder() == "node-a"


def test_reads_fail_with_state_unavailable_when_the_member_is_gone(hazelcast_member):
    store = HazelcastStateStore(hazelcast_config(hazelcast_member, op_timeout_s=0.5), "blue")
    assert store.acquire_lease("node-a", ttl_s=30)
    hazelcast_member.stop()
    started = time.monotonic()
    with pytest.raises(StateUnavailable):
        store.get("k")
    with pytest.raises(StateUnavailable):
        store.compare_and_set("k", None, {"v": 1})
    assert time.monotonic() - started < 2 * (store.config.op_timeout_s + 1)
    store.close()


def test_no_member_at_construction_fails_within_the_connect_timeout(hazelcast_member):
    (free_port,) = free_ports(1)
    config = hazelcast_config(hazelcast_member, cluster_members=[f"127.0.0.1:{free_port}"], connect_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(StateUnavailable, match="no Hazelcast member reachable"):
        HazelcastStateStore(config, "blue")
    assert time.monotonic() - started < 3


def test_wrong_cluster_name_is_refused_like_a_missing_member(hazelcast_member):
    """Community Edition has no client authentication: the cluster name is the only check."""
    config = hazelcast_config(hazelcast_member, cluster_name="someone-else", connect_timeout_s=1.0)
    with pytest.raises(StateUnavailable, match="no Hazelcast member reachable"):
        HazelcastStateStore(config, "blue")


class MissedWakeups(threading.Event):
    """An event whose every `set` the waiter misses, as when it lands between the wait's timeout and its clear."""

    def set(self) -> None:
        pass


def test_a_reconnection_is_resynced_even_when_the_worker_missed_its_wakeup(store, hazelcast_member):
    # CI once lost a resync: the CONNECTED event landed between the worker's wait timing out and its clear.
    store.put("slot", {"q": "1"})
    store._resync_needed = MissedWakeups()  # noqa: SLF001 - the race cannot be timed from outside
    hazelcast_member.admin().get_map("DOLPHIN_STATE_BLUE").blocking().clear()  # as a restarted member is
    store._on_lifecycle(LifecycleState.CONNECTED)  # noqa: SLF001 - what the client reports on reconnecting
    wait_for_entries(store, {"slot": {"q": "1"}}, within_s=5.0)


def test_new_holder_adopts_existing_state_and_keeps_it_across_restart(hazelcast_member):
    first = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    assert first.acquire_lease("node-a", ttl_s=1.0)
    first.put("slot", {"q": "1"})
    first.close()
    second = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    try:
        deadline = time.monotonic() + 10
        while not second.acquire_lease("node-b", ttl_s=30):
            assert time.monotonic() < deadline, "node-a's lease never expired"
            time.sleep(0.1)
        hazelcast_member.restart()
        second.put("other", {"q": "2"})
        assert second.flush(timeout_s=20)
        wait_for_entries(second, {"slot": {"q": "1"}, "other": {"q": "2"}})
    finally:
        second.close()
