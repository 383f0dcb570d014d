"""The RestoreActor (docs/design.md §5): on start, rebuild the open slots from the live state, ClickHouse
`position_state` (ours, and a legacy table when configured) and the capital ledger; skip invalid candidates
(recorded, never a halt); reconcile with the venue in live runs; hand the slots to the strategy through the
cache (`contracts.restore.RestoreHandover`); never raise out of on_start and never crash-loop (restart breaker).

The decisions are plain code in `dolphin_nautilus.restore` (plan, reading, outcome); this module is the Nautilus side.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.identifiers import InstrumentId

from dolphin_nautilus.contracts.restore import (
    RESTORE_HANDOVER_CACHE_KEY,
    RESTORE_REPORT_JSON_CACHE_KEY,
    RESTORE_REPORT_TEXT_CACHE_KEY,
    VENUE_RECONCILED_TOPIC,
    RestoreHandover,
    VenueReconciled,
    encode_handover,
)
from dolphin_nautilus.contracts.venue import VENUE_POSITIONS_VERDICT_CACHE_KEY, decode_venue_verdict
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.journal.schema import database_name
from dolphin_nautilus.resources import resources_for, spec_of_instrument
from dolphin_nautilus.restore.breaker import BreakerVerdict, RestartBreaker
from dolphin_nautilus.restore.candidates import SourceBatch
from dolphin_nautilus.restore.fills import FillReader, attach_fills, store_fill_reader
from dolphin_nautilus.restore.outcome import (
    REPORT_JSON,
    REPORT_TEXT,
    VENUE_RETRY_TIMER,
    ZERO,
    RestorePlan,
    VenueAnswer,
    VenuePositions,
    VenueUnavailable,
    fallback_plan,
)
from dolphin_nautilus.restore.plan import decide_plan
from dolphin_nautilus.restore.reading import (
    LegacyReader,
    RestoreTimeout,
    read_sources,
    run_bounded,
    store_legacy_reader,
)
from dolphin_nautilus.restore.report import UNCLAIMED_ADOPTED, UNCLAIMED_CODES, restore_anomaly
from dolphin_nautilus.restore.venue_reconcile import external_slot, refuse_unclaimed

_JSON_LOG = logging.getLogger("dolphin.restore")  # routed to dolphin-node.jsonl by the launcher's logging set-up


def cache_venue_positions(cache: Any, instrument_ids: list[str]) -> VenuePositions:
    """The live `VenuePositions`: the open positions in the Nautilus cache, vouched for by the exec client's
    `VenuePositionsVerdict` (no verdict, or a failed one, is VenueUnavailable: never flat)."""
    ids = {iid: InstrumentId.from_str(iid) for iid in instrument_ids}

    def read() -> dict[str, tuple[Decimal, Decimal]]:
        raw = cache.get(VENUE_POSITIONS_VERDICT_CACHE_KEY)
        if raw is None:
            raise VenueUnavailable("the execution client has not reported a venue position query yet")
        verdict = decode_venue_verdict(bytes(raw))
        if not verdict.ok:
            raise VenueUnavailable(f"last venue position query failed: {verdict.reason or 'unknown'}")
        result = {}
        for iid, instrument_id in ids.items():
            positions = cache.positions_open(instrument_id=instrument_id)
            signed = sum((p.signed_decimal_qty() for p in positions), Decimal(0))
            if signed != 0:
                weights = sum((abs(p.signed_decimal_qty()) for p in positions), Decimal(0))
                avg = (
                    sum((abs(p.signed_decimal_qty()) * Decimal(repr(p.avg_px_open)) for p in positions), Decimal(0))
                    / weights
                )
                result[iid] = (signed, avg)
        return result

    return read


class RestoreActorConfig(ActorConfig, frozen=True):
    namespace: str
    instrument_ids: list[str]
    max_bars_held: int = 250
    timeout_s: float = 10.0
    restart_window_s: float = 300.0
    restart_max: int = 3
    unclaimed_venue_position: str = "adopt"  # adopt | flatten | refuse (safe mode, the operator decides)
    legacy_database: str = ""  # "" = no legacy table
    legacy_table: str = "position_state"
    capital_ledger_path: str = ""  # a legacy capital ledger file (dict or list of entries), optional
    state_dir: str = ""  # restore_report.txt/.json and restarts.json go here ("" = not written)
    venue_retry_s: float = 5.0
    venue_truth: str = "none"  # none (backtest: the strategy seeds restored positions) | cache (live venue)


class RestoreActor(Actor):
    """Rebuilds the open slots on start and hands them to the strategy through the cache.

    Takes only its config (importable): the stores come from the node's registered resources (by namespace),
    the instrument specs from the Nautilus cache. `venue_truth`: "none" (backtest: no venue truth, the strategy
    seeds restored positions) or "cache" (live: the Nautilus cache after startup reconciliation, vouched for by
    the exec client). on_start never raises: any failure ends in the fallback plan (flat, safe mode, CRITICAL
    anomaly).
    """

    def __init__(self, config: RestoreActorConfig) -> None:
        super().__init__(config)
        self._stores: Any = None
        self._specs: dict[str, InstrumentSpec] = {}
        self._venue: VenuePositions | None = None
        self._legacy_reader: LegacyReader | None = None
        self._fill_reader: FillReader | None = None
        self._wall_clock_ns: Callable[[], int] = time.time_ns
        self.plan: RestorePlan | None = None
        self.breaker: BreakerVerdict | None = None
        self.venue_retries = 0

    # ------------------------------------------------------------------------------------------ start
    def on_start(self) -> None:
        try:
            self._wire()
            self.plan = self._restore()
        except Exception as exc:  # noqa: BLE001 - an exception here would leave the trader STARTING
            self.plan = fallback_plan(
                f"restore actor error: {exc!r}",
                "RESTORE_INTERNAL_ERROR",
                namespace=self.config.namespace,
                now_ns=self.clock.timestamp_ns(),
            )
        try:
            self._apply(self.plan)
        except Exception as exc:  # noqa: BLE001
            self.log.error(f"RESTORE could not hand over its plan: {exc!r}; starting flat in safe mode")
            self.cache.add(
                RESTORE_HANDOVER_CACHE_KEY,
                encode_handover(RestoreHandover(slots=[], safe_mode=f"restore hand-over failed: {exc!r}", flatten=[])),
            )

    def _wire(self) -> None:
        cfg = self.config
        self._stores = resources_for(cfg.namespace).stores
        instruments = {iid: self.cache.instrument(InstrumentId.from_str(iid)) for iid in cfg.instrument_ids}
        self._specs = {iid: spec_of_instrument(i) for iid, i in instruments.items() if i is not None}
        self._fill_reader = store_fill_reader(self._stores.clickhouse, database_name(cfg.namespace))
        if cfg.legacy_database:
            self._legacy_reader = store_legacy_reader(self._stores, cfg.legacy_database, cfg.legacy_table)
        if cfg.venue_truth == "cache":
            self._venue = cache_venue_positions(self.cache, list(cfg.instrument_ids))

    def on_stop(self) -> None:
        if VENUE_RETRY_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(VENUE_RETRY_TIMER)

    def _restore(self) -> RestorePlan:
        cfg = self.config
        now = self.clock.timestamp_ns()
        try:
            verdict, batches = run_bounded(self._read, cfg.timeout_s)
        except RestoreTimeout as exc:
            return fallback_plan(str(exc), "RESTORE_TIMEOUT", namespace=cfg.namespace, now_ns=now)
        self.breaker = verdict
        plan = decide_plan(
            batches,
            self._ask_venue(),  # asked before deciding: a side-less candidate takes the venue's side
            namespace=cfg.namespace,
            specs=self._specs,
            max_bars_held=cfg.max_bars_held,
            unclaimed=cfg.unclaimed_venue_position,
            now_ns=now,
        )
        self._attach_fills(plan, now)
        plan.notes += list(verdict.warnings)
        if verdict.tripped:
            plan.safe_mode.append(verdict.reason)
            plan.anomalies.append(
                restore_anomaly(
                    now,
                    "RESTART_LOOP",
                    "CRITICAL",
                    cfg.namespace,
                    f"{verdict.reason}: starting in safe mode (exits only)",
                    starts=verdict.starts_in_window,
                )
            )
        if plan.venue.startswith("unavailable"):
            self.clock.set_timer(VENUE_RETRY_TIMER, dt.timedelta(seconds=cfg.venue_retry_s), callback=self._retry_venue)
        return plan

    def _attach_fills(self, plan: RestorePlan, now: int) -> None:
        """Each restored trade's persisted fills, so its ledger continues exactly (bounded like the sources)."""
        reader = self._fill_reader
        if reader is None or not plan.slots:
            return
        timeout = self.config.timeout_s
        plan.slots, found = attach_fills(
            plan.slots,
            lambda ids: run_bounded(lambda: reader(ids), timeout),
            namespace=self.config.namespace,
            now_ns=now,
        )
        plan.anomalies += found

    def _read(self) -> tuple[BreakerVerdict, list[SourceBatch]]:
        cfg = self.config
        state_dir = Path(cfg.state_dir) if cfg.state_dir else None
        breaker = RestartBreaker(
            window_s=cfg.restart_window_s,
            max_starts=cfg.restart_max,
            live_state=self._stores.live_state,
            state_dir=state_dir,
            clock_ns=self._wall_clock_ns,
        )
        verdict = breaker.record_start()
        batches = read_sources(
            self._stores, legacy_reader=self._legacy_reader, capital_ledger_path=cfg.capital_ledger_path
        )
        return verdict, batches

    def _ask_venue(self) -> VenueAnswer:
        if self._venue is None:
            return None
        try:
            return dict(self._venue())
        except Exception as exc:  # noqa: BLE001 - VenueUnavailable, or any failure to ask: not flat
            return f"{type(exc).__name__}: {exc}"

    # ------------------------------------------------------------------------------------------ hand-over
    def _apply(self, plan: RestorePlan) -> None:
        for fact in [*plan.anomalies, *plan.tombstones]:
            try:
                self._stores.journal.append(fact)
            except Exception as exc:  # noqa: BLE001 - the report still says it; the start goes on
                self.log.error(f"RESTORE could not journal {fact.table} {getattr(fact, 'code', '')}: {exc!r}")
        self.cache.add(
            RESTORE_HANDOVER_CACHE_KEY,
            encode_handover(
                RestoreHandover(
                    slots=plan.book_slots(), safe_mode="; ".join(plan.safe_mode), flatten=list(plan.flatten)
                )
            ),
        )
        self._publish_report(plan)
        for fact in plan.anomalies:  # each with its code in the node's JSON log (the `dolphin` logger)
            _JSON_LOG.log(
                logging.getLevelName(fact.severity),
                fact.message,
                extra={
                    "event": "restore_fault",
                    "code": fact.code,
                    "instrument_id": fact.instrument_id,
                    "trade_id": fact.trade_id,
                },
            )
            if fact.code in UNCLAIMED_CODES:
                self.log.warning(f"[{fact.code}] {fact.message}")
        for rejection in plan.decision.rejections:
            self.log.warning(
                f"RESTORE rejected [{rejection.kind}] {rejection.source} "
                f"trade={rejection.trade_id or '?'}: {rejection.reason}"
            )
        summary = (
            f"RESTORE {plan.decision.status}: {len(plan.slots)} slot(s), "
            f"{len(plan.decision.rejections)} rejection(s), {len(plan.tombstones)} tombstone(s), "
            f"venue {plan.venue}"
        )
        if plan.safe_mode:
            self.log.error(f"{summary}; SAFE MODE: {'; '.join(plan.safe_mode)}")
        else:
            self.log.info(summary)

    def _publish_report(self, plan: RestorePlan) -> None:
        text, data = plan.report_text(), plan.report_json()
        self.cache.add(RESTORE_REPORT_TEXT_CACHE_KEY, text.encode())
        self.cache.add(RESTORE_REPORT_JSON_CACHE_KEY, data.encode())
        if self.config.state_dir:
            try:
                directory = Path(self.config.state_dir)
                directory.mkdir(parents=True, exist_ok=True)
                (directory / REPORT_TEXT).write_text(text + "\n")
                (directory / REPORT_JSON).write_text(data + "\n")
            except OSError as exc:
                self.log.error(f"RESTORE report not written to {self.config.state_dir}: {exc!r}")

    # ------------------------------------------------------------------------------------------ venue retry
    def _retry_venue(self, event: Any = None) -> None:
        """Timer: ask the venue again; once it answers, reconcile the running strategy and leave safe mode."""
        self.venue_retries += 1
        answer = self._ask_venue()
        if isinstance(answer, str) or answer is None or self.plan is None:
            return
        self.clock.cancel_timer(VENUE_RETRY_TIMER)
        now = self.clock.timestamp_ns()
        plan = self.plan
        held = {s.instrument_id: s.trade_id for s in plan.slots}
        unclaimed = {
            iid: (q, px) for iid, (q, px) in sorted(answer.items()) if q != 0 and iid not in held and iid in self._specs
        }
        refusing = self.config.unclaimed_venue_position == "refuse"
        adopt = [] if refusing else [external_slot(iid, q, px, now) for iid, (q, px) in unclaimed.items()]
        plan.safe_mode = [r for r in plan.safe_mode if not r.startswith("venue positions unknown")]
        unclaimed_facts: list = []
        if refusing:
            plan.safe_mode += [
                refuse_unclaimed(unclaimed_facts, iid, q, px, self.config.namespace, now)
                for iid, (q, px) in unclaimed.items()
            ]
        unclaimed_facts += [
            restore_anomaly(
                now,
                UNCLAIMED_ADOPTED,
                "WARNING",
                self.config.namespace,
                f"venue holds {s.quantity} {s.instrument_id} that no trade owns: adopted as external slot {s.trade_id}",
                s.trade_id,
                s.instrument_id,
            )
            for s in adopt
        ]
        message = VenueReconciled(
            positions={
                iid: (str(answer.get(iid, (ZERO, ZERO))[0]), str(answer.get(iid, (ZERO, ZERO))[1]))
                for iid in self.config.instrument_ids
            },
            adopt=list(adopt),
            flatten=[s.instrument_id for s in adopt] if self.config.unclaimed_venue_position == "flatten" else [],
            safe_mode="; ".join(plan.safe_mode),
        )
        plan.venue = f"reconciled after {self.venue_retries} retr{'y' if self.venue_retries == 1 else 'ies'}"
        plan.slots = [s for s in plan.slots if answer.get(s.instrument_id, (ZERO, ZERO))[0] != 0] + adopt
        plan.flatten = message.flatten
        plan.anomalies = [
            restore_anomaly(
                now,
                "RESTORE_VENUE_RECONCILED",
                "WARNING",
                self.config.namespace,
                f"venue answered after {self.venue_retries} retr"
                f"{'y' if self.venue_retries == 1 else 'ies'}; reconciled "
                f"{len(held)} restored slot(s), {len(unclaimed)} unclaimed position(s)",
            ),
            *unclaimed_facts,
        ]
        plan.tombstones = []  # the book closes slots the venue shows flat (a CLOSED row, reason RECONCILE)
        self._apply(plan)
        self.msgbus.publish(VENUE_RECONCILED_TOPIC, message)
