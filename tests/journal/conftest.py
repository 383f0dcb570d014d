"""Journal fixtures: every store test runs on embedded chDB, and also on a ClickHouse server when
DOLPHIN_TEST_CLICKHOUSE_URL names one (e.g. http://default:secret@127.0.0.1:8123)."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest

from dolphin_nautilus.journal.settings import StoreConfig
from dolphin_nautilus.journal.store import ClickHouseStore

SERVER_URL_ENV = "DOLPHIN_TEST_CLICKHOUSE_URL"
SERVER_PASSWORD_ENV = "DOLPHIN_TEST_CLICKHOUSE_PASSWORD"


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        backends = ["chdb"] + (["server"] if os.environ.get(SERVER_URL_ENV) else [])
        metafunc.parametrize("backend", backends)


@pytest.fixture(scope="session")
def shared_chdb_path(tmp_path_factory) -> str:
    # chDB runs one engine path per process, so the in-process tests share one path, one namespace each.
    return str(tmp_path_factory.mktemp("chdb"))


def server_config(namespace: str) -> StoreConfig:
    url = urlsplit(os.environ[SERVER_URL_ENV])
    if url.password:
        os.environ[SERVER_PASSWORD_ENV] = url.password  # read back by open_test_store (and by child processes)
    return StoreConfig(
        namespace=namespace,
        backend="http",
        host=url.hostname or "127.0.0.1",
        port=url.port or 8123,
        username=url.username or "default",
        secure=url.scheme == "https",
    )


def open_test_store(config: StoreConfig, **kwargs) -> ClickHouseStore:
    """The store opens with the password handed in, as the node does (the store never reads the environment)."""
    password = os.environ.get(SERVER_PASSWORD_ENV, "") if config.backend == "http" else ""
    return ClickHouseStore(config, password=password, **kwargs)


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store_config(backend, namespace, shared_chdb_path) -> StoreConfig:
    if backend == "server":
        return server_config(namespace)
    return StoreConfig(namespace=namespace, chdb_path=shared_chdb_path)


@pytest.fixture
def private_store_config(backend, namespace, tmp_path) -> StoreConfig:
    """A config whose chDB path no other process uses (for tests that run the store in a child process)."""
    if backend == "server":
        return server_config(namespace)
    return StoreConfig(namespace=namespace, chdb_path=str(tmp_path / "chdb"))


@pytest.fixture
def store(store_config):
    s = open_test_store(store_config)
    yield s
    if store_config.backend == "http":
        s.client.command(f"DROP DATABASE IF EXISTS `{s.database}`")
    s.close()
