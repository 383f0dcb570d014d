"""The LiveStateStore contract, run against both implementations."""

from __future__ import annotations

import json
import time

import pytest

from dolphin_nautilus.domain.facts import canonical_json
from dolphin_nautilus.state import LeaseLost, LiveStateStore, NotLeaseHolder


@pytest.fixture
def store(make_store, holder_id):
    store = make_store()
    assert store.acquire_lease(holder_id, ttl_s=30)
    return store


def test_both_stores_satisfy_the_protocol(store):
    assert isinstance(store, LiveStateStore)


def test_put_get_entries_remove(store):
    assert store.get("t1") is None
    store.put("t1", {"qty": "1.5", "side": "LONG"})
    store.put("t2", {"qty": "2"})
    assert store.get("t1") == {"qty": "1.5", "side": "LONG"}
    assert store.entries() == {"t1": {"qty": "1.5", "side": "LONG"}, "t2": {"qty": "2"}}
    store.remove("t1")
    store.remove("never-there")
    assert store.entries() == {"t2": {"qty": "2"}}


def test_values_must_be_json_objects(store):
    with pytest.raises(TypeError, match="JSON objects"):
        store.put("t1", ["not", "a", "dict"])
    assert store.get("t1") is None


def test_compare_and_set_semantics(store):
    assert store.compare_and_set("k", None, {"v": 1})  # absent -> created
    assert not store.compare_and_set("k", None, {"v": 2})  # no longer absent
    assert not store.compare_and_set("k", {"v": 9}, {"v": 2})  # wrong expectation
    assert store.get("k") == {"v": 1}
    assert store.compare_and_set("k", {"v": 1}, {"v": 2})
    assert store.get("k") == {"v": 2}
    assert not store.compare_and_set("k", {"v": 1}, None)
    assert store.compare_and_set("k", {"v": 2}, None)  # expected -> removed
    assert store.get("k") is None
    assert store.compare_and_set("k", None, None)  # "absent stays absent" holds


def test_compare_and_set_compares_canonical_bytes_not_insertion_order(store):
    store.put("k", {"b": 2, "a": 1, "nested": {"y": 1, "x": 0}})
    assert store.compare_and_set("k", {"nested": {"x": 0, "y": 1}, "a": 1, "b": 2}, {"a": 3})
    assert store.get("k") == {"a": 3}
    # 1 and 1.0 are different JSON texts, so they are different values for CAS.
    assert not store.compare_and_set("k", {"a": 3.0}, {"a": 4})


def test_stored_text_is_canonical_json(store, make_store, request):
    value = {"z": "1.10", "a": {"c": 1, "b": 2}}
    store.put("k", value)
    if make_store.kind == "local":
        raw = json.loads(store.file.read_text())["entries"]["k"]
    else:  # read back by another client, as any other tool would see it
        member = request.getfixturevalue("hazelcast_member")
        raw = member.admin().get_map(store.state_map_name).blocking().get("k")
    assert raw == canonical_json(value) == '{"a":{"b":2,"c":1},"z":"1.10"}'


def test_writes_without_the_lease_are_refused(make_store, holder_id):
    store = make_store()
    with pytest.raises(NotLeaseHolder):
        store.put("k", {"v": 1})
    with pytest.raises(NotLeaseHolder):
        store.compare_and_set("k", None, {"v": 1})
    with pytest.raises(NotLeaseHolder):
        store.write_many({"k": {"v": 1}})
    assert store.get("k") is None


def test_lease_is_exclusive_and_a_second_node_cannot_write(make_store, holder_id):
    first, second = make_store(), make_store()
    assert first.acquire_lease("node-a", ttl_s=30)
    assert not second.acquire_lease("node-b", ttl_s=30)
    assert second.lease_holder() == first.lease_holder() == "node-a"
    with pytest.raises(NotLeaseHolder):
        second.put("k", {"from": "b"})
    first.put("k", {"from": "a"})
    assert second.get("k") == {"from": "a"}
    assert not second.renew_lease("node-b", ttl_s=30)


def wait_until_free(store, within_s: float = 10.0) -> float:
    """Seconds until the lease is free. A real member keeps TTLs in whole seconds, and the store asks it for
    more than its own TTL (so the holder stops first): the member frees the lease 1-2 s after the holder's TTL."""
    started = time.monotonic()
    while store.lease_holder() is not None:
        assert time.monotonic() - started < within_s, "the lease never expired"
        time.sleep(0.05)
    return time.monotonic() - started


