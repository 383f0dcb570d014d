"""BingX exec client in a real TradingNode against the emulator: event flow, error routing, reports."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import OrderSide, OrderStatus, PositionSide
from nautilus_trader.model.events import OrderAccepted, OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.bingx_emulator import RateLimitConfig
from dolphin_nautilus.contracts.placement import (
    PLACEMENT_OUTCOME_TOPIC,
    PlacementRateLimited,
    PlacementRejected,
    PlacementResolved,
    PlacementUnknown,
)
from dolphin_nautilus.portfolio_records import DeferredTradeRecords

from .conftest import BTC, node_config, run_node, wait_for


class Recorder(Strategy):
    """Submits what the test asks and records every order event and placement outcome in order."""

    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="Recorder-001", external_order_claims=[BTC.value]))
        self.events: list = []
        self.outcomes: list = []

    def on_start(self) -> None:
        self.msgbus.subscribe(PLACEMENT_OUTCOME_TOPIC, self.outcomes.append)

    def on_order_event(self, event) -> None:
        self.events.append(event)

    def outcomes_of(self, coid: str) -> list:
        return [o for o in self.outcomes if o.client_order_id == coid]

    def market(self, coid: str, side: OrderSide, qty: str, reduce_only: bool = False):
        order = self.order_factory.market(
            BTC,
            side,
            self.cache.instrument(BTC).make_qty(Decimal(qty)),
            reduce_only=reduce_only,
            client_order_id=ClientOrderId(coid),
        )
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
        # The closed position is recorded by the node's analyzer as a list append (no pandas concat per trade),
        # and reads back as the stock analyzer's Series would.
        analyzer = node.portfolio.analyzer
        assert isinstance(analyzer, DeferredTradeRecords)
        closed = strategy.cache.positions_closed(instrument_id=BTC)
        pnls = analyzer.realized_pnls(USDT)
        assert pnls is not None and list(pnls.index) == [p.id.value for p in closed]
        assert list(pnls) == [p.realized_pnl.as_double() for p in closed]

    run_node(node_config(emulator), strategies=[strategy], scenario=scenario)
    kinds = [
        type(e).__name__
        for e in strategy.events
        if e.client_order_id.value == "t-entry-1" and type(e).__name__ != "OrderInitialized"
    ]
    assert kinds[:3] == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    fill = strategy.of("t-entry-1", OrderFilled)[0]
    venue_buy = next(f for f in emulator.state.fills if f.side == "BUY")  # at the venue's best ask
    assert fill.last_px.as_decimal() == venue_buy.price
    assert fill.commission.as_decimal() > 0
    assert sum(f.last_qty.as_decimal() for f in strategy.of("t-exit-1", OrderFilled)) == Decimal("0.010")
    assert all(p.qty == 0 for p in emulator.state.positions.values() if p.symbol == "BTC-USDT")
    assert len(venue_orders(emulator, "t-entry-1")) == 1


ORDER_ROUTE = "POST /openApi/swap/v2/trade/order"


def test_limit_order_cancel_and_definitive_reject(bingx_env):
    emulator = bingx_env()
    strategy = Recorder()

    async def scenario(node):
        instrument = strategy.cache.instrument(BTC)
        far_below = instrument.make_price(emulator.price("BTC-USDT") * Decimal("0.8"))
        order = strategy.order_factory.limit(
            BTC,
            OrderSide.BUY,
            instrument.make_qty(Decimal("0.010")),
            far_below,
            client_order_id=ClientOrderId("t-limit-1"),
        )
        strategy.submit_order(order)
        await wait_for(lambda: strategy.of("t-limit-1", OrderAccepted), what="limit accepted")
        strategy.cancel_order(order)
        await wait_for(
            lambda: strategy.cache.order(order.client_order_id).status == OrderStatus.CANCELED, what="canceled"
        )
        emulator.faults.reject(ORDER_ROUTE, 101204, "Insufficient margin")
        strategy.market("t-reject-1", OrderSide.BUY, "0.010")
        await wait_for(lambda: strategy.of("t-reject-1", OrderRejected), what="reject")

    run_node(node_config(emulator), strategies=[strategy], scenario=scenario)
    assert not emulator.state.open_orders
    assert len([e for e in strategy.events if type(e).__name__ == "OrderCanceled"]) == 1
    assert strategy.of("t-reject-1", OrderRejected)[0].reason == "101204 Insufficient margin"
    [outcome] = strategy.outcomes_of("t-reject-1")
    assert isinstance(outcome, PlacementRejected) and outcome.venue_code == 101204
    assert venue_orders(emulator, "t-reject-1") == []


def test_rate_limit_storm_resolves_without_a_second_order(bingx_env):
    emulator = bingx_env(rate_limits=RateLimitConfig(penalty_s=0.2))
    strategy = Recorder()

    async def scenario(node):
        emulator.faults.rate_limit_storm(ORDER_ROUTE, times=2)
        strategy.market("t-storm-1", OrderSide.BUY, "0.010")
        await wait_for(lambda: strategy.of("t-storm-1", OrderFilled), what="fill after storm")
        emulator.faults.rate_limit_storm(ORDER_ROUTE, times=10)
        strategy.market("t-storm-2", OrderSide.BUY, "0.010")
        await wait_for(lambda: strategy.of("t-storm-2", OrderRejected), what="rate-limit reject")
        emulator.faults.clear()

    run_node(node_config(emulator, exec_overrides={"rate_limit_attempts": 3}), strategies=[strategy], scenario=scenario)
    assert len(venue_orders(emulator, "t-storm-1")) == 1
    assert strategy.of("t-storm-1", OrderFilled)[0].last_qty.as_decimal() == Decimal("0.010")
    reason = strategy.of("t-storm-2", OrderRejected)[0].reason
    assert reason.startswith("RATE_LIMITED: ") and "retry_after_ms=" in reason, reason
    assert venue_orders(emulator, "t-storm-2") == []
    assert strategy.outcomes_of("t-storm-1") == []  # placed after the storm: OrderAccepted says it all
    [outcome] = strategy.outcomes_of("t-storm-2")
    assert isinstance(outcome, PlacementRateLimited) and outcome.venue_code is not None


def test_gateway_timeout_with_order_placed_is_resolved_by_query(bingx_env):
    emulator = bingx_env()
    strategy = Recorder()

    async def scenario(node):
        emulator.faults.gateway_timeout(ORDER_ROUTE, executed=True)
        strategy.market("t-504-placed", OrderSide.BUY, "0.010")
        await wait_for(lambda: strategy.of("t-504-placed", OrderFilled), what="fill after 504")
        emulator.faults.gateway_timeout(ORDER_ROUTE, executed=False)
        strategy.market("t-504-lost", OrderSide.BUY, "0.010")
        await wait_for(lambda: strategy.of("t-504-lost", OrderRejected), what="unknown outcome resolved")

    run_node(
        node_config(emulator, exec_overrides={"unknown_outcome_timeout_s": 1.0}),
        strategies=[strategy],
        scenario=scenario,
    )
    assert len(venue_orders(emulator, "t-504-placed")) == 1
    assert len(strategy.of("t-504-placed", OrderAccepted)) == 1
    assert sum(f.last_qty.as_decimal() for f in strategy.of("t-504-placed", OrderFilled)) == Decimal("0.010")
    assert strategy.of("t-504-lost", OrderRejected)[0].reason == (
        "ORDER_REJECTED: not found at venue after unknown outcome"
    )
    assert venue_orders(emulator, "t-504-lost") == []
    placed, lost = strategy.outcomes_of("t-504-placed"), strategy.outcomes_of("t-504-lost")
    assert [type(o) for o in placed] == [PlacementUnknown, PlacementResolved] and placed[1].placed
    assert placed[1].venue_order_id == strategy.of("t-504-placed", OrderAccepted)[0].venue_order_id.value
    assert [type(o) for o in lost] == [PlacementUnknown, PlacementResolved] and not lost[1].placed


def test_duplicated_and_reordered_executions_fill_once(bingx_env):
    from dolphin_nautilus.bingx_emulator import FillModel

    emulator = bingx_env(fill_model=FillModel(market_slices=3))
    strategy = Recorder()

    async def scenario(node):
        emulator.faults.duplicate_user_events(50)
        strategy.market("t-dup-1", OrderSide.BUY, "0.030")
        await wait_for(
            lambda: sum(f.last_qty.as_decimal() for f in strategy.of("t-dup-1", OrderFilled)) >= Decimal("0.030"),
            what="duplicated fills",
        )
        emulator.faults.clear()
        emulator.faults.reorder_user_events(4)
        strategy.market("t-reorder-1", OrderSide.SELL, "0.030", reduce_only=True)
        await wait_for(
            lambda: sum(f.last_qty.as_decimal() for f in strategy.of("t-reorder-1", OrderFilled)) >= Decimal("0.030"),
            what="reordered fills",
        )
        await wait_for(lambda: not strategy.cache.positions_open(instrument_id=BTC), what="flat")
        return {c: strategy.cache.order(ClientOrderId(c)).status for c in ("t-dup-1", "t-reorder-1")}

    statuses = run_node(node_config(emulator), strategies=[strategy], scenario=scenario)
    assert statuses == {"t-dup-1": OrderStatus.FILLED, "t-reorder-1": OrderStatus.FILLED}
    for coid in ("t-dup-1", "t-reorder-1"):
        fills = strategy.of(coid, OrderFilled)
        venue_fills = [f for f in emulator.state.fills if f.client_order_id == coid]
        assert len(venue_fills) == 3
        assert sorted(f.trade_id.value for f in fills) == sorted(str(f.trade_id) for f in venue_fills)
        assert sum(f.last_qty.as_decimal() for f in fills) == Decimal("0.030")


def test_hedge_mode_account_fails_connect_with_a_clear_error(bingx_env):
    import asyncio

    import pytest

    from dolphin_nautilus.adapters.bingx.errors import BingXHedgeModeError

    emulator = bingx_env(dual_side_position=True)
    strategy = Recorder()

    async def scenario(node):
        await asyncio.sleep(2.5)  # past timeout_connection: Nautilus gives up and leaves the trader stopped
        assert not node.trader.is_running
        client = next(iter(node.kernel.exec_engine._clients.values()))  # noqa: SLF001
        assert not client.is_connected
        with pytest.raises(BingXHedgeModeError, match="HEDGE"):
            await client._connect()  # noqa: SLF001 - the same call Nautilus made, to see its error

    run_node(
        node_config(emulator, timeout_connection=2.0), strategies=[strategy], scenario=scenario, expect_running=False
    )
    assert emulator.state.dual_side is True


def test_hedge_mode_switched_when_configured(bingx_env):
    emulator = bingx_env(dual_side_position=True)

    async def scenario(node):
        return node.trader.is_running

    assert run_node(node_config(emulator, exec_overrides={"switch_to_one_way": True}), scenario=scenario)
    assert emulator.state.dual_side is False
