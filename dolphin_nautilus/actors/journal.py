"""`JournalActor`: the Nautilus side of the journal. It only hands facts over; it never writes.

It listens on the strategy's facts topic and on the account events, turns account states into
`CapitalUpdate` facts, and appends everything to a fact sink (the journal, whose own threads or process do
the writing). Appending costs microseconds, so the strategy's thread never waits on a store.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.events import AccountState

from dolphin_nautilus.contracts.topics import FACTS_TOPIC
from dolphin_nautilus.domain.facts import CapitalUpdate, Fact
from dolphin_nautilus.resources import resources_for


class FactSink(Protocol):
    def append(self, fact: Fact) -> None: ...
    def flush(self, timeout: float | None = None) -> bool: ...


class JournalActorConfig(ActorConfig, frozen=True):
    namespace: str  # whose registered resources hold the fact sink (dolphin_nautilus.resources)
    flush_timeout_s: float = 10.0  # on stop; facts not in ClickHouse by then are safe in the spool


class JournalActor(Actor):
    def __init__(self, config: JournalActorConfig) -> None:
        super().__init__(config)
        self._sink: FactSink | None = None
        self._observers: tuple = ()  # extra in-process consumers (e.g. the backtest run summary)
        self._last_total: dict[str, Decimal] = {}
        self.facts_seen = 0

    def on_start(self) -> None:
        resources = resources_for(self.config.namespace)
        self._sink, self._observers = resources.fact_sink, resources.fact_observers
        self.msgbus.subscribe(FACTS_TOPIC, self._on_fact)
        self.msgbus.subscribe("events.account.*", self._on_account)

    def on_stop(self) -> None:
        # Nautilus stops actors before strategies: stay subscribed, so the facts strategies publish while
        # stopping (their final slot snapshots) are still journaled. The owner of the sink closes it.
        self._started_sink().flush(self.config.flush_timeout_s)

    def _started_sink(self) -> FactSink:
        if self._sink is None:  # a fact before on_start, or a namespace registered without a sink: a wiring bug
            raise RuntimeError(f"JournalActor has no fact sink for namespace '{self.config.namespace}'")
        return self._sink

    def on_dispose(self) -> None:
        self.msgbus.unsubscribe(FACTS_TOPIC, self._on_fact)
        self.msgbus.unsubscribe("events.account.*", self._on_account)

    def _on_fact(self, fact: Fact) -> None:
        self.facts_seen += 1
        self._started_sink().append(fact)
        for observe in self._observers:
            observe(fact)

    def _on_account(self, event: AccountState) -> None:
        for balance in event.balances:
            currency = balance.currency.code
            total = balance.total.as_decimal()
            delta = total - self._last_total.get(currency, total)
            self._last_total[currency] = total
            self._on_fact(
                CapitalUpdate(
                    ts=event.ts_event,
                    origin="venue",
                    currency=currency,
                    total=total,
                    free=balance.free.as_decimal(),
                    locked=balance.locked.as_decimal(),
                    delta=delta,
                    reason="ACCOUNT_STATE" if event.is_reported else "ACCOUNT_CALCULATED",
                )
            )
