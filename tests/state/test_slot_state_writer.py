"""SlotStateWriter: PositionState/CapitalUpdate facts -> live-state entries, on both stores."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dolphin_nautilus.domain.facts import CapitalUpdate, FillFact, PositionState
from dolphin_nautilus.state import ACCOUNT_KEY, HEARTBEAT_KEY, NotLeaseHolder, SlotStateWriter


def snapshot(trade_id="T1", status="OPEN", quantity="0.5", notional="50", seq=1, **overrides) -> PositionState:
    fields = dict(
        ts=1_700_000_000_000_000_000 + seq,
        origin="strategy",
        trade_id=trade_id,
        instrument_id="BTC-USDT-PERP.BINGX",
        side="LONG",
        status=status,
        quantity=Decimal(quantity),
        notional=Decimal(notional),
        entry_price=Decimal("100.00"),
        bars_held=3,
        realized_pnl=Decimal("0"),
        fees=Decimal("0.02"),
        legs=0,
        seq=seq,
        opened_ts=1_700_000_000_000_000_000,
        order_seq=2,
    )
    fields.update(overrides)
    return PositionState(**fields)


def capital(total="1000", seq=0) -> CapitalUpdate:
    return CapitalUpdate(
        ts=1_700_000_000_000_000_000 + seq,
        origin="kernel",
        currency="USDT",
        total=Decimal(total),
        free=Decimal(total),
        locked=Decimal("0"),
        delta=Decimal("1.5"),
        reason="fill",
    )


@pytest.fixture
def store(make_store):
    store = make_store()
    assert store.acquire_lease("node-a", ttl_s=30)
    return store


@pytest.fixture
def writer(store):
    return SlotStateWriter(store)


def slots(store) -> dict:
    return {k: v for k, v in store.entries().items() if k not in (ACCOUNT_KEY, HEARTBEAT_KEY)}


def test_open_snapshot_becomes_an_entry_with_decimals_as_strings(writer, store):
    writer.write_batch([snapshot(quantity="0.50")])
    entry = store.get("T1")
    assert entry["status"] == "OPEN"
    assert entry["quantity"] == "0.50" and entry["notional"] == "50" and entry["entry_price"] == "100.00"
    assert entry["seq"] == 1 and entry["order_seq"] == 2 and entry["bars_held"] == 3
    assert store.get(HEARTBEAT_KEY) is None  # the heartbeat is the lease keeper's alone


def test_closed_and_tombstoned_remove_the_slot(writer, store):
    writer.write_batch([snapshot("T1"), snapshot("T2")])
    writer.write_batch([snapshot("T1", status="CLOSED", quantity="0", notional="0", seq=2)])
    assert set(slots(store)) == {"T2"}
    writer.write_batch([snapshot("T2", status="TOMBSTONED", seq=2)])
    assert slots(store) == {}


def test_zero_size_open_is_never_written(writer, store):
    writer.write_batch([snapshot("T1"), snapshot("T1", quantity="0", notional="0", seq=2)])
    assert store.get("T1") is None
    writer.write_batch([snapshot("T2", quantity="0", notional="0")])
    writer.write_batch([snapshot("T3", quantity="1", notional="0")])
    assert slots(store) == {}


def test_latest_seq_wins_and_older_snapshots_are_skipped(writer, store):
    writer.write_batch([snapshot(quantity="1", seq=5)])
    writer.write_batch([snapshot(quantity="9", seq=4)])  # late, older
    assert store.get("T1")["quantity"] == "1"
    writer.write_batch([snapshot(status="CLOSED", quantity="0", notional="0", seq=6), snapshot(seq=3)])
    assert store.get("T1") is None


def test_capital_updates_write_the_account_entry(writer, store):
    writer.write_batch(
        [
            capital("1000", 1),
            capital("1001.5", 2),
            FillFact(
                ts=1,
                origin="kernel",
                venue_trade_id="v",
                client_order_id="c",
                venue_order_id="o",
                trade_id="T1",
                instrument_id="i",
                side="BUY",
                quantity=Decimal(1),
                price=Decimal(1),
                fee=Decimal(0),
                liquidity="TAKER",
            ),
        ]
    )
    account = store.get(ACCOUNT_KEY)
    assert account["total"] == "1001.5" and account["currency"] == "USDT"
    assert slots(store) == {}


def test_bad_batch_raises_and_writes_nothing(writer, store):
    writer.write_batch([snapshot("T1")])
    with pytest.raises(ValueError, match="unknown position status"):
        writer.write_batch([snapshot("T2"), snapshot("T1", status="GONE", seq=2)])
    with pytest.raises(ValueError, match="finite"):
        writer.write_batch([snapshot("T3", quantity="NaN")])
    with pytest.raises(ValueError, match="reserved"):
        writer.write_batch([snapshot(ACCOUNT_KEY)])
    assert set(slots(store)) == {"T1"}


def test_writer_without_the_lease_raises(make_store):
    store = make_store()
    writer = SlotStateWriter(store)
    with pytest.raises(NotLeaseHolder):
        writer.write_batch([snapshot()])
