"""Stores under test: the same contract suite runs against LocalStateStore and HazelcastStateStore."""

from __future__ import annotations

import itertools

import pytest

from dolphin_nautilus.state import HazelcastStoreConfig, LocalStateStore
from dolphin_nautilus.state.hazelcast_store import HazelcastStateStore


def hazelcast_config(cluster, **overrides) -> HazelcastStoreConfig:
    """Store settings for a test cluster (`hazelcast_member` or `hazelcast_cluster`), with short timeouts."""
    settings = dict(
        cluster_members=cluster.addresses,
        cluster_name=cluster.cluster_name,
        connect_timeout_s=5.0,
        op_timeout_s=2.0,
        retry_initial_backoff_s=0.05,
        retry_max_backoff_s=0.2,
        retry_interval_s=0.2,
    )
    settings.update(overrides)
    return HazelcastStoreConfig(**settings)


@pytest.fixture(params=["local", "hazelcast"])
def make_store(request, tmp_path):
    """`make_store(namespace="blue")` opens another store on the same backend (a second node)."""
    opened = []
    if request.param == "hazelcast":  # the real member, started once per session and emptied per test
        member = request.getfixturevalue("hazelcast_member")

        def open_store(namespace="blue"):
            opened.append(HazelcastStateStore(hazelcast_config(member), namespace))
            return opened[-1]
    else:

        def open_store(namespace="blue"):
            opened.append(LocalStateStore(tmp_path / "state", namespace))
            return opened[-1]

    open_store.kind = request.param
    yield open_store
    for store in opened:
        store.close()


_holder_ids = itertools.count()


@pytest.fixture
def holder_id() -> str:
    return f"node-{next(_holder_ids)}"
