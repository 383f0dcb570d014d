"""`FaultLogActor`: every `Anomaly` fact the strategy (or restore) publishes becomes one JSON log line that
carries its diagnostic code, so an operator can grep the node log by code."""

from __future__ import annotations

import logging

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from dolphin_nautilus.contracts.topics import FACTS_TOPIC
from dolphin_nautilus.domain.facts import Anomaly
from dolphin_nautilus.logs import log_event, node_logger

_LEVELS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}


class FaultLogActorConfig(ActorConfig, frozen=True):
    pass


class FaultLogActor(Actor):
    def __init__(self, config: FaultLogActorConfig | None = None) -> None:
        super().__init__(config or FaultLogActorConfig(component_id="FaultLog"))
        self._jlog = node_logger("strategy")
        self.faults_logged = 0

    def on_start(self) -> None:
        self.msgbus.subscribe(FACTS_TOPIC, self._on_fact)

    def on_stop(self) -> None:
        self.msgbus.unsubscribe(FACTS_TOPIC, self._on_fact)

    def _on_fact(self, fact: object) -> None:
        if not isinstance(fact, Anomaly):
            return
        self.faults_logged += 1
        log_event(
            self._jlog,
            _LEVELS.get(fact.severity, logging.WARNING),
            "fault",
            fact.message,
            code=fact.code,
            origin=fact.origin,
            trade_id=fact.trade_id,
            instrument_id=fact.instrument_id,
            details=fact.details,
        )
