"""One secrets path: read once at start, passed explicitly, never shown; the Hazelcast credentials reach the client."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from dolphin_nautilus.config import (
    ClickHouseSection,
    Config,
    HazelcastSection,
    NodeSection,
    Secrets,
    StrategySection,
)
from dolphin_nautilus.node.stores import store_secrets, stores_spec
from dolphin_nautilus.state import StateUnavailable
from dolphin_nautilus.stores.owner import open_live_state
from dolphin_nautilus.stores.spec import HazelcastStateSpec
from dolphin_nautilus.stores.wire import ServiceSpec
from tests.state.conftest import hazelcast_config


def cluster_config(member, username: str = "") -> Config:
    return Config(
        node=NodeSection(environment="vst", namespace="cred"),
        strategy=StrategySection(instruments=["BTC-USDT-PERP.BINGX"]),
        clickhouse=ClickHouseSection(),
        hazelcast=HazelcastSection(
            backend="cluster", members=[member.address], cluster_name=member.cluster_name, username=username
        ),
    )


def test_the_hazelcast_credentials_from_the_environment_reach_the_member(hazelcast_member, tmp_path):
    """They reach the member: a Community Edition member (no security configured) refuses a client that
    presents credentials, while the same member takes the same store without them (next test). So on a
    Community cluster DOLPHIN_HAZELCAST_PASSWORD stays unset; on an Enterprise cluster with security the member
    checks them."""
    secrets = Secrets.from_env({"DOLPHIN_HAZELCAST_PASSWORD": "hz-secret", "DOLPHIN_CLICKHOUSE_PASSWORD": "ch-secret"})
    spec = stores_spec(cluster_config(hazelcast_member, username="dolphin"), tmp_path)
    assert isinstance(spec.live_state, HazelcastStateSpec) and spec.live_state.username == "dolphin"
    spec = msgspec.structs.replace(
        spec, live_state=HazelcastStateSpec(config=hazelcast_config(hazelcast_member), username="dolphin")
    )
    with pytest.raises(StateUnavailable) as refused:
        open_live_state(spec, store_secrets(secrets)).close()
    assert "hz-secret" not in str(refused.value)


def test_no_credentials_means_none_are_sent(hazelcast_member, tmp_path):
    spec = stores_spec(cluster_config(hazelcast_member), tmp_path)
    spec = msgspec.structs.replace(spec, live_state=HazelcastStateSpec(config=hazelcast_config(hazelcast_member)))
    store = open_live_state(spec, store_secrets(Secrets.from_env({})))
    try:
        client_config = store._client._config  # noqa: SLF001
        assert (client_config.creds_username, client_config.creds_password) == (None, None)
    finally:
        store.close()


def test_secrets_never_show_in_a_repr_of_what_crosses_to_the_store_service(tmp_path):
    config = Config(
        node=NodeSection(environment="backtest", namespace="cred"),
        strategy=StrategySection(instruments=["BTC-USDT-PERP.BINGX"]),
    )
    secrets = store_secrets(
        Secrets.from_env({"DOLPHIN_HAZELCAST_PASSWORD": "hz-secret", "DOLPHIN_CLICKHOUSE_PASSWORD": "ch-secret"})
    )
    spec = ServiceSpec(stores=stores_spec(config, Path(tmp_path)), secrets=secrets, node_id="n")
    for text in (repr(secrets), repr(spec)):
        assert "hz-secret" not in text and "ch-secret" not in text
    assert "clickhouse_password" in repr(secrets) and "hazelcast_password" in repr(secrets)
