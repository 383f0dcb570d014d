"""Store-service fixtures: a minimal node config whose stores live in a fresh folder per test."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest

from dolphin_nautilus.config import ClickHouseSection, Config, JournalSection, NodeSection, StrategySection


def node_config(namespace: str, *, chdb_path: str = "clickhouse", batch_size: int = 5000) -> Config:
    return Config(
        node=NodeSection(environment="backtest", namespace=namespace),
        strategy=StrategySection(instruments=["BTC-USDT-PERP.BINGX"]),
        clickhouse=ClickHouseSection(path=chdb_path),
        journal=JournalSection(batch_size=batch_size),
    )


@pytest.fixture
def config() -> Config:
    return node_config(f"s{uuid.uuid4().hex[:10]}")


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "stores"


def with_namespace(config: Config, namespace: str) -> Config:
    return msgspec.structs.replace(config, node=msgspec.structs.replace(config.node, namespace=namespace))
