"""The node's stores from its TOML config: the one mapping `Config` -> `StoresSpec` (`stores.spec`).

The stores themselves are opened by `stores.open_stores` (the stores layer knows nothing of
the TOML config); this module maps the config's sections onto its plain structs and the secrets read at
start onto `StoreSecrets`. `open_node_stores(config, state_dir, secrets=...)` does both.
"""

from __future__ import annotations

from pathlib import Path

from dolphin_nautilus.config import Config, Secrets
from dolphin_nautilus.journal.settings import JournalConfig, StoreConfig
from dolphin_nautilus.state import HazelcastStoreConfig, LeaseHeld, LiveStateStore
from dolphin_nautilus.stores.spec import HazelcastStateSpec, LocalStateSpec, StoreSecrets, StoresSpec
from dolphin_nautilus.stores.wiring import Stores as OpenStores  # the opened stores (a class), not this module's call
from dolphin_nautilus.stores.wiring import StoresMode, default_node_id, open_stores

__all__ = [
    "LeaseHeld",
    "clickhouse_config",
    "journal_config",
    "node_id_for",
    "open_live_state",
    "open_node_stores",
    "store_secrets",
    "stores_spec",
]


def node_id_for(config: Config) -> str:
    return default_node_id(config.node.trader_id)


def clickhouse_config(config: Config, state_dir: Path) -> StoreConfig:
    ch = config.clickhouse
    if ch.backend == "chdb":
        return StoreConfig(namespace=config.node.namespace, backend="chdb", chdb_path=str(state_dir / ch.path))
    return StoreConfig(
        namespace=config.node.namespace,
        backend="http",
        host=ch.host,
        port=ch.port,
        username=ch.username,
        secure=ch.secure,
    )


def journal_config(config: Config, state_dir: Path) -> JournalConfig:
    journal = config.journal
    return JournalConfig(
        spool_dir=str(state_dir / journal.spool_dir),
        batch_size=journal.batch_size,
        flush_interval=journal.flush_interval_s,
    )


def stores_spec(config: Config, state_dir: Path) -> StoresSpec:
    state_dir = Path(state_dir).resolve()  # the store service may resolve relative paths elsewhere
    hz = config.hazelcast
    if hz.backend == "local":
        live_state: LocalStateSpec | HazelcastStateSpec = LocalStateSpec(path=str(state_dir / hz.path))
    else:
        live_state = HazelcastStateSpec(
            config=HazelcastStoreConfig(cluster_members=list(hz.members), cluster_name=hz.cluster_name),
            username=hz.username,
        )
    return StoresSpec(
        namespace=config.node.namespace,
        state_dir=str(state_dir),
        clickhouse=clickhouse_config(config, state_dir),
        journal=journal_config(config, state_dir),
        live_state=live_state,
        lease_ttl_s=hz.lease_ttl_s,
    )


NO_SECRETS = Secrets()


def store_secrets(secrets: Secrets) -> StoreSecrets:
    return StoreSecrets(clickhouse_password=secrets.clickhouse_password, hazelcast_password=secrets.hazelcast_password)


def open_live_state(config: Config, state_dir: Path, secrets: Secrets = NO_SECRETS) -> LiveStateStore:
    """The namespace's live-state store for a read-only look (no lease taken): dolphin-ctl."""
    # Heavy (the ClickHouse and Hazelcast clients): a trading node never opens its stores in this process.
    from dolphin_nautilus.stores.owner import open_live_state as open_spec_live_state

    return open_spec_live_state(stores_spec(config, state_dir), store_secrets(secrets))


def open_node_stores(
    config: Config,
    state_dir: Path,
    *,
    secrets: Secrets = NO_SECRETS,
    node_id: str | None = None,
    mode: StoresMode = "process",
) -> OpenStores:
    """Open the node's stores. `secrets`: what the caller read once at start (none: no store passwords; the
    environment is never read here)."""
    stores = open_stores(
        stores_spec(config, state_dir),
        store_secrets(secrets),
        node_id=node_id or node_id_for(config),
        mode=mode,
    )
    # restore.cleanup (dolphin-ctl history-clean) still reads the instruments and limits off the stores.
    stores.config = config  # type: ignore[attr-defined]
    return stores
