"""A restored trade continues exactly: its ledger is rebuilt from its persisted fills when they fold to its
position_state snapshot; otherwise the snapshot is restored as before and the mismatch is recorded."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.domain.book import TradeBook
from dolphin_nautilus.domain.restored import RestoredFill, RestoredSlot
from dolphin_nautilus.restore.fills import LEDGER_MISMATCH, attach_fills, fills_from_rows

from .conftest import BTC

D = Decimal
FILLS = [
    RestoredFill(key="v1", kind="ENTRY", quantity=D("0.002"), price=D("60000.1"), fee=D("0.06000010"), ts=100),
    RestoredFill(key="v2", kind="ENTRY", quantity=D("0.001"), price=D("60003.4"), fee=D("0.03000170"), ts=160),
    RestoredFill(
        key="v3",
        kind="EXIT",
        quantity=D("0.001"),
        price=D("60100.0"),
        fee=D("0.03005000"),
        ts=220,
        realized_pnl=D("0.0988"),
        reason="RETRACT",
        client_order_id="d-t1-x3",
    ),
]
ENTRY_PX = (D("0.002") * D("60000.1") + D("0.001") * D("60003.4")) / D("0.003")


def snapshot(**changes) -> RestoredSlot:
    base = RestoredSlot(
        trade_id="t1",
        instrument_id=BTC,
        side="LONG",
        quantity=D("0.002"),
        entry_price=ENTRY_PX.quantize(D("1e-18")),  # the journal's Decimal(38,18)
        bars_held=7,
        realized_pnl=D("0.0988"),
        fees=D("0.12005180"),
        legs=1,
        opened_ts=100,
        order_seq=3,
        seq=9,
        source="clickhouse",
    )
    return msgspec.structs.replace(base, **changes)


def new_book() -> TradeBook:
    return TradeBook({BTC: BINGX_SPECS[BTC]}, namespace="t", client_order_prefix="dt")


def reader_of(by_trade):
    return lambda ids: {t: f for t, f in by_trade.items() if t in ids}


def test_fills_that_fold_to_the_snapshot_are_attached_and_the_book_continues_exactly():
    [slot], anomalies = attach_fills([snapshot()], reader_of({"t1": FILLS}), namespace="t", now_ns=1)
    assert anomalies == [] and slot.fills == FILLS and slot.entry_quantity == D("0.003")
    book = new_book()
    assert book.restore_slot(slot, ts=300).outcome.code == "OK"
    [live] = book.open_slots()
    assert (live.quantity, live.entry_quantity, live.entry_price) == (D("0.002"), D("0.003"), ENTRY_PX)
    assert (live.fees, live.realized_pnl, live.leg_count) == (D("0.12005180"), D("0.0988"), 1)
    [leg] = live.legs  # the leg itself, not a lump: price, fee, reason and venue trade id as filled
    assert (leg.leg_no, leg.price, leg.fee, leg.reason, leg.venue_trade_id) == (
        1,
        D("60100.0"),
        D("0.03005"),
        "RETRACT",
        "v3",
    )
    assert live.ledger.has("v3")  # the same fill seen again after the restart is recognised


def test_missing_fills_restore_the_snapshot_and_record_the_mismatch():
    [slot], [anomaly] = attach_fills([snapshot()], reader_of({}), namespace="t", now_ns=1)
    assert slot == snapshot() and anomaly.code == LEDGER_MISMATCH and "no persisted fills" in anomaly.message
    book = new_book()
    book.restore_slot(slot, ts=300)
    [live] = book.open_slots()
    assert (live.quantity, live.fees, live.realized_pnl, live.leg_count) == (
        D("0.002"),
        D("0.12005180"),
        D("0.0988"),
        1,
    )


def test_fills_that_disagree_with_the_snapshot_name_the_fields():
    [slot], [anomaly] = attach_fills(
        [snapshot(fees=D("0.2"), quantity=D("0.003"))], reader_of({"t1": FILLS}), namespace="t", now_ns=1
    )
    assert slot.fills == [] and anomaly.trade_id == "t1"
    assert "fees: snapshot 0.2" in anomaly.message and "quantity: snapshot 0.003, fills 0.002" in anomaly.message
    # The book refuses a hand-built slot whose fills disagree and restores the snapshot's totals instead.
    book = new_book()
    book.restore_slot(snapshot(fees=D("0.2"), fills=FILLS), ts=300)
    [live] = book.open_slots()
    assert live.fees == D("0.2")


def test_unreadable_fills_keep_every_slot_and_a_venue_slot_is_not_looked_up():
    def broken(ids):
        raise ConnectionError("store down")

    venue = snapshot(trade_id="x1", source="venue")
    slots, anomalies = attach_fills([snapshot(), venue], broken, namespace="t", now_ns=1)
    assert slots == [snapshot(), venue] and [a.trade_id for a in anomalies] == ["t1"]
    assert "unreadable: ConnectionError: store down" in anomalies[0].message


def test_hostile_fills_are_a_mismatch_never_an_error():
    bad = [msgspec.structs.replace(FILLS[0], quantity=D("NaN")), *FILLS[1:]]
    overexit = [FILLS[0], msgspec.structs.replace(FILLS[2], quantity=D("5"))]
    for fills in (bad, overexit, [msgspec.structs.replace(FILLS[0], kind="SIDEWAYS")]):
        [slot], [anomaly] = attach_fills([snapshot()], reader_of({"t1": fills}), namespace="t", now_ns=1)
        assert slot.fills == [] and anomaly.code == LEDGER_MISMATCH


def test_rows_join_exit_legs_by_venue_trade_id_and_lose_the_decimal_padding():
    fill_rows = [
        {
            "trade_id": "t1",
            "venue_trade_id": "v1",
            "client_order_id": "c1",
            "side": "BUY",
            "quantity": D("0.002000000000000000"),
            "price": D("60000.100000000000000000"),
            "fee": D("0.060000100000000000"),
            "ts_ns": 100,
        },
        {
            "trade_id": "t1",
            "venue_trade_id": "v3",
            "client_order_id": "c3",
            "side": "SELL",
            "quantity": D("0.001"),
            "price": D("60100"),
            "fee": D("0.03005"),
            "ts_ns": 220,
        },
    ]
    legs = [
        {
            "trade_id": "t1",
            "venue_trade_id": "v3",
            "leg_no": 1,
            "reason": "RETRACT",
            "quantity": D("0.001"),
            "realized_pnl": D("0.098800000000000000"),
        }
    ]
    entry, exit_ = fills_from_rows(fill_rows, legs)["t1"]
    assert (entry.kind, str(entry.quantity), str(entry.price), str(entry.fee)) == (
        "ENTRY",
        "0.002",
        "60000.1",
        "0.0600001",
    )
    assert (exit_.kind, exit_.reason, str(exit_.realized_pnl), str(exit_.price)) == (
        "EXIT",
        "RETRACT",
        "0.0988",
        "60100",
    )
