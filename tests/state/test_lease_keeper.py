"""LeaseKeeper: the single renewer of the namespace lease and writer of the heartbeat, on both stores."""

from __future__ import annotations

import time

import pytest

from dolphin_nautilus.state import HEARTBEAT_KEY, LeaseHeld, LeaseKeeper


def test_the_keeper_holds_the_lease_while_no_facts_flow_and_heartbeats(make_store):
    store, rival = make_store(), make_store()
    keeper = LeaseKeeper(store, "node-a", ttl_s=0.6, clock_ns=lambda: 42)
    keeper.acquire()
    keeper.start()
    try:
        time.sleep(1.5)  # more than two TTLs without a single write
        assert not rival.acquire_lease("node-b", ttl_s=30)
        assert rival.lease_holder() == "node-a"
        assert store.get(HEARTBEAT_KEY) == {"node_id": "node-a", "ts": 42}
        status = keeper.status()
        assert status.held and status.renewals >= 3 and status.failures == 0 and status.last_error == ""
    finally:
        keeper.stop(release=True)
    assert rival.lease_holder() is None and rival.acquire_lease("node-b", ttl_s=30)
    assert not keeper.status().held


def test_a_second_node_fails_with_a_message_naming_the_holder(make_store):
    first = LeaseKeeper(make_store(), "node-a", ttl_s=30)
    first.acquire()
    try:
        with pytest.raises(LeaseHeld, match=r"namespace 'blue' is held by another node \(node-a\); it expires 30s"):
            LeaseKeeper(make_store(), "node-b", ttl_s=30).acquire()
    finally:
        first.stop(release=True)


def test_a_holder_takes_over_its_own_lease(make_store):
    """A restarted store owner (the store service after kill -9) retakes the lease under the same id."""
    LeaseKeeper(make_store(), "node-a", ttl_s=30).acquire()
    again = LeaseKeeper(make_store(), "node-a", ttl_s=30)
    again.acquire()
    assert again.status().held
    again.stop(release=True)


def test_a_lease_lost_to_another_node_is_reported_and_never_shared(make_store):
    store, rival = make_store(), make_store()
    keeper = LeaseKeeper(store, "node-a", ttl_s=1.0)
    keeper.acquire()
    # No renewer running: the lease expires. A real Hazelcast member keeps TTLs in whole seconds and is asked
    # for a little more than ours, so poll (bounded) for the moment the rival can take it.
    deadline = time.monotonic() + 10
    while not rival.acquire_lease("node-b", ttl_s=30):
        assert time.monotonic() < deadline, "the lapsed lease never became free"
        time.sleep(0.2)
    assert keeper.renew_once() is False
    status = keeper.status()
    assert not status.held and status.failures == 1 and "lost to node-b" in status.last_error
    assert rival.lease_holder() == "node-b"


def test_a_lapsed_lease_nobody_took_is_taken_back(make_store):
    store, rival = make_store(), make_store()
    keeper = LeaseKeeper(store, "node-a", ttl_s=1.0)
    keeper.acquire()
    time.sleep(1.2)  # past our own deadline; nobody else took it
    assert keeper.renew_once() is True and keeper.status().held
    assert not rival.acquire_lease("node-b", ttl_s=30)
