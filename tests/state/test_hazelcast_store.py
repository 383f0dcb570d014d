"""HazelcastStateStore against the test member: map names, restarts, outages, timeouts."""

from __future__ import annotations

import socket
import time

import hazelcast
import pytest

from dolphin_nautilus.state import HazelcastStateStore, NotLeaseHolder, StateUnavailable
from tests.state.conftest import hazelcast_config


@pytest.fixture
def store(hazelcast_member):
    store = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    assert store.acquire_lease("node-a", ttl_s=30)
    yield store
    store.close()


def member_map(member, name):
    """The member's view of a map, read with a separate real client."""
    client = hazelcast.HazelcastClient(cluster_members=[member.address], cluster_name=member.cluster_name)
    try:
        return dict(client.get_map(name).blocking().entry_set())
    finally:
        client.shutdown()


def test_maps_are_named_after_the_namespace_upper_case(store, hazelcast_member):
    store.put("t1", {"q": "1"})
    assert member_map(hazelcast_member, "DOLPHIN_STATE_BLUE") == {"t1": '{"q":"1"}'}
    assert member_map(hazelcast_member, "DOLPHIN_LEASE_BLUE") == {"writer": '{"holder":"node-a"}'}


def test_second_store_of_the_namespace_cannot_write(store, hazelcast_member):
    second = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    try:
        assert not second.acquire_lease("node-b", ttl_s=30)
        with pytest.raises(NotLeaseHolder):
            second.put("t1", {"q": "from-b"})
        assert second.get("t1") is None
    finally:
        second.close()


def test_writes_around_a_member_restart_are_not_lost(store, hazelcast_member):
    store.put("before", {"q": "1"})
    hazelcast_member.restart()  # the member comes back empty
    store.put("around", {"q": "2"})  # may hit the dead connection: kept pending, retried
    assert store.flush(timeout_s=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if store.entries() == {"before": {"q": "1"}, "around": {"q": "2"}}:
            break
        time.sleep(0.05)
    assert store.entries() == {"before": {"q": "1"}, "around": {"q": "2"}}
    assert store.lease_holder() == "node-a"  # the lease was re-taken after the restart
    store.put("after", {"q": "3"})
    assert set(member_map(hazelcast_member, "DOLPHIN_STATE_BLUE")) == {"before", "around", "after"}


def test_writes_while_the_member_is_down_are_delivered_when_it_returns(store, hazelcast_member):
    store.put("k1", {"v": 1})
    hazelcast_member.stop()
    started = time.monotonic()
    store.put("k2", {"v": 2})
    store.remove("k1")
    assert time.monotonic() - started < 2 * (store.config.op_timeout_s + 1)  # bounded, never forever
    assert store.pending() == {"k2": '{"v":2}', "k1": None}  # nothing can be delivered to a stopped member
    hazelcast_member.start()  # same port, empty
    assert store.flush(timeout_s=10)
    deadline = time.monotonic() + 10
    while store.entries() != {"k2": {"v": 2}} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.entries() == {"k2": {"v": 2}}


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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    config = hazelcast_config(hazelcast_member, cluster_members=[f"127.0.0.1:{free_port}"], connect_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(StateUnavailable, match="no Hazelcast member reachable"):
        HazelcastStateStore(config, "blue")
    assert time.monotonic() - started < 3


def test_new_holder_adopts_existing_state_and_keeps_it_across_restart(hazelcast_member):
    first = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    assert first.acquire_lease("node-a", ttl_s=0.3)
    first.put("slot", {"q": "1"})
    first.close()
    time.sleep(0.4)
    second = HazelcastStateStore(hazelcast_config(hazelcast_member), "blue")
    try:
        assert second.acquire_lease("node-b", ttl_s=30)
        hazelcast_member.restart()
        second.put("other", {"q": "2"})
        assert second.flush(timeout_s=10)
        deadline = time.monotonic() + 10
        while len(second.entries()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.entries() == {"slot": {"q": "1"}, "other": {"q": "2"}}
    finally:
        second.close()
