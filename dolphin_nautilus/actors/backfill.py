"""`BackfillActor`: no fact lost on kill -9 (docs/design.md §11).

On start (before the restore actor, which the node registers after it) it back-fills from the venue history
the execution client read during Nautilus's start-up reconciliation (`journal.backfill.VENUE_HISTORY_CACHE_KEY`),
so a trade whose last facts were lost is restored as the trade it was. Then, right away and every
`interval_s`, it asks the execution client for a fresh read (`VenueHistoryRequest` on the message bus): the
first one re-verifies against the venue, after reconciliation reported success, which of our orders a
previous life left working, and the next request cancels them (the rule in docs/design.md); each reply is
back-filled in a worker thread (the store calls block), never on the event loop.

The logic is `journal.backfill` (the round) and `journal.backfill_plan` (the plan); this module is the Nautilus side.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.identifiers import InstrumentId

from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.domain.identifiers import start_epoch
from dolphin_nautilus.journal.backfill import (
    VENUE_HISTORY_CACHE_KEY,
    VENUE_HISTORY_REPLY_TOPIC,
    VENUE_HISTORY_REQUEST_TOPIC,
    VenueHistoryReply,
    VenueHistoryRequest,
    WorkingOrder,
    decode_reply,
    previous_life_orders,
    run_backfill,
)
from dolphin_nautilus.journal.backfill_plan import BackfillPlan
from dolphin_nautilus.journal.venue_history import Precision, VenueHistory
from dolphin_nautilus.logs import log_event, node_logger
from dolphin_nautilus.resources import resources_for

log = node_logger("backfill")
BACKFILL_TIMER = "dolphin-backfill"


class BackfillActorConfig(ActorConfig, frozen=True):
    namespace: str
    client_order_prefix: str
    instrument_ids: list[str]
    interval_s: float = 300.0  # periodic back-fill (0: only the start-up one and the first re-read)
    lookback_s: float = 86_400.0  # window of a periodic read (the start-up read uses the reconciliation lookback)
    settle_s: float = 30.0  # venue facts younger than this are the live path's (journal flushed before reading)
    timeout_s: float = 60.0  # the start-up back-fill's bound (flush, read, write, flush)


class BackfillActor(Actor):
    def __init__(self, config: BackfillActorConfig) -> None:
        super().__init__(config)
        self._stores: Any = None
        self._precisions: dict[str, Precision] = {}
        self._epoch = 0
        self._requests = 0
        self._asked_cancel: set[str] = set()
        self._worker: threading.Thread | None = None
        self.plans: list[BackfillPlan] = []  # every round's plan (status, tests)
        self.errors: list[str] = []
        self.canceled: list[str] = []  # previous lives' orders the venue confirmed cancelled

    def on_start(self) -> None:
        cfg = self.config
        self._stores = resources_for(cfg.namespace).stores
        self._epoch = start_epoch(self.clock.timestamp_ns())
        for iid in cfg.instrument_ids:
            instrument = self.cache.instrument(InstrumentId.from_str(iid))
            if instrument is not None:
                self._precisions[iid] = Precision(instrument.price_precision, instrument.size_precision)
        self.msgbus.subscribe(VENUE_HISTORY_REPLY_TOPIC, self._on_reply)
        raw = self.cache.get(VENUE_HISTORY_CACHE_KEY)
        if raw is None:
            self.log.warning("no start-up venue history in the cache (reconciliation off?): periodic back-fill only")
        else:
            self._startup(decode_reply(bytes(raw)))
        self._request()  # the re-read after reconciliation's success: previous lives' working orders
        if cfg.interval_s > 0:
            self.clock.set_timer(BACKFILL_TIMER, dt.timedelta(seconds=cfg.interval_s), callback=self._on_timer)

    def on_stop(self) -> None:
        if BACKFILL_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(BACKFILL_TIMER)
        self.msgbus.unsubscribe(VENUE_HISTORY_REPLY_TOPIC, self._on_reply)

    def _startup(self, reply: VenueHistoryReply) -> None:
        """Bounded and blocking: restore starts after this and must see what it wrote."""
        if reply.history is None:
            self._fail(f"start-up venue history unavailable: {reply.error}")
            return
        worker = threading.Thread(target=self._backfill, args=(reply.history,), name="backfill-startup", daemon=True)
        worker.start()
        worker.join(self.config.timeout_s)
        if worker.is_alive():
            self._worker = worker  # it finishes in the background; the periodic rounds wait for it
            self._fail(f"start-up back-fill still running after {self.config.timeout_s}s; restore may not see it")

    # ---- periodic rounds -------------------------------------------------------------------------------
    def _on_timer(self, event: Any = None) -> None:
        self._request()

    def _request(self, cancel: list[WorkingOrder] | None = None) -> None:
        self._requests += 1
        now_ms = self.clock.timestamp_ns() // 1_000_000
        self.msgbus.publish(
            VENUE_HISTORY_REQUEST_TOPIC,
            VenueHistoryRequest(
                request_id=self._requests,
                end_ms=now_ms - int(self.config.settle_s * 1000),
                lookback_ms=int(self.config.lookback_s * 1000),
                cancel=cancel or [],
            ),
        )

    def _on_reply(self, reply: VenueHistoryReply) -> None:
        if reply.request_id == 0:
            return
        self.canceled += reply.canceled
        for coid in reply.canceled:
            log_event(
                log,
                logging.WARNING,
                "previous_life_order_canceled",
                f"order {coid} of a previous life was still working at the venue: cancelled",
                code=Code.PREVIOUS_LIFE_ORDER_CANCELED,
                client_order_id=coid,
            )
        if reply.history is None:
            self._fail(f"venue history unavailable: {reply.error}")
            return
        stale = [
            w
            for w in previous_life_orders(reply.history, self.config.client_order_prefix, self._epoch)
            if w.client_order_id not in self._asked_cancel
        ]
        if stale:
            self._asked_cancel.update(w.client_order_id for w in stale)
            self._request(cancel=stale)  # cancel, then read again: the back-fill sees what they did
        if self._worker is not None and self._worker.is_alive():
            return  # one round at a time; the next timer reads again
        self._worker = threading.Thread(
            target=self._backfill, args=(reply.history,), name="backfill-periodic", daemon=True
        )
        self._worker.start()

    def _backfill(self, history: VenueHistory) -> None:
        cfg = self.config
        try:
            plan = run_backfill(
                history,
                self._stores.clickhouse,
                self._stores.journal,
                namespace=cfg.namespace,
                prefix=cfg.client_order_prefix,
                precisions=self._precisions,
                flush_timeout_s=cfg.timeout_s,
            )
        except Exception as exc:  # noqa: BLE001 - a failed round is retried by the next; never kills the node
            self._fail(f"back-fill round failed: {type(exc).__name__}: {exc}")
            return
        self.plans.append(plan)
        if plan.facts:
            log_event(
                log,
                logging.WARNING,
                "facts_backfilled",
                f"back-filled {len(plan.facts)} fact(s) from the venue's history: "
                f"{len(plan.missing_fills)} fill(s), trades {plan.trades_touched}",
                code=Code.FACTS_BACKFILLED,
                missing_fills=plan.missing_fills,
                unaccounted=plan.unaccounted,
            )

    def _fail(self, message: str) -> None:
        self.errors.append(message)
        log_event(log, logging.WARNING, "backfill_failed", message, code=Code.VENUE_READ_FAILED)
