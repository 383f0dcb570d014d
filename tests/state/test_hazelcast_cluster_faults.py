"""The state store on a real three-member cluster (backup count 1) under faults; nothing may be lost.

`hazelcast_cluster` is started once per session; a test that kills members leaves them down and the next
test that asks for the cluster starts them again (a JVM start each, so the faults are few and deliberate).
"""

from __future__ import annotations

import time

import pytest

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.restore.candidates import SourceBatch, parse_position_state_rows
from dolphin_nautilus.restore.live_entries import parse_live_entries
from dolphin_nautilus.restore.reading import LIVE_SOURCE
from dolphin_nautilus.restore.venue_rules import decide_with_dust
from dolphin_nautilus.state import StateUnavailable
from dolphin_nautilus.state.hazelcast_store import HazelcastStateStore
from tests.state.conftest import hazelcast_config

BTC, ETH = "BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"
SPECS = {BTC: BINGX_SPECS[BTC], ETH: BINGX_SPECS[ETH]}
# Kills and restarts of a three-member cluster with 1-2 s operation timeouts: in a parallel run these tests stay on
# one worker (one trio of JVMs, not one per worker) and run while no other test runs.
pytestmark = [pytest.mark.xdist_group("hazelcast_trio"), pytest.mark.solo]


def slot(trade_id: str, instrument_id: str, seq: int) -> dict:
    return {
        "trade_id": trade_id,
        "instrument_id": instrument_id,
        "side": "LONG",
        "status": "OPEN",
        "quantity": "0.01",
        "notional": "600",
        "entry_price": "60000",
        "bars_held": 4,
        "realized_pnl": "0",
        "fees": "0.1",
        "legs": 0,
        "seq": seq,
        "ts": 1_000 + seq,
        "opened_ts": 500,
        "order_seq": 2,
    }


@pytest.fixture
def open_store(hazelcast_cluster):
    opened = []

    def open_one(cluster, namespace: str = "blue", **overrides) -> HazelcastStateStore:
        opened.append(HazelcastStateStore(hazelcast_config(cluster, **overrides), namespace))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


def cluster_view(cluster, name: str) -> dict:
    """The map as a fresh client sees it (not through the store under test)."""
    client = cluster.client()
    try:
        return dict(client.get_map(name).blocking().entry_set())
    finally:
        client.shutdown()


def test_one_member_of_three_killed_while_writing_loses_nothing(hazelcast_cluster, open_store):
    store = open_store(hazelcast_cluster)
    assert store.acquire_lease("node-a", ttl_s=30)
    for i in range(60):
        store.put(f"t{i:03d}", {"n": i})
    assert store.flush(timeout_s=10) and store.pending() == {}
    hazelcast_cluster.kill_member(1)  # SIGKILL: its primaries survive only as backups on the others
    for i in range(60, 120):
        store.put(f"t{i:03d}", {"n": i})  # some hit partitions being promoted: pending, retried
    assert store.flush(timeout_s=60), f"undelivered after the fail-over: {sorted(store.pending())}"
    expected = {f"t{i:03d}": f'{{"n":{i}}}' for i in range(120)}
    assert cluster_view(hazelcast_cluster, "DOLPHIN_STATE_BLUE") == expected
    hazelcast_cluster.wait_members(2)
    assert store.lease_holder() == "node-a"


def test_two_namespaces_on_one_cluster_never_touch_each_others_maps(hazelcast_cluster, open_store):
    blue, pink = open_store(hazelcast_cluster, "blue"), open_store(hazelcast_cluster, "pink")
    assert blue.acquire_lease("node-blue", ttl_s=30) and pink.acquire_lease("node-pink", ttl_s=30)
    blue.write_many({"t1": {"ns": "blue"}, "shared-id": {"ns": "blue"}})
    pink.write_many({"t9": {"ns": "pink"}, "shared-id": {"ns": "pink"}})
    blue.remove("t1")
    assert hazelcast_cluster.map_names() == {
        "DOLPHIN_STATE_BLUE",
        "DOLPHIN_LEASE_BLUE",
        "DOLPHIN_STATE_PINK",
        "DOLPHIN_LEASE_PINK",
    }
    assert cluster_view(hazelcast_cluster, "DOLPHIN_STATE_BLUE") == {"shared-id": '{"ns":"blue"}'}
    assert cluster_view(hazelcast_cluster, "DOLPHIN_STATE_PINK") == {
        "t9": '{"ns":"pink"}',
        "shared-id": '{"ns":"pink"}',
    }
    assert blue.lease_holder() == "node-blue" and pink.lease_holder() == "node-pink"
    assert pink.entries() == {"t9": {"ns": "pink"}, "shared-id": {"ns": "pink"}}


