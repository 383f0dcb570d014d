"""DolphinStrategy in a real BacktestEngine with the simulated BingX venue: targets are state, and no slot
stays stuck (issues 11 item 2, 12 item 6).

Signals reach the strategy as `DolphinSignal`s on SIGNAL_TOPIC from a scripted actor (at given times). Where
the live execution client would publish a typed placement outcome (rate limited; unknown and never
resolved), `ScriptedExecClient` sits on the ExecEngine endpoint as `backtest.venue.ExitRejecter` does and
answers for the chosen exit orders exactly as `BingXExecutionClient` would, through the venue's own client.
"""

from __future__ import annotations

from decimal import Decimal as D

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.data import Bar, DataType
from nautilus_trader.model.identifiers import ClientId, InstrumentId, TraderId

from dolphin_nautilus.actors.signals import DolphinSignal
from dolphin_nautilus.adapters.bingx.parsing import spec_to_perpetual
from dolphin_nautilus.backtest.catalogue import spec_for
from dolphin_nautilus.backtest.venue import BINGX_VENUE, add_bingx_venue
from dolphin_nautilus.contracts.placement import PLACEMENT_OUTCOME_TOPIC, PlacementRateLimited, PlacementUnknown
from dolphin_nautilus.contracts.topics import FACTS_TOPIC
from dolphin_nautilus.domain.facts import OrderEvent
from dolphin_nautilus.strategy.strategy import DolphinStrategy, DolphinStrategyConfig, bar_type_for

BTC = "BTC-USDT-PERP.BINGX"
MINUTE = 60_000_000_000
T0 = 1_767_571_200_000_000_000  # 2026-01-05T00:00Z, the first bar's close


class ScriptedSignalsConfig(ActorConfig, frozen=True):
    script: list[tuple[int, float]]  # (ts, target) for BTC


class ScriptedSignals(Actor):
    """Publishes each scripted target at its time (a time alert, so a target can come before any bar)."""

    def on_start(self) -> None:
        for n, (ts, _target) in enumerate(self.config.script):
            self.clock.set_time_alert_ns(f"signal-{n}", ts, self._publish)

    def _publish(self, event) -> None:
        ts, target = self.config.script[int(event.name.removeprefix("signal-"))]
        signal = DolphinSignal(
            instrument_id=InstrumentId.from_str(BTC), target=target, source="test", ts_event=ts, ts_init=ts
        )
        self.publish_data(DataType(DolphinSignal), signal)


class ScriptedExecClient:
    """Answers for the n-th exit orders as the live execution client would: `rate_limited` (nothing placed:
    the outcome, then OrderRejected) or `unknown` (the outcome, and never a word again). Others pass."""

    ENDPOINT = "ExecEngine.execute"

    def __init__(self, engine: BacktestEngine, answers: dict[int, str], retry_after_ms: int = 0) -> None:
        self._exec_engine = engine.kernel.exec_engine
        self._client = self._exec_engine._clients[ClientId(BINGX_VENUE.value)]  # noqa: SLF001 - as ExitRejecter
        self._clock = engine.kernel.clock
        self._msgbus = engine.kernel.msgbus
        self._answers = answers
        self._retry_after_ms = retry_after_ms
        self._exits = 0
        self.answered: list[tuple[str, str, int]] = []
        self._msgbus.deregister(self.ENDPOINT, self._exec_engine.execute)
        self._msgbus.register(self.ENDPOINT, self.execute)

    def execute(self, command) -> None:
        if isinstance(command, SubmitOrder) and command.order.is_reduce_only:
            self._exits += 1
            answer = self._answers.get(self._exits)
            if answer is not None:
                self._answer(command, answer)
                return
        self._exec_engine.execute(command)

    def _answer(self, command: SubmitOrder, answer: str) -> None:
        coid, now = command.order.client_order_id, self._clock.timestamp_ns()
        self.answered.append((coid.value, answer, now))
        self._client.generate_order_submitted(command.strategy_id, command.instrument_id, coid, now)
        if answer == "rejected":  # definitive, no outcome published (as the simulated venue does)
            self._client.generate_order_rejected(command.strategy_id, command.instrument_id, coid, "no", now)
        elif answer == "rate_limited":
            outcome = PlacementRateLimited(
                client_order_id=coid.value, retry_after_ms=self._retry_after_ms, message="429", ts=now
            )
            self._msgbus.publish(PLACEMENT_OUTCOME_TOPIC, outcome)
            self._client.generate_order_rejected(command.strategy_id, command.instrument_id, coid, "RATE_LIMITED", now)
        else:
            self._msgbus.publish(
                PLACEMENT_OUTCOME_TOPIC, PlacementUnknown(client_order_id=coid.value, message="504", ts=now)
            )


