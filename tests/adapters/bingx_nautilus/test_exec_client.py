"""BingX exec client in a real TradingNode against the emulator: event flow, error routing, reports."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide, OrderStatus, PositionSide
from nautilus_trader.model.events import OrderAccepted, OrderFilled, OrderRejected, OrderSubmitted
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.bingx_emulator import RateLimitConfig

from .conftest import BTC, node_config, run_node, wait_for


class Recorder(Strategy):
    """Submits what the test asks and records every order event in order."""

    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="Recorder-001", external_order_claims=[BTC.value]))
        self.events: list = []

    def on_order_event(self, event) -> None:
        self.events.append(event)

    def market(self, coid: str, side: OrderSide, qty: str, reduce_only: bool = False):
        order = self.order_factory.market(BTC, side, self.cache.instrument(BTC).make_qty(Decimal(qty)),
                                          reduce_only=reduce_only, client_order_id=ClientOrderId(coid))
        self.submit_order(order)
        return order

    def of(self, coid: str, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind) and e.client_order_id.value == coid]


def venue_orders(emulator, coid: str) -> list:
    """Every order the venue ever took with this client id (open or finished)."""
    return [o for o in emulator.state.orders.values() if o.client_order_id == coid]


def test_submit_accept_fill_then_reduce_only_exit(bingx_env):
    emulator = bingx_env()
    strategy = Recorder()

    async def scenario(node):
        strategy.market("t-entry-1", OrderSide.BUY, "0.010")
        await wait_for(lambda: strategy.of("t-entry-1", OrderFilled), what="entry fill")
        position = strategy.cache.positions_open(instrument_id=BTC)[0]
        assert position.side == PositionSide.LONG and position.quantity.as_decimal() == Decimal("0.010")
        strategy.market("t-exit-1", OrderSide.SELL, "0.010", reduce_only=True)
        await wait_for(lambda: strategy.of("t-exit-1", OrderFilled), what="exit fill")
        await wait_for(lambda: not strategy.cache.positions_open(instrument_id=BTC), what="flat")

    run_node(node_config(emulator), strategies=[strategy], scenario=scenario)
    kinds = [type(e).__name__ for e in strategy.events if e.client_order_id.value == "t-entry-1"
             and not type(e).__name__ == "OrderInitialized"]
    assert kinds[:3] == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    fill = strategy.of("t-entry-1", OrderFilled)[0]
    assert fill.last_px.as_decimal() == emulator.price("BTC-USDT")
    assert fill.commission.as_decimal() > 0
    assert sum(f.last_qty.as_decimal() for f in strategy.of("t-exit-1", OrderFilled)) == Decimal("0.010")
    assert all(p.qty == 0 for p in emulator.state.positions.values() if p.symbol == "BTC-USDT")
    assert len(venue_orders(emulator, "t-entry-1")) == 1