def test_all_members_killed_while_writing_pending_writes_return_in_order_and_one_writer(hazelcast_cluster, open_store):
    store = open_store(hazelcast_cluster, op_timeout_s=1.0)
    assert store.acquire_lease("node-a", ttl_s=60)
    token = store.fencing_token
    store.write_many({"t1": {"v": 1}, "t2": {"v": 2}})
    hazelcast_cluster.kill_all()  # the whole cluster crashes: every entry, the lease and the fence are gone
    started = time.monotonic()
    store.put("t3", {"v": 3})
    store.remove("t1")
    store.put("t2", {"v": 22})
    store.put("t1", {"v": 11})  # removed, then written again: the last write wins
    assert time.monotonic() - started < 4 * (store.config.op_timeout_s + 1)  # the writer never blocks long
    assert store.pending() == {"t3": '{"v":3}', "t1": '{"v":11}', "t2": '{"v":22}'}
    with pytest.raises(StateUnavailable):
        store.get("t3")
    hazelcast_cluster.start()
    assert store.flush(timeout_s=60)
    expected = {"t1": '{"v":11}', "t2": '{"v":22}', "t3": '{"v":3}'}
    deadline = time.monotonic() + 30
    while cluster_view(hazelcast_cluster, "DOLPHIN_STATE_BLUE") != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cluster_view(hazelcast_cluster, "DOLPHIN_STATE_BLUE") == expected
    # The lease was re-taken under the same token; the fence counter is back; a second node is refused.
    assert store.lease_holder() == "node-a" and store.fencing_token == token
    assert cluster_view(hazelcast_cluster, "DOLPHIN_LEASE_BLUE")["fence"] == f'{{"token":{token}}}'
    other = open_store(hazelcast_cluster)
    assert not other.acquire_lease("node-b", ttl_s=60)
    store.put("t4", {"v": 4})
    assert cluster_view(hazelcast_cluster, "DOLPHIN_STATE_BLUE")["t4"] == '{"v":4}'


def test_restart_against_an_emptied_cluster_restores_from_clickhouse(hazelcast_member, open_store):
    """The cluster lost everything while no node was running (one member suffices: a restart empties any
    cluster without persistence): the restarted node's store reads an empty live state, not an error, the
    lease is free, and restore takes the open trades from ClickHouse's rows."""
    first = open_store(hazelcast_member)
    assert first.acquire_lease("node-a", ttl_s=30)
    first.write_many({"t1": slot("t1", BTC, 3), "t2": slot("t2", ETH, 5)})
    first.close()
    hazelcast_member.restart()
    again = open_store(hazelcast_member)
    assert again.entries() == {} and again.lease_holder() is None
    assert again.acquire_lease("node-a", ttl_s=30)
    clickhouse_rows = [slot("t1", BTC, 3), slot("t2", ETH, 5)]
    batches = [parse_live_entries(again.entries(), LIVE_SOURCE), parse_position_state_rows(clickhouse_rows)]
    decision = decide_with_dust(batches, SPECS, 250, 10**18)
    assert sorted((s.trade_id, s.source) for s in decision.slots) == [("t1", "clickhouse"), ("t2", "clickhouse")]
    assert hazelcast_member.map_entries("DOLPHIN_STATE_BLUE") == {}  # nothing was resurrected into the cluster


def test_an_unreachable_cluster_is_reported_as_unreachable_not_as_empty(hazelcast_cluster, open_store):
    hazelcast_cluster.stop()  # last in this file: the cluster is started again only if a later test asks
    with pytest.raises(StateUnavailable, match="no Hazelcast member reachable") as failure:
        open_store(hazelcast_cluster, connect_timeout_s=1.0)
    live = SourceBatch(name=LIVE_SOURCE, unreachable=f"{failure.type.__name__}: {failure.value}")
    decision = decide_with_dust([live, parse_position_state_rows([slot("t1", BTC, 3)])], SPECS, 250, 10**18)
    assert [(s.trade_id, s.source) for s in decision.slots] == [("t1", "clickhouse")]
