"""The trade log's line for each kind of fact: what an operator greps for (trade id, instrument, side, quantity,
price, PnL, and the fault code an order event stands for)."""

from __future__ import annotations

from decimal import Decimal

from dolphin_nautilus.actors.trade_log import trade_line
from dolphin_nautilus.domain.facts import Anomaly, OrderEvent, TradeClosed

BTC = "BTC-USDT-PERP.BINGX"


def order(event: str, *, reduce_only: bool, reason: str = "") -> OrderEvent:
    return OrderEvent(
        ts=1,
        origin="strategy",
        client_order_id="dblue-abc-x2",
        venue_order_id="",
        trade_id="abc",
        instrument_id=BTC,
        side="SELL",
        type="MARKET",
        quantity=Decimal("0.01"),
        price=Decimal("60000"),
        reduce_only=reduce_only,
        event=event,
        reason=reason,
    )


def test_order_events_carry_the_code_they_stand_for():
    cases = [
        (order("REJECTED", reduce_only=True, reason="101400"), "EXIT_ORDER_REJECTED"),
        (order("REJECTED", reduce_only=False), "ORDER_REJECTED"),
        (order("RATE_LIMITED", reduce_only=False), "RATE_LIMITED"),
        (order("UNKNOWN", reduce_only=True), "UNKNOWN_ORDER_OUTCOME"),
        (order("ACCEPTED", reduce_only=True), None),
    ]
    for fact, code in cases:
        line = trade_line(fact)
        assert line is not None
        event, message, fields, found = line
        assert (event, found) == ("order", code)
        assert fields["trade_id"] == "abc" and fields["instrument_id"] == BTC and fields["quantity"] == "0.01"
        assert fact.event in message


def test_a_closed_trade_line_has_its_pnl_and_anomalies_are_left_to_the_fault_log():
    closed = TradeClosed(
        ts=2,
        origin="strategy",
        trade_id="abc",
        instrument_id=BTC,
        side="LONG",
        entry_avg_px=Decimal("60000"),
        exit_avg_px=Decimal("60100"),
        quantity=Decimal("0.01"),
        realized_pnl=Decimal("1.0"),
        fees=Decimal("0.6"),
        net_pnl=Decimal("0.4"),
        bars_held=3,
        legs=1,
        exit_reason="SIGNAL",
        opened_ts=1,
    )
    line = trade_line(closed)
    assert line is not None
    event, _message, fields, code = line
    assert event == "trade_closed" and code is None
    assert (fields["pnl"], fields["net_pnl"], fields["side"], fields["price"]) == ("1.0", "0.4", "LONG", "60100")
    anomaly = Anomaly(
        ts=3, origin="strategy", code="X", severity="ERROR", trade_id="", instrument_id=BTC, message="", details="{}"
    )
    assert trade_line(anomaly) is None
