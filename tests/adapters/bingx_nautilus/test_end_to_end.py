"""End to end: DolphinStrategy + SignalFileActor + JournalActor in a real TradingNode with our BingX data and
exec clients against the emulator. Node 1 enters and partially retracts, then stops. Node 2 starts against the
same venue state, reconciles from the venue's reports (the claimed position comes back owned by the
strategy), restores the book's slot from node 1's journal facts (a tiny stand-in for the RestoreActor that
writes the restore hand-over), and exits the position.

Bars close only when the next minute's kline arrives. To get minutes of bars in seconds, the emulator's
engine clock (trade, order and fill times) is shifted forward a minute per step; the venue's auth clock and
our clients' clocks stay real."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import msgspec
import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from dolphin_nautilus.actors.journal import JournalActor, JournalActorConfig
from dolphin_nautilus.actors.signals import SignalFileActor, SignalFileActorConfig
from dolphin_nautilus.contracts.restore import (
    RESTORE_HANDOVER_CACHE_KEY,
    RestoredSlot,
    RestoreHandover,
    encode_handover,
)
from dolphin_nautilus.domain.facts import PositionState, TradeClosed, TradeEntry, TradeExitLeg
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources
from dolphin_nautilus.strategy.strategy import DolphinStrategy, DolphinStrategyConfig

from .conftest import BTC, node_config, run_node, wait_for

BAR_TYPE = f"{BTC}-1-MINUTE-LAST-EXTERNAL"
MINUTE_MS = 60_000


class ListSink:
    def __init__(self) -> None:
        self.facts: list = []

    def append(self, fact) -> None:
        self.facts.append(fact)

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass


class RestoreFromFactsConfig(ActorConfig, frozen=True):
    slots_json: str = "[]"


class RestoreFromFacts(Actor):
    """Writes the restore hand-over before the strategy starts (actors start first)."""

    def on_start(self) -> None:
        slots = msgspec.json.decode(self.config.slots_json, type=list[RestoredSlot])
        self.cache.add(
            RESTORE_HANDOVER_CACHE_KEY, encode_handover(RestoreHandover(slots=slots, safe_mode="", flatten=[]))
        )


class SimClock:
    """Stamps the emulator feed's prints so that step k prints its trade in minute M0 + k."""

    def __init__(self, monkeypatch) -> None:
        self.m0 = (int(time.time() * 1000) // MINUTE_MS + 2) * MINUTE_MS

    def bar_close(self, k: int) -> int:
        """ts_event (ns) of the bar opened at step k."""
        return (self.m0 + (k + 1) * MINUTE_MS) * 1_000_000

    def step(self, emulator, k: int, price: str, later_ms: int = 0) -> None:
        emulator.set_price("BTC-USDT", price, at_ms=self.m0 + k * MINUTE_MS + 500 + later_ms)


def write_signals(path, rows: list[tuple[int, float]]) -> str:
    path.write_text("ts,instrument_id,target\n" + "".join(f"{ts},{BTC},{target}\n" for ts, target in rows))
    return str(path)


def strategy_config() -> DolphinStrategyConfig:
    return DolphinStrategyConfig(
        strategy_id="DolphinStrategy",
        order_id_tag="E2E",
        instrument_ids=[BTC.value],
        namespace="e2e",
        client_order_prefix="dlp",
        bar_minutes=1,
        trade_notional_usdt="600",
        signal_source="file",
        min_hold_bars=2,
        enter_above=0.5,
        retract_step=0.2,
        snapshot_every_bars=1,
        external_order_claims=[BTC.value],
    )


@pytest.fixture(autouse=True)
def node_resources():
    """The journal actor finds its fact sink in the process registry by namespace, as in a real node."""
    yield
    unregister_resources("e2e")


def make_node_parts(signal_file: str, restore_json: str | None):
    sink = ListSink()
    unregister_resources("e2e")  # the previous node of this test is stopped: its sink goes
    register_resources("e2e", NodeResources(fact_sink=sink))
    strategy = DolphinStrategy(strategy_config())
    actors = [
        JournalActor(JournalActorConfig(component_id="JournalActor", namespace="e2e")),
        SignalFileActor(SignalFileActorConfig(component_id="Signals", path=signal_file, bar_types=[BAR_TYPE])),
    ]
    if restore_json is not None:
        actors.insert(0, RestoreFromFacts(RestoreFromFactsConfig(component_id="Restore", slots_json=restore_json)))
    return sink, strategy, actors


@pytest.mark.slow
def test_trade_retract_stop_restart_reconcile_and_exit(bingx_env, monkeypatch, tmp_path):
    emulator = bingx_env()
    clock = SimClock(monkeypatch)
    price = "60000.0"

    # ---- node 1: enter at bar 1, retract half at bar 5 ---------------------------------------------------
    signals_1 = write_signals(tmp_path / "s1.csv", [(clock.bar_close(1), 1.0), (clock.bar_close(5), 0.5)])
    sink_1, strategy_1, actors_1 = make_node_parts(signals_1, None)

    async def first(node):
        for k in range(8):
            clock.step(emulator, k, price)
            await asyncio.sleep(0.15)
            if k == 2:
                await wait_for(lambda: any(isinstance(f, TradeEntry) for f in sink_1.facts), what="entry")
            if k == 6:
                await wait_for(lambda: any(isinstance(f, TradeExitLeg) for f in sink_1.facts), what="retract")
        return [p.quantity.as_decimal() for p in node.cache.positions_open(strategy_id=strategy_1.id)]

    open_1 = run_node(
        node_config(emulator, trader_id="DOLPHIN-001"), strategies=[strategy_1], actors=actors_1, scenario=first
    )
    assert open_1 == [Decimal("0.0050")]
    leg = next(f for f in sink_1.facts if isinstance(f, TradeExitLeg))
    assert leg.quantity == Decimal("0.0050") and not leg.is_final
    venue_position = [p for p in emulator.state.positions.values() if p.symbol == "BTC-USDT" and p.qty != 0]
    assert [p.qty for p in venue_position] == [Decimal("0.0050")]

    # ---- node 2: same venue, restore from node 1's last snapshot, reconcile, exit at bar 9 -------------------
    last = [f for f in sink_1.facts if isinstance(f, PositionState) and f.status == "OPEN"][-1]
    restored = RestoredSlot(
        trade_id=last.trade_id,
        instrument_id=last.instrument_id,
        side=last.side,
        quantity=last.quantity,
        entry_price=last.entry_price,
        bars_held=last.bars_held,
        realized_pnl=last.realized_pnl,
        fees=last.fees,
        legs=last.legs,
        opened_ts=last.opened_ts,
        order_seq=last.order_seq,
        seq=last.seq,
        entry_quantity=Decimal("0.0100"),
    )
    signals_2 = write_signals(tmp_path / "s2.csv", [(clock.bar_close(9), 0.0)])
    sink_2, strategy_2, actors_2 = make_node_parts(signals_2, msgspec.json.encode([restored]).decode())

    async def second(node):
        # Reconciliation has run before the trader started: the venue position is the strategy's.
        reconciled = [
            (p.strategy_id.value, p.quantity.as_decimal()) for p in node.cache.positions_open(instrument_id=BTC)
        ]
        assert strategy_2.book.open_slots(), "restored slot missing"
        for k in range(8, 12):
            clock.step(emulator, k, price)
            await asyncio.sleep(0.15)
        await wait_for(lambda: any(isinstance(f, TradeClosed) for f in sink_2.facts), what="exit")
        await wait_for(lambda: not node.cache.positions_open(instrument_id=BTC), what="flat in Nautilus")
        return reconciled

    reconciled = run_node(
        node_config(emulator, trader_id="DOLPHIN-001"), strategies=[strategy_2], actors=actors_2, scenario=second
    )
    assert reconciled == [("DolphinStrategy-E2E", Decimal("0.0050"))]
    closed = next(f for f in sink_2.facts if isinstance(f, TradeClosed))
    assert closed.trade_id == last.trade_id and closed.quantity == Decimal("0.0100") and closed.legs == 2
    assert all(p.qty == 0 for p in emulator.state.positions.values() if p.symbol == "BTC-USDT")
    coids = [o.client_order_id for o in emulator.state.orders.values()]
    assert len(coids) == len(set(coids)) == 3  # entry, retract, exit: one venue order each
