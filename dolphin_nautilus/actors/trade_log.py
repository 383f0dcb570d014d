"""`TradeLogActor`: what the node trades, one JSON log line per fact, at INFO whatever Nautilus's log level.

It subscribes to the facts topic and writes one `dolphin-node.jsonl` line per order event, fill, entry, exit
leg and closed trade, with the trade id, instrument, side, quantity, price, PnL where there is one, and the
fault code an order event implies (a reject, a rate limit, an unknown outcome). Anomalies have their own line
from `FaultLogActor`. Its logger is pinned at INFO so a quieter node log level never hides a trade.
"""

from __future__ import annotations

import logging
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from dolphin_nautilus.contracts.topics import FACTS_TOPIC
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.domain.facts import FillFact, OrderEvent, TradeClosed, TradeEntry, TradeExitLeg
from dolphin_nautilus.logs import log_event, node_logger


def order_event_code(fact: OrderEvent) -> str | None:
    """The fault code an order event stands for (the book's anomaly for it carries the same code)."""
    if fact.event in ("REJECTED", "DENIED"):
        return Code.EXIT_ORDER_REJECTED if fact.reduce_only else Code.ORDER_REJECTED
    return _EVENT_CODES.get(fact.event)


_EVENT_CODES: dict[str, str] = {
    "RATE_LIMITED": Code.RATE_LIMITED,
    "UNKNOWN": Code.UNKNOWN_ORDER_OUTCOME,
    "CANCEL_REJECTED": Code.CANCEL_REJECTED,
    "RECONCILED": Code.STALE_STATE_RECONCILING,
}


def trade_line(fact: object) -> tuple[str, str, dict[str, Any], str | None] | None:
    """(event, message, fields, code) of the log line for a trade fact; None for facts logged elsewhere."""
    if isinstance(fact, OrderEvent):
        code = order_event_code(fact)
        return (
            "order",
            f"order {fact.event} {fact.side} {fact.quantity} {fact.instrument_id}"
            + (" reduce-only" if fact.reduce_only else "")
            + (f": {fact.reason}" if fact.reason else ""),
            {
                "trade_id": fact.trade_id,
                "instrument_id": fact.instrument_id,
                "client_order_id": fact.client_order_id,
                "venue_order_id": fact.venue_order_id,
                "order_event": fact.event,
                "side": fact.side,
                "quantity": str(fact.quantity),
                "price": str(fact.price),
                "reduce_only": fact.reduce_only,
                "reason": fact.reason,
            },
            code,
        )
    if isinstance(fact, FillFact):
        return (
            "fill",
            f"fill {fact.side} {fact.quantity} {fact.instrument_id} @ {fact.price} (fee {fact.fee})",
            {
                "trade_id": fact.trade_id,
                "instrument_id": fact.instrument_id,
                "client_order_id": fact.client_order_id,
                "venue_trade_id": fact.venue_trade_id,
                "side": fact.side,
                "quantity": str(fact.quantity),
                "price": str(fact.price),
                "fee": str(fact.fee),
                "liquidity": fact.liquidity,
            },
            None,
        )
    if isinstance(fact, TradeEntry):
        return (
            "entry",
            f"entered {fact.side} {fact.quantity} {fact.instrument_id} @ {fact.price} (notional {fact.notional})",
            {
                "trade_id": fact.trade_id,
                "instrument_id": fact.instrument_id,
                "side": fact.side,
                "quantity": str(fact.quantity),
                "price": str(fact.price),
                "notional": str(fact.notional),
                "fee": str(fact.fee),
            },
            None,
        )
    if isinstance(fact, TradeExitLeg):
        return (
            "exit_leg",
            f"exit leg {fact.leg_no} ({fact.reason}) {fact.quantity} {fact.instrument_id} @ {fact.price}: "
            f"PnL {fact.realized_pnl}, {fact.remaining_quantity} left",
            {
                "trade_id": fact.trade_id,
                "instrument_id": fact.instrument_id,
                "leg_no": fact.leg_no,
                "reason": fact.reason,
                "quantity": str(fact.quantity),
                "price": str(fact.price),
                "pnl": str(fact.realized_pnl),
                "fee": str(fact.fee),
                "remaining_quantity": str(fact.remaining_quantity),
                "final": fact.is_final,
            },
            None,
        )
    if isinstance(fact, TradeClosed):
        return (
            "trade_closed",
            f"closed {fact.side} {fact.quantity} {fact.instrument_id} {fact.entry_avg_px} -> {fact.exit_avg_px} "
            f"({fact.exit_reason}): net PnL {fact.net_pnl}",
            {
                "trade_id": fact.trade_id,
                "instrument_id": fact.instrument_id,
                "side": fact.side,
                "quantity": str(fact.quantity),
                "entry_price": str(fact.entry_avg_px),
                "price": str(fact.exit_avg_px),
                "pnl": str(fact.realized_pnl),
                "fees": str(fact.fees),
                "net_pnl": str(fact.net_pnl),
                "bars_held": fact.bars_held,
                "exit_reason": fact.exit_reason,
            },
            None,
        )
    return None


class TradeLogActorConfig(ActorConfig, frozen=True):
    pass


class TradeLogActor(Actor):
    def __init__(self, config: TradeLogActorConfig | None = None) -> None:
        super().__init__(config or TradeLogActorConfig(component_id="TradeLog"))
        self._jlog = node_logger("trades")
        self.lines_logged = 0

    def on_start(self) -> None:
        # A child logger with its own level: the node's level (node.log_level) may be WARNING or ERROR.
        self._jlog.setLevel(logging.INFO)
        self.msgbus.subscribe(FACTS_TOPIC, self._on_fact)

    def on_stop(self) -> None:
        self.msgbus.unsubscribe(FACTS_TOPIC, self._on_fact)

    def _on_fact(self, fact: object) -> None:
        line = trade_line(fact)
        if line is None:
            return
        event, message, fields, code = line
        self.lines_logged += 1
        log_event(self._jlog, logging.INFO, event, message, code=code, **fields)
