"""Restore test fixtures: a real chDB engine through clickhouse-connect, and a candidate factory."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import ProgrammingError

from dolphin_nautilus.restore import Candidate

ATOM = "ATOM-USDT-PERP.BINGX"
BTC = "BTC-USDT-PERP.BINGX"
ETH = "ETH-USDT-PERP.BINGX"
KNOWN = frozenset({ATOM, BTC, ETH})
MAX_BARS = 250


@pytest.fixture(scope="module")
def chdb_client(tmp_path_factory):
    """chDB runs one engine per process (a second path is refused while a client is open): open it for this
    module only and close it after, so later tests can open their own paths; reuse one already open."""
    path = tmp_path_factory.mktemp("restore_chdb")
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    except ProgrammingError as exc:
        opened = re.search(r"already initialized with path '([^']+)'", str(exc))
        if not opened:
            raise
        client = clickhouse_connect.get_client(dsn=f"chdb://{opened.group(1)}")
    yield client
    client.close()


@pytest.fixture
def legacy_db(chdb_client):
    """A fresh database per test, so tests sharing the engine never see each other's rows."""
    name = f"restore_legacy_{uuid.uuid4().hex[:12]}"
    chdb_client.command(f"CREATE DATABASE {name}")
    yield name
    chdb_client.command(f"DROP DATABASE IF EXISTS {name}")


def cand(**overrides) -> Candidate:
    """A valid OPEN candidate of our own schema; override any field."""
    fields = dict(
        source="clickhouse",
        trade_id="t1",
        instrument_id=BTC,
        side="LONG",
        status="OPEN",
        quantity=Decimal("0.01"),
        notional=Decimal("600"),
        entry_price=Decimal("60000"),
        bars_held=3,
        realized_pnl=Decimal("0"),
        fees=Decimal("0.3"),
        legs=0,
        seq=1,
        ts=1_000,
        opened_ts=500,
        order_seq=1,
        raw="{}",
    )
    fields.update(overrides)
    return Candidate(**fields)
