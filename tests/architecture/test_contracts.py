"""The contracts layer: its strings agree with what Nautilus derives, and its messages round-trip."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.data import BarType, DataType

from dolphin_nautilus.actors.signals import DolphinSignal
from dolphin_nautilus.contracts.restore import RestoredSlot, RestoreHandover, decode_handover, encode_handover
from dolphin_nautilus.contracts.topics import SIGNAL_TOPIC, bar_type_name
from dolphin_nautilus.contracts.venue import VenuePositionsVerdict, decode_venue_verdict, encode_venue_verdict


def test_signal_topic_is_the_topic_nautilus_gives_the_signal_type():
    assert "data." + DataType(DolphinSignal).topic == SIGNAL_TOPIC


def test_bar_type_name_parses_as_an_external_minute_bar():
    bar_type = BarType.from_str(bar_type_name("BTC-USDT-PERP.BINGX", 5))
    assert str(bar_type.instrument_id) == "BTC-USDT-PERP.BINGX" and bar_type.spec.step == 5
    assert bar_type.is_externally_aggregated()


def test_restore_handover_round_trips():
    slot = RestoredSlot(
        trade_id="t1",
        instrument_id="BTC-USDT-PERP.BINGX",
        side="LONG",
        quantity=Decimal("0.01"),
        entry_price=Decimal("60000.5"),
        bars_held=3,
        realized_pnl=Decimal(0),
        fees=Decimal("0.3"),
        legs=0,
        opened_ts=1,
        order_seq=2,
        seq=4,
    )
    handover = RestoreHandover(slots=[slot], safe_mode="venue positions unknown", flatten=["BTC-USDT-PERP.BINGX"])
    assert decode_handover(encode_handover(handover)) == handover


def test_venue_verdict_round_trips():
    verdict = VenuePositionsVerdict(ok=False, reason="TimeoutError: positions", ts=7)
    assert decode_venue_verdict(encode_venue_verdict(verdict)) == verdict
