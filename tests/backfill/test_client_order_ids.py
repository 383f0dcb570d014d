"""Client order ids across kills and restarts: a new life never mints an id of a previous one, even when the
slot it restored carries a stale order sequence (the snapshot written before the last orders of a killed life)."""

from __future__ import annotations

import re
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from dolphin_nautilus.contracts.restore import RestoredSlot
from dolphin_nautilus.domain.identifiers import (
    MAX_CLIENT_ORDER_ID_LEN,
    MAX_PREFIX_LEN,
    client_order_id_for,
    coid_token,
    parse_client_order_id,
    start_epoch,
    trade_id_for,
)
from tests.domain.support import BTC, SPECS, Venue, new_book

PREFIX = "dpink"
NS = 1_000_000_000


def restored(trade_id: str, order_seq: int) -> RestoredSlot:
    return RestoredSlot(
        trade_id=trade_id,
        instrument_id=BTC,
        side="LONG",
        quantity=D("1"),
        entry_price=D("50000"),
        bars_held=0,
        realized_pnl=D(0),
        fees=D(0),
        legs=0,
        opened_ts=1,
        order_seq=order_seq,
    )


@settings(max_examples=60, deadline=None)
@given(
    lives=st.lists(
        st.tuples(st.integers(1, 3600), st.integers(0, 6), st.integers(1, 5)),  # gap s, seq lost, exits
        min_size=2,
        max_size=40,
    ),
    first_start_s=st.integers(1_600_000_000, 2_500_000_000),
)
def test_ids_after_any_number_of_restarts_never_collide(lives, first_start_s):
    """One trade lives through many kills; each life restores a snapshot up to `lost` sequences stale."""
    trade_id = trade_id_for("pink", BTC, 1, 1)
    seen: dict[str, int] = {}
    last_seq, now_s = 0, first_start_s
    for life, (gap_s, lost, exits) in enumerate(lives):
        now_s += gap_s
        book = new_book(client_order_prefix=PREFIX, id_epoch=start_epoch(now_s * NS))
        assert book.restore_slot(restored(trade_id, max(last_seq - lost, 0)), ts=now_s).outcome.ok
        for i in range(exits):
            decision = book.retract(BTC, quantity=D("0.01"), price=D("50000"), ts=now_s * NS + i)
            assert decision.order is not None, decision.outcome
            coid = decision.order.client_order_id
            assert coid not in seen, f"life {life} reused {coid} of life {seen.get(coid)}"
            seen[coid] = life
            assert len(coid) <= MAX_CLIENT_ORDER_ID_LEN and re.fullmatch(r"[a-z0-9-]+", coid)
            parsed = parse_client_order_id(coid.upper(), PREFIX)  # the venue may echo it in any case
            assert parsed is not None and parsed.trade_id == trade_id and parsed.letter == "x"
            assert parsed.epoch == start_epoch(now_s * NS)
            book.on_order_canceled(coid, now_s * NS + i)  # the exit stops working: the next one may go
        last_seq = book.slot(BTC).order_seq


def test_new_trades_carry_the_epoch_and_read_back_their_trade_id():
    book = new_book(client_order_prefix=PREFIX, id_epoch=start_epoch(1_764_000_000 * NS))
    venue = Venue(book)
    coid = venue.open(BTC, "LONG", "0.01", "50000")
    parsed = parse_client_order_id(coid, PREFIX)
    assert parsed is not None and parsed.is_entry and parsed.seq == 1
    assert parsed.trade_id == book.slot(BTC).trade_id
    assert parse_client_order_id(coid, "dpin") is None and parse_client_order_id(coid, "dpinkx") is None


def test_longest_prefix_keeps_ids_within_bingx_rules():
    prefix = "d" + "z" * (MAX_PREFIX_LEN - 1)
    token = coid_token("legacy-trade-id-that-is-long")
    coid = client_order_id_for(prefix, token, "x", start_epoch(4_000_000_000 * NS), 36**4 - 1)
    assert len(coid) == MAX_CLIENT_ORDER_ID_LEN
    assert parse_client_order_id(coid, prefix) is not None


def test_ids_minted_before_the_epoch_still_parse_as_a_previous_life():
    parsed = parse_client_order_id("dpink-0123456789ab-x12", PREFIX)
    assert parsed is not None and parsed.epoch == -1 and parsed.trade_id == "0123456789ab" and parsed.seq == 12
    assert SPECS  # the support module's specs are the book's
