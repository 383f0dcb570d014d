"""Restart after a crash is immediate (issue 11 item 5), on the local store and a real Hazelcast member:
a node restarting with its identity takes over its previous life's lease under a new fencing token, that
previous life can neither write nor win the lease back, and another node is still refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dolphin_nautilus.state import LeaseHeld, LeaseKeeper, NotLeaseHolder
from dolphin_nautilus.stores.identity import IDENTITY_FILE, NodeAlreadyRunning, hold_node_lock, node_holder_id


def test_a_restarted_life_takes_over_and_its_previous_life_is_fenced_for_good(make_store):
    previous = LeaseKeeper(make_store(), "trader@host/abc", ttl_s=30)
    previous.acquire()  # the previous life, killed with its lease still live (its keeper is paused, not gone)
    old_token = previous.store.fencing_token
    restarted = LeaseKeeper(make_store(), "trader@host/abc", ttl_s=30)
    restarted.acquire()  # at once: no waiting for the TTL
    assert restarted.status().held and restarted.store.fencing_token > old_token
    # The previous life wakes up: its renewal fails and it does not take the lease back (no ping-pong).
    assert previous.renew_once() is False and not previous.status().held
    with pytest.raises(NotLeaseHolder):
        previous.store.put("slot", {"qty": "stale"})
    assert restarted.renew_once() is True
    restarted.store.put("slot", {"qty": "1"})
    assert restarted.store.get("slot") == {"qty": "1"}
    # Its release on close never removes the new life's lease.
    previous.stop(release=True)
    assert restarted.store.lease_holder() == "trader@host/abc" and restarted.renew_once() is True
    restarted.stop(release=True)


def test_another_node_of_the_namespace_is_still_refused(make_store):
    first = LeaseKeeper(make_store(), "trader@host-1/abc", ttl_s=30)
    first.acquire()
    try:
        with pytest.raises(LeaseHeld, match=r"held by another node \(trader@host-1/abc\)"):
            LeaseKeeper(make_store(), "trader@host-2/abc", ttl_s=30).acquire()
        with pytest.raises(LeaseHeld):
            LeaseKeeper(make_store(), "trader@host-1/def", ttl_s=30).acquire()  # another state folder
        assert first.renew_once() is True
    finally:
        first.stop(release=True)


def test_the_holder_id_survives_the_process_and_differs_by_state_folder(tmp_path):
    one, other = tmp_path / "var" / "blue", tmp_path / "elsewhere" / "blue"
    holder = node_holder_id("DOLPHIN-001", one)
    assert holder == node_holder_id("DOLPHIN-001", one)  # every life of the node gets the same id
    assert str(os.getpid()) not in holder.split("/")[-1]
    assert (one / IDENTITY_FILE).read_text().count(holder) == 1
    assert holder != node_holder_id("DOLPHIN-001", other) and holder != node_holder_id("DOLPHIN-002", one)
    holder = node_holder_id("DOLPHIN-001", one)
    code = (
        "from dolphin_nautilus.stores.identity import node_holder_id; "
        f"print(node_holder_id('DOLPHIN-001', {str(one)!r}))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == holder
    )


def test_the_state_folder_lock_excludes_a_second_process_and_dies_with_the_holder(tmp_path):
    code = (
        "import sys, time; from dolphin_nautilus.stores.identity import hold_node_lock; "
        f"hold_node_lock({str(tmp_path)!r}); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(NodeAlreadyRunning, match=f"pid {holder.pid}"):
            hold_node_lock(tmp_path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    started = time.monotonic()
    fd = hold_node_lock(tmp_path)  # the kernel dropped the killed holder's lock: no wait at all
    os.close(fd)
    assert time.monotonic() - started < 1