def run_strategy(
    script, *, bars=12, min_hold_bars=3, max_hold_bars=250, answers=None, retry_after_ms=0, actors=(), **extra
):
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("DOLPHINTEST-001"), run_analysis=False, logging=LoggingConfig(log_level="ERROR")
        )
    )
    add_bingx_venue(engine, starting_balance=D(100_000), leverage=D(5), reject_exit_every=0)
    instrument = spec_to_perpetual(spec_for(BTC))
    engine.add_instrument(instrument)
    strategy = DolphinStrategy(
        DolphinStrategyConfig(
            order_id_tag="TEST",
            instrument_ids=[BTC],
            namespace="tst",
            client_order_prefix="dtst",
            trade_notional_usdt="1000",
            signal_source="hazelcast",
            enter_above=0.5,
            min_hold_bars=min_hold_bars,
            max_hold_bars=max_hold_bars,
            log_events=False,
            **extra,
        )
    )
    engine.add_actor(ScriptedSignals(ScriptedSignalsConfig(component_id="Scripted", script=script)))
    for actor in actors:
        engine.add_actor(actor)
    engine.add_strategy(strategy)
    facts: list = []
    exec_client = ScriptedExecClient(engine, answers or {}, retry_after_ms) if answers else None
    bar_type = bar_type_for(BTC, 1)
    data = []
    for n in range(bars):
        px = instrument.make_price(50_000 + 10 * n)
        data.append(Bar(bar_type, px, px, px, px, instrument.make_qty(10), T0 + n * MINUTE, T0 + n * MINUTE))
    engine.add_data(data)
    engine.kernel.msgbus.subscribe(FACTS_TOPIC, facts.append)  # before run: see every fact
    engine.run()
    return engine, strategy, facts, exec_client


def sent(facts, kind):
    """(ts, client order id, reason) of every order the book sent ('e' entries, 'x' exits)."""
    return [
        (f.ts, f.client_order_id, f.reason)
        for f in facts
        if isinstance(f, OrderEvent) and f.event == "SUBMITTED" and f"-{kind}" in f.client_order_id
    ]


def test_a_target_written_before_the_first_bar_is_acted_on_at_the_first_bar():
    _engine, strategy, facts, _ = run_strategy([(T0 - 30 * 1_000_000_000, 0.8)], bars=3)
    entries = sent(facts, "e")
    assert [ts for ts, _coid, _reason in entries] == [T0]
    assert strategy.book.live_slot(BTC).side == "LONG"


def test_an_exit_target_during_min_hold_is_acted_on_when_min_hold_ends():
    script = [(T0 - 1, 0.8), (T0 + MINUTE + 1, 0.0)]  # enter at bar 0, exit asked inside min-hold (3 bars)
    _engine, strategy, facts, _ = run_strategy(script, bars=8, min_hold_bars=3)
    exits = sent(facts, "x")
    assert len(exits) == 1 and exits[0][2] == "SIGNAL_EXIT"
    assert exits[0][0] == T0 + 3 * MINUTE  # the bar at which the slot has held 3 bars
    assert strategy.book.live_slot(BTC) is None and strategy.book.slot(BTC).closed


def test_a_rate_limited_exit_is_sent_again_when_the_retry_time_ends():
    script = [(T0 - 1, 0.8), (T0 + MINUTE + 1, 0.0)]
    _engine, strategy, facts, client = run_strategy(
        script, bars=8, min_hold_bars=1, answers={1: "rate_limited"}, retry_after_ms=20_000
    )
    ((limited_coid, _, limited_at),) = client.answered
    exits = sent(facts, "x")
    assert exits[0][1] == limited_coid
    assert len(exits) == 2 and exits[1][1] != limited_coid  # a new client order id, never the old one
    assert exits[1][0] == limited_at + 20_000_000_000  # at the retry time, not at the next bar
    assert strategy.book.slot(BTC).closed


def test_an_unknown_exit_outcome_that_never_resolves_ends_in_a_venue_reconcile_and_the_slot_exits():
    script = [(T0 - 1, 0.8), (T0 + MINUTE + 1, 0.0)]
    _engine, strategy, facts, client = run_strategy(
        script, bars=10, min_hold_bars=1, answers={1: "unknown"}, unknown_outcome_timeout_s=90.0
    )
    ((unknown_coid, _, _),) = client.answered
    assert strategy.book.order(unknown_coid).status == "RECONCILED"  # the venue position decided
    assert strategy.diagnostics["STALE_STATE_RECONCILING"] >= 1 and strategy.diagnostics["venue_reconciles"] >= 1
    exits = sent(facts, "x")
    assert len(exits) == 2 and exits[1][2] == "SIGNAL_EXIT"
    assert strategy.book.live_slot(BTC) is None and strategy.book.slot(BTC).closed


def test_an_exit_the_venue_rejects_is_sent_again_on_the_next_bar():
    script = [(T0 - 1, 0.8), (T0 + MINUTE + 1, 0.0)]
    _engine, strategy, facts, client = run_strategy(script, bars=8, min_hold_bars=1, answers={1: "rejected"})
    ((rejected_coid, _, rejected_at),) = client.answered
    exits = sent(facts, "x")
    assert len(exits) == 2 and exits[0][1] == rejected_coid
    assert rejected_at == T0 + MINUTE + 1
    assert exits[1][0] == T0 + 2 * MINUTE  # the next bar: the slot can exit again (TradeSlot.can_exit)
    assert strategy.book.slot(BTC).closed
