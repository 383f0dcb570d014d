"""Parsers: every raw source shape becomes candidates or rejections, never an exception."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from dolphin_nautilus.domain.facts import PositionState, canonical_json
from dolphin_nautilus.restore import (
    normalize_instrument,
    parse_capital_ledger,
    parse_legacy_rows,
    parse_live_entries,
    parse_position_state_rows,
)
from dolphin_nautilus.restore.values import to_ts_ns

from .conftest import ATOM, BTC

FACT = PositionState(
    ts=1_700_000_000_000_000_000,
    origin="kernel",
    trade_id="t9",
    instrument_id=BTC,
    side="LONG",
    status="OPEN",
    quantity=Decimal("0.010"),
    notional=Decimal("650.0"),
    entry_price=Decimal("65000"),
    bars_held=4,
    realized_pnl=Decimal("-0.5"),
    fees=Decimal("0.2"),
    legs=1,
    seq=3,
    opened_ts=1_699_999_000_000_000_000,
    order_seq=5,
)


def fact_dict(**overrides):
    import msgspec

    return {**msgspec.to_builtins(FACT), **overrides}


def test_our_position_state_row_parses_every_field():
    [c] = parse_position_state_rows([fact_dict(namespace="blue", row_id=1)]).candidates
    assert (
        c.trade_id,
        c.instrument_id,
        c.side,
        c.status,
        c.quantity,
        c.notional,
        c.entry_price,
        c.bars_held,
        c.realized_pnl,
        c.fees,
        c.legs,
        c.seq,
        c.ts,
        c.opened_ts,
        c.order_seq,
        c.defects,
    ) == (
        "t9",
        BTC,
        "LONG",
        "OPEN",
        Decimal("0.010"),
        Decimal("650.0"),
        Decimal("65000"),
        4,
        Decimal("-0.5"),
        Decimal("0.2"),
        1,
        3,
        FACT.ts,
        FACT.opened_ts,
        5,
        (),
    )


def test_missing_or_garbage_fields_become_defects_not_exceptions():
    [c] = parse_position_state_rows([fact_dict(quantity="abc", seq=None, legs=1.5)]).candidates
    assert c.quantity.is_nan() and c.seq is None  # no seq: the record is ordered by its ts
    assert set(c.defects) == {"quantity not a number: 'abc'", "legs not an int64 integer: 1.5"}


@pytest.mark.parametrize("row", [None, 5, "text", ["t1"], {"status": "OPEN"}, {"trade_id": ""}])
def test_unattributable_rows_are_rejections(row):
    batch = parse_position_state_rows([row])
    assert batch.candidates == () and len(batch.rejections) == 1


def test_non_iterable_rows_are_a_warning():
    batch = parse_position_state_rows(42)
    assert batch.candidates == () and "stopped" in batch.warnings[0]


def test_legacy_row_maps_asset_and_derives_entry_price():
    [c] = parse_legacy_rows(
        [
            {
                "trade_id": "1a3d2f9c",
                "asset": "ATOMUSDT",
                "status": "open",
                "side": "short",
                "quantity": 40.0,
                "notional": 320.0,
                "bars_held": 33,
                "updated_at": dt.datetime(2026, 6, 11, 9, 20),
            }
        ]
    ).candidates
    assert (c.instrument_id, c.status, c.side, c.entry_price, c.seq, c.legs, c.order_seq, c.defects) == (
        ATOM,
        "OPEN",
        "SHORT",
        Decimal(8),
        None,
        0,
        0,
        (),
    )
    assert c.ts == int(dt.datetime(2026, 6, 11, 9, 20, tzinfo=dt.UTC).timestamp()) * 10**9


@pytest.mark.parametrize(
    ("asset", "instrument"),
    [
        ("ATOMUSDT", ATOM),
        ("atom-usdt", ATOM),
        (ATOM, ATOM),
        ("1000PEPEUSDT", "1000PEPE-USDT-PERP.BINGX"),
        ("XYZ", "XYZ"),
        (None, ""),
    ],
)
def test_instrument_normalisation(asset, instrument):
    assert normalize_instrument(asset) == instrument


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        (1_781_172_000, 1_781_172_000 * 10**9),
        (1_781_172_000_123, 1_781_172_000_123 * 10**6),
        (1_781_172_000_123_456, 1_781_172_000_123_456 * 10**3),
        (1_781_172_000_123_456_789, 1_781_172_000_123_456_789),
        ("2026-06-11T10:00:00Z", 1_781_172_000 * 10**9),
        ("2026-06-11 10:00:00", 1_781_172_000 * 10**9),
        ("1781172000", 1_781_172_000 * 10**9),
        ("never", None),
        (-5, None),
        (float("nan"), None),
        (None, None),
    ],
)
def test_timestamps_normalise_to_ns(value, ns):
    assert to_ts_ns(value) == ns


def test_legacy_side_missing_is_a_defect():
    [c] = parse_legacy_rows(
        [{"trade_id": "x", "asset": "BTCUSDT", "status": "OPEN", "quantity": 1, "notional": 2, "bars_held": 0, "ts": 5}]
    ).candidates
    assert c.defects == ("side missing",)


def test_live_entries_accept_dicts_json_text_and_bytes_and_reject_malformed():
    good = fact_dict()
    entries = {
        "t9": canonical_json(good).encode(),
        "t8": json.dumps(fact_dict(trade_id="t8")),
        "t7": fact_dict(trade_id="t7"),
        "t6": '{"trade_id": "t6", "quantity": ',
        "t5": "[1, 2]",
        "t4": 17,
        "t3": json.dumps({k: v for k, v in fact_dict().items() if k != "trade_id"}),
        "account": {"currency": "USDT", "total": "1000", "free": "900", "locked": "100", "ts": 3},
    }
    batch = parse_live_entries(entries)
    assert sorted(c.trade_id for c in batch.candidates) == ["t3", "t7", "t8", "t9"]
    [t3] = [c for c in batch.candidates if c.trade_id == "t3"]  # key supplies the missing trade id
    assert t3.defects == ()
    assert sorted((r.trade_id, r.reason.split(":")[0]) for r in batch.rejections) == [
        ("t4", "value is a int, not JSON"),
        ("t5", "value is a JSON list, not an object"),
        ("t6", "malformed JSON"),
    ]
    assert (batch.capital.total, batch.capital.free, batch.capital.locked) == (
        Decimal(1000),
        Decimal(900),
        Decimal(100),
    )


def test_live_entry_key_disagreeing_with_trade_id_is_a_defect():
    [c] = parse_live_entries({"t1": fact_dict(trade_id="t2")}).candidates
    assert c.defects == ("map key 't1' differs from trade_id 't2'",)


def test_live_entries_unreadable_is_a_warning():
    assert "unreadable" in parse_live_entries(3).warnings[0]
    batch = parse_live_entries([("t1",), ("t9", fact_dict())])
    assert len(batch.candidates) == 1 and len(batch.rejections) == 1


# ------------------------------------------------------------------------------------- capital ledger


def test_dict_ledger():
    capital = parse_capital_ledger({"total": "1234.5", "currency": "USDT", "ts": 9}).capital
    assert capital.total == Decimal("1234.5") and capital.entries_seen == 1


def test_list_ledger_takes_the_latest_entry_by_ts_and_warns_on_bad_entries():
    batch = parse_capital_ledger(
        [
            {"capital": 1, "ts": 20},
            "junk",
            {"capital": "NaN", "ts": 99},
            {"balance": 3, "ts": 30},
            {"equity": 2, "ts": 10},
        ]
    )
    assert batch.capital.total == Decimal(3) and batch.capital.entries_seen == 5
    assert len(batch.warnings) == 2


def test_list_ledger_without_ts_uses_list_order():
    assert parse_capital_ledger([{"capital": 1}, {"capital": 2}]).capital.total == Decimal(2)


def test_nested_entries_ledger():
    assert parse_capital_ledger({"entries": [{"capital": 1, "ts": 2}, {"capital": 5, "ts": 1}]}).capital.total == 1


@pytest.mark.parametrize("ledger", [None, 3, "not json {", b"\xff\xfe", "[]", [], {"nothing": 1}, '"text"'])
def test_malformed_ledger_is_a_warning_never_an_exception(ledger):
    batch = parse_capital_ledger(ledger)
    assert batch.capital is None and batch.warnings