def test_lease_takeover_after_expiry_and_old_holder_loses_writes(make_store):
    first, second = make_store(), make_store()
    assert first.acquire_lease("node-a", ttl_s=1.0)
    first.put("k", {"v": 1})
    time.sleep(1.05)  # the holder's own deadline has passed: it stops writing before the lease is free
    with pytest.raises(LeaseLost):
        first.put("k", {"v": "early"})
    wait_until_free(first)
    assert second.acquire_lease("node-b", ttl_s=30)
    assert second.lease_holder() == "node-b"
    with pytest.raises(NotLeaseHolder):
        first.put("k", {"v": "stale"})
    assert not first.renew_lease("node-a", ttl_s=30)
    second.put("k", {"v": 2})
    assert first.get("k") == {"v": 2}


def test_renew_keeps_the_lease_past_its_first_ttl(make_store):
    first, second = make_store(), make_store()
    assert first.acquire_lease("node-a", ttl_s=1.0)
    started = time.monotonic()
    while time.monotonic() - started < 3.0:  # past the member's TTL too (whole seconds, one more than ours)
        time.sleep(0.3)
        assert first.renew_lease("node-a", ttl_s=1.0)
        assert not second.acquire_lease("node-b", ttl_s=30)
    first.put("k", {"v": 1})
    assert second.get("k") == {"v": 1}


def test_a_non_holder_renewing_does_not_keep_a_dead_holders_lease_alive(make_store):
    first, second = make_store(), make_store()
    assert first.acquire_lease("node-a", ttl_s=1.0)
    first.close()  # node-a dies without releasing; node-b keeps trying to renew its own (absent) lease
    started = time.monotonic()
    while second.lease_holder() is not None:
        assert not second.renew_lease("node-b", ttl_s=30)
        assert time.monotonic() - started < 10, "node-b's renewals kept node-a's lease alive"
        time.sleep(0.2)
    assert second.acquire_lease("node-b", ttl_s=30)


def test_each_acquisition_gets_a_higher_fencing_token(make_store):
    first, second = make_store(), make_store()
    assert first.fencing_token is None
    assert first.acquire_lease("node-a", ttl_s=30)
    token_a = first.fencing_token
    first.release_lease("node-a")
    assert first.fencing_token is None
    assert second.acquire_lease("node-b", ttl_s=30)
    assert second.fencing_token > token_a
    second.release_lease("node-b")
    assert first.acquire_lease("node-a", ttl_s=30)
    assert first.fencing_token > token_a


def test_the_same_holder_joins_its_live_lease_under_the_same_token(make_store):
    """A node restarting with its id (or its store-service child) joins the unexpired lease: same token."""
    first, again = make_store(), make_store()
    assert first.acquire_lease("node-a", ttl_s=30)
    again_token_before = again.fencing_token
    assert again.acquire_lease("node-a", ttl_s=30)
    assert again_token_before is None and again.fencing_token == first.fencing_token
    again.put("k", {"v": 1})
    first.put("k2", {"v": 2})
    assert again.entries() == {"k": {"v": 1}, "k2": {"v": 2}}


def test_a_holder_fenced_off_by_a_newer_acquisition_cannot_write(make_store):
    """After expiry another node takes over under a higher token; the former holder, back from a pause and
    renewing as if nothing happened, is refused."""
    first, second = make_store(), make_store()
    assert first.acquire_lease("node-a", ttl_s=1.0)
    token_a = first.fencing_token
    wait_until_free(first)
    assert second.acquire_lease("node-b", ttl_s=30)
    assert second.fencing_token > token_a
    assert not first.renew_lease("node-a", ttl_s=30)
    with pytest.raises(NotLeaseHolder):
        first.put("k", {"v": "stale"})
    second.put("k", {"v": "new"})
    assert first.get("k") == {"v": "new"}


def test_namespaces_are_isolated(make_store):
    blue, pink = make_store("blue"), make_store("pink")
    assert blue.acquire_lease("node-a", ttl_s=30)
    assert pink.acquire_lease("node-b", ttl_s=30)
    blue.put("k", {"ns": "blue"})
    assert pink.get("k") is None
    assert pink.entries() == {}
