"""The wire-level member against the real hazelcast-python-client, one behaviour per test."""

from __future__ import annotations

import threading
import time

import hazelcast
import pytest
from hazelcast.errors import HazelcastError, IllegalStateError, UnsupportedOperationError
from hazelcast.lifecycle import LifecycleState

from dolphin_nautilus.testing.hazelcast_member import HazelcastMember


def connect(member, **settings):
    options = dict(
        cluster_members=[member.address],
        cluster_name=member.cluster_name,
        cluster_connect_timeout=5,
        invocation_timeout=3,
        retry_initial_backoff=0.05,
        retry_max_backoff=0.2,
    )
    options.update(settings)
    return hazelcast.HazelcastClient(**options)


@pytest.fixture(params=[True, False], ids=["smart", "unisocket"])
def client(request, hazelcast_member):
    client = connect(hazelcast_member, smart_routing=request.param)
    yield client
    client.shutdown()


@pytest.fixture
def imap(client):
    return client.get_map("trades").blocking()


def test_client_sees_the_member_and_owns_every_partition(client, hazelcast_member):
    members = client.cluster_service.get_members()
    assert [str(m.uuid) for m in members] == [str(hazelcast_member.member_uuid)]
    version = members[0].version
    assert (version.major, version.minor, version.patch) == (5, 5, 0)
    owner = client.partition_service.get_partition_owner(0)
    assert owner is not None and str(owner) == str(hazelcast_member.member_uuid)


def test_put_get_set_remove_delete(imap):
    assert imap.put("a", "1") is None
    assert imap.put("a", "2") == "1"
    assert imap.get("a") == "2"
    imap.set("b", "3")
    assert imap.get("b") == "3"
    assert imap.remove("a") == "2"
    assert imap.remove("a") is None
    imap.delete("b")
    assert imap.get("b") is None


def test_put_if_absent_and_compare_and_set(imap):
    assert imap.put_if_absent("k", "v1") is None
    assert imap.put_if_absent("k", "v2") == "v1"
    assert not imap.replace_if_same("k", "wrong", "v3")
    assert imap.replace_if_same("k", "v1", "v3")
    assert imap.replace("k", "v4") == "v3"
    assert imap.replace("missing", "x") is None and not imap.contains_key("missing")
    assert not imap.remove_if_same("k", "v3")
    assert imap.remove_if_same("k", "v4")
    assert not imap.contains_key("k")


def test_bulk_reads_size_and_clear(imap):
    imap.put_all({"a": "1", "b": "2", "c": "3"})
    assert sorted(imap.key_set()) == ["a", "b", "c"]
    assert sorted(imap.values()) == ["1", "2", "3"]
    assert sorted(imap.entry_set()) == [("a", "1"), ("b", "2"), ("c", "3")]
    assert imap.get_all(["a", "c", "zz"]) == {"a": "1", "c": "3"}
    assert imap.size() == 3 and not imap.is_empty()
    assert imap.contains_key("b")
    imap.clear()
    assert imap.size() == 0 and imap.is_empty()


def test_ttl_expires_entries_in_real_time(imap):
    imap.put("put-ttl", "x", ttl=0.3)
    assert imap.put_if_absent("pia-ttl", "y", ttl=0.3) is None
    imap.set("set-ttl", "z", ttl=0.3)
    imap.put("forever", "w")
    assert imap.size() == 4
    time.sleep(0.45)
    assert imap.get("put-ttl") is None
    assert imap.put_if_absent("pia-ttl", "again") is None  # expired, so absent again
    assert sorted(imap.key_set()) == ["forever", "pia-ttl"]


def test_set_ttl_rearms_expiry(imap):
    imap.put("k", "v", ttl=0.3)
    imap.set_ttl("k", 30)
    time.sleep(0.4)
    assert imap.get("k") == "v"
    imap.set_ttl("k", 0.1)
    time.sleep(0.2)
    assert not imap.contains_key("k")


def test_unimplemented_operation_fails_fast_with_a_clear_error(imap, hazelcast_member):
    started = time.monotonic()
    with pytest.raises(UnsupportedOperationError, match="0x011000"):
        imap.lock("k")  # no locks in this member
    with pytest.raises(UnsupportedOperationError, match="does not implement"):
        imap.contains_value("v")
    assert time.monotonic() - started < 2  # an error reply, not an invocation timeout
    assert 0x011000 in hazelcast_member.received_types


def test_topic_publish_reaches_listeners_across_clients(client, hazelcast_member):
    other = connect(hazelcast_member)
    try:
        received = []
        arrived = threading.Event()

        def on_message(message):
            received.append(message.message)
            arrived.set()

        registration = other.get_topic("events").blocking().add_listener(on_message)
        client.get_topic("events").blocking().publish("hello")
        assert arrived.wait(3)
        assert received == ["hello"]
        assert other.get_topic("events").blocking().remove_listener(registration)
    finally:
        other.shutdown()


def test_heartbeat_pings_keep_an_idle_connection_alive(hazelcast_member):
    client = connect(hazelcast_member, heartbeat_interval=0.2, heartbeat_timeout=0.8)
    try:
        events = []
        client.lifecycle_service.add_listener(events.append)
        time.sleep(1.2)  # idle longer than heartbeat_timeout
        assert LifecycleState.DISCONNECTED not in events
        assert 0x000B00 in hazelcast_member.received_types
        assert client.get_map("m").blocking().put("k", "v") is None
    finally:
        client.shutdown()


def test_wrong_cluster_name_is_refused(hazelcast_member):
    with pytest.raises(IllegalStateError, match="Unable to connect"):
        connect(hazelcast_member, cluster_name="someone-else", cluster_connect_timeout=0.5)


def test_restart_loses_data_and_the_client_reconnects_by_itself(client, hazelcast_member):
    imap = client.get_map("trades").blocking()
    imap.put("k", "before")
    old_cluster = hazelcast_member.cluster_id
    reconnected = threading.Event()
    client.lifecycle_service.add_listener(lambda s: s == LifecycleState.CONNECTED and reconnected.set())
    hazelcast_member.restart()
    assert hazelcast_member.cluster_id != old_cluster
    assert reconnected.wait(5)
    assert imap.get("k") is None  # a member restart without persistence starts empty
    imap.put("k", "after")
    assert imap.get("k") == "after"


def test_restart_keep_data_keeps_entries(client, hazelcast_member):
    imap = client.get_map("trades").blocking()
    imap.put("k", "kept")
    hazelcast_member.restart(keep_data=True)
    assert imap.get("k") == "kept"


def test_stopped_member_makes_calls_fail_not_hang(hazelcast_member):
    client = connect(hazelcast_member, invocation_timeout=0.5)
    try:
        imap = client.get_map("m").blocking()
        hazelcast_member.stop()
        started = time.monotonic()
        with pytest.raises(HazelcastError):
            imap.get("k")
        assert time.monotonic() - started < 3
    finally:
        client.shutdown()


def test_member_runs_as_a_process_for_ops(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dolphin_nautilus.testing.hazelcast_member", "--port", str(port), "--cluster-name", "ops"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"127.0.0.1:{port}" in proc.stdout.readline()
        client = connect(HazelcastMember(port=port, cluster_name="ops"))
        assert client.get_map("m").blocking().put("k", "v") is None
        client.shutdown()
    finally:
        proc.terminate()
        proc.wait(5)
