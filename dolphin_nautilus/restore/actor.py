"""The RestoreActor (DESIGN.md §5): on start, rebuild the open slots from the live state, ClickHouse
`position_state` (ours, and a legacy table when configured) and the capital ledger; skip invalid candidates
(recorded, never a halt); reconcile with the venue in live runs; hand the slots to the strategy via the
cache; never raise out of on_start and never crash-loop (restart breaker).

The first half is plain code (no Nautilus): `read_sources` (I/O, bounded by the actor's timeout),
`decide_with_dust`, `build_plan` (venue rules, tombstones, anomalies). The second half is the actor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from dolphin_nautilus.domain.facts import Anomaly, PositionState, canonical_json
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.domain.policy import is_effectively_zero
from dolphin_nautilus.domain.slots import RestoredSlot as BookSlot
from dolphin_nautilus.restore.candidates import (
    OPEN,
    Candidate,
    Rejection,
    SourceBatch,
    excerpt,
    parse_capital_ledger,
    parse_live_entries,
    parse_position_state_rows,
)
from dolphin_nautilus.restore.decide import (
    RestoreDecision,
    RestoredSlot,
    RestoreStatus,
    decide,
    within_source_key,
)
from dolphin_nautilus.restore.breaker import BreakerVerdict, RestartBreaker
from dolphin_nautilus.restore.legacy import read_legacy_position_state
from dolphin_nautilus.restore.report import ORIGIN, decision_to_json, render_report, to_anomalies
from dolphin_nautilus.restore.venue import (
    RESTORE_FLATTEN_CACHE_KEY,
    RESTORE_REPORT_CACHE_KEY,
    RESTORE_REPORT_JSON_CACHE_KEY,
    VENUE_RECONCILED_TOPIC,
    VenuePositions,
    VenueReconciled,
    cache_venue_positions,
)
from dolphin_nautilus.strategy.strategy import RESTORE_CACHE_KEY, SAFE_MODE_CACHE_KEY

LIVE_SOURCE = "live_state"
CLICKHOUSE_SOURCE = "clickhouse"
LEDGER_SOURCE = "capital_ledger"
VENUE_SOURCE = "venue"
# Live-state keys that are not slots. `account` is kept: parse_live_entries reads it as the capital ledger.
NON_SLOT_LIVE_KEYS = frozenset({"heartbeat", "restarts"})
ZERO = Decimal(0)
VENUE_RETRY_TIMER = "restore-venue-retry"
REPORT_TEXT = "restore_report.txt"
REPORT_JSON = "restore_report.json"
LEGACY_LEDGER_FILE = "capital_update_ledger.json"

VenueAnswer = Mapping[str, tuple[Decimal, Decimal]] | str | None  # positions | "why unavailable" | no venue


class RestorePlan(msgspec.Struct, kw_only=True):
    """What the actor hands the strategy and writes to the stores."""

    decision: RestoreDecision
    slots: list[RestoredSlot]  # to restore into the book (after dust and venue rules)
    flatten: list[str]  # instrument ids whose (adopted) slot must be exited at once
    tombstones: list[PositionState]
    anomalies: list[Anomaly]
    safe_mode: list[str]  # reasons; empty: entries allowed
    venue: str  # "none (backtest: seeds)", "reconciled", or "unavailable: ..."
    notes: list[str]

    def book_slots(self) -> list[BookSlot]:
        return [BookSlot(**s.slot_fields(), seq=s.seq or 0) for s in self.slots]

    def report_text(self) -> str:
        lines = [render_report(self.decision), f"Venue: {self.venue}",
                 f"Safe mode: {'; '.join(self.safe_mode) if self.safe_mode else 'off'}"]
        lines.append("Handed to the strategy:" if self.slots else "Handed to the strategy: nothing (flat)")
        lines += [f"  {s.trade_id} {s.instrument_id} {s.side} qty={s.quantity} from {s.source}"
                  + ("  [FLATTEN]" if s.instrument_id in self.flatten else "") for s in self.slots]
        if self.tombstones:
            lines.append("Tombstoned (a store still showed them OPEN):")
            lines += [f"  {t.trade_id} {t.instrument_id} seq={t.seq}" for t in self.tombstones]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def report_json(self) -> str:
        return canonical_json({
            "decision": json.loads(decision_to_json(self.decision)),
            "slots": msgspec.to_builtins(self.slots), "flatten": self.flatten,
            "tombstoned": [t.trade_id for t in self.tombstones], "safe_mode": self.safe_mode,
            "venue": self.venue, "notes": self.notes,
            "anomalies": [{"code": a.code, "severity": a.severity, "trade_id": a.trade_id, "message": a.message}
                          for a in self.anomalies],
        })


# ---------------------------------------------------------------------------------------------- reading

LegacyReader = Callable[[set[str]], SourceBatch]


def read_sources(
    stores: Any, *, legacy_reader: LegacyReader | None = None, capital_ledger_path: str = ""
) -> list[SourceBatch]:
    """The restore sources in preference order. Cost grows with open slots, not with history."""
    live = _read_live(stores)
    live_ids = {c.trade_id for c in live.candidates}
    open_rows, problem = _call(stores.clickhouse.open_position_states)
    open_ids = {str(r.get("trade_id")) for r in open_rows or ()}
    batches = [live]
    legacy = legacy_reader(live_ids | open_ids) if legacy_reader is not None else None
    legacy_ids = {c.trade_id for c in legacy.candidates} if legacy is not None else set()
    if problem is None:
        # Our rows for trades other sources hold open: a CLOSED here supersedes a stale OPEN there.
        extra = sorted((live_ids | legacy_ids) - open_ids)
        latest, problem = _call(lambda: stores.clickhouse.latest_position_states(trade_ids=extra))
        rows = [*open_rows, *(latest or ())]
    if problem is not None:
        batches.append(SourceBatch(name=CLICKHOUSE_SOURCE, unreachable=problem))
    else:
        batches.append(parse_position_state_rows([_exact_ts(r) for r in rows], CLICKHOUSE_SOURCE))
    if legacy is not None:
        batches.append(legacy)
    if capital_ledger_path:
        batches.append(_read_ledger_file(Path(capital_ledger_path)))
    return batches


def _call(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001 - an unreachable store is a recorded source state
        return None, f"{type(exc).__name__}: {exc}"


def _read_live(stores: Any) -> SourceBatch:
    entries, problem = _call(stores.live_state.entries)
    if problem is not None:
        return SourceBatch(name=LIVE_SOURCE, unreachable=problem)
    return parse_live_entries({k: v for k, v in entries.items() if k not in NON_SLOT_LIVE_KEYS}, LIVE_SOURCE)


def _exact_ts(row: Mapping[str, Any]) -> dict[str, Any]:
    """The store gives exact ns beside the DateTime64 columns (datetimes stop at microseconds)."""
    row = dict(row)
    for name in ("ts", "opened_ts"):
        exact = row.pop(f"{name}_ns", None)
        if exact is not None:
            row[name] = exact
    return row


def _read_ledger_file(path: Path) -> SourceBatch:
    if not path.exists():
        return SourceBatch(name=LEDGER_SOURCE, unreachable=f"{path} does not exist")
    try:
        return parse_capital_ledger(path.read_text(), LEDGER_SOURCE)
    except OSError as exc:
        return SourceBatch(name=LEDGER_SOURCE, unreachable=f"{path}: {exc}")


def store_legacy_reader(stores: Any, database: str, table: str) -> LegacyReader:
    """Legacy rows through the store surface: `stores.clickhouse.query` runs the reader's SELECTs in-process
    or in the store service alike (never raises: a failure is an unreachable source)."""

    def read(open_ids: set[str]) -> SourceBatch:
        return read_legacy_position_state(stores.clickhouse, database, table, closed_for_trade_ids=sorted(open_ids))

    return read


# ---------------------------------------------------------------------------------------------- deciding


def decide_with_dust(
    batches: list[SourceBatch], specs: Mapping[str, InstrumentSpec], max_bars_held: int, now_ns: int
) -> RestoreDecision:
    """decide(), then reject slots whose size is dust at the venue's precision and minimums (§3.1)."""
    decision = decide(batches, specs.keys(), max_bars_held, now_ns)
    kept, dust = [], []
    for slot in decision.slots:
        if is_effectively_zero(specs[slot.instrument_id], slot.quantity, slot.entry_price):
            spec = specs[slot.instrument_id]
            dust.append(Rejection(
                source=slot.source, trade_id=slot.trade_id, instrument_id=slot.instrument_id, kind="dust",
                reason=(f"quantity {slot.quantity} at {slot.entry_price} is effectively zero (size step "
                        f"{spec.size_increment}, min qty {spec.min_quantity}, min notional {spec.min_notional})"),
                raw_excerpt=excerpt(msgspec.to_builtins(slot)),
            ))
        else:
            kept.append(slot)
    if not dust:
        return decision
    status = decision.status
    if status is RestoreStatus.RESTORED and not kept:
        status = RestoreStatus.FLAT
    return msgspec.structs.replace(decision, slots=tuple(kept), rejections=(*decision.rejections, *dust),
                                  status=status)


def build_plan(
    batches: list[SourceBatch],
    decision: RestoreDecision,
    venue: VenueAnswer,
    *,
    namespace: str,
    specs: Mapping[str, InstrumentSpec],
    unclaimed: str,
    now_ns: int,
) -> RestorePlan:
    """Apply the venue rules (§5.5) and list the tombstones and anomalies."""
    plan = RestorePlan(decision=decision, slots=list(decision.slots), flatten=[], tombstones=[], anomalies=[],
                       safe_mode=[], venue="none (no venue truth: backtest seeds the simulated venue)", notes=[])
    gone: dict[str, str] = {}  # trade id -> why it is gone
    if isinstance(venue, str):
        plan.venue = f"unavailable: {venue}"
        plan.safe_mode.append(f"venue positions unknown ({venue}); exits only until the venue answers")
        plan.anomalies.append(_anomaly(now_ns, "VENUE_UNAVAILABLE", "ERROR", namespace,
                                       f"venue positions unknown, not treated as flat: {venue}; kept "
                                       f"{len(plan.slots)} restored slot(s), safe mode until it answers"))
    elif venue is not None:
        plan.venue = "reconciled"
        reconcile(plan, venue, gone, namespace=namespace, specs=specs, unclaimed=unclaimed, now_ns=now_ns)
    if decision.internal_error is None:
        _tombstone_gone(plan, batches, gone, namespace, now_ns)
    plan.anomalies[:0] = to_anomalies(decision, namespace, now_ns)
    return plan


def reconcile(
    plan: RestorePlan, positions: Mapping[str, tuple[Decimal, Decimal]], gone: dict[str, str], *,
    namespace: str, specs: Mapping[str, InstrumentSpec], unclaimed: str, now_ns: int,
) -> None:
    kept: list[RestoredSlot] = []
    for slot in plan.slots:
        qty, _ = positions.get(slot.instrument_id, (ZERO, ZERO))
        same_side = (qty > 0) == (slot.side == "LONG")
        if qty == 0 or not same_side:
            why = "venue is flat" if qty == 0 else f"venue holds {qty}, opposite to our {slot.side}"
            gone[slot.trade_id] = why
            plan.notes.append(f"{slot.trade_id} {slot.instrument_id} dropped: {why}")
            continue
        if abs(qty) != slot.quantity:
            plan.anomalies.append(_anomaly(now_ns, "RESTORE_VENUE_QUANTITY", "WARNING", namespace,
                                           f"{slot.trade_id}: quantity {slot.quantity} -> venue {abs(qty)}",
                                           slot.trade_id, slot.instrument_id))
            slot = msgspec.structs.replace(slot, quantity=abs(qty), notional=abs(qty) * slot.entry_price)
        kept.append(slot)
    claimed = {s.instrument_id for s in kept}
    for iid, (qty, avg_px) in sorted(positions.items()):
        if qty == 0 or iid in claimed:
            continue
        if iid not in specs:
            plan.anomalies.append(_anomaly(now_ns, "RESTORE_VENUE_UNKNOWN_INSTRUMENT", "ERROR", namespace,
                                           f"venue holds {qty} {iid}, not a configured instrument", "", iid))
            continue
        kept.append(external_slot(iid, qty, avg_px, now_ns))
        if unclaimed == "flatten":
            plan.flatten.append(iid)
        plan.anomalies.append(_anomaly(now_ns, "RESTORE_VENUE_UNCLAIMED", "WARNING", namespace,
                                       f"venue holds {qty} {iid} @ {avg_px} that no trade owns: "
                                       f"{'adopted as an external slot' if unclaimed == 'adopt' else 'flattening'}",
                                       kept[-1].trade_id, iid))
    plan.slots = kept


def external_slot(iid: str, signed_qty: Decimal, avg_px: Decimal, now_ns: int) -> RestoredSlot:
    """A slot for a venue position no trade owns: a new trade id, side/size/price from the venue."""
    trade_id = "x" + hashlib.blake2b(f"{iid}|{now_ns}".encode(), digest_size=5).hexdigest()
    qty = abs(signed_qty)
    return RestoredSlot(
        trade_id=trade_id, instrument_id=iid, side="LONG" if signed_qty > 0 else "SHORT", quantity=qty,
        entry_price=avg_px, bars_held=0, realized_pnl=ZERO, fees=ZERO, legs=0, opened_ts=now_ns, order_seq=0,
        notional=qty * avg_px, source=VENUE_SOURCE, seq=None, ts=now_ns,
    )


def _tombstone_gone(plan: RestorePlan, batches: list[SourceBatch], gone: dict[str, str], namespace: str,
                    now_ns: int) -> None:
    """A TOMBSTONED row for every trade not restored whose latest record in some source is still OPEN."""
    restored = {s.trade_id for s in plan.slots}
    by_trade: dict[str, list[Candidate]] = {}
    for batch in batches:
        for c in batch.candidates:
            by_trade.setdefault(c.trade_id, []).append(c)
    reasons = {r.trade_id: f"{r.kind}: {r.reason}" for r in plan.decision.rejections if r.trade_id}
    for trade_id, records in sorted(by_trade.items()):
        if trade_id in restored or not _latest_open_somewhere(records):
            continue
        why = gone.get(trade_id) or reasons.get(trade_id) or "superseded"
        tomb = tombstone_for(records, now_ns)
        plan.tombstones.append(tomb)
        plan.anomalies.append(_anomaly(now_ns, "RESTORE_TOMBSTONED", "WARNING", namespace,
                                       f"{trade_id} tombstoned: {why}", trade_id, tomb.instrument_id))


def _latest_open_somewhere(records: list[Candidate]) -> bool:
    per_source: dict[str, Candidate] = {}
    for c in records:
        best = per_source.get(c.source)
        if best is None or within_source_key(c) > within_source_key(best):
            per_source[c.source] = c
    return any(c.status == OPEN for c in per_source.values())


def tombstone_for(records: list[Candidate], now_ns: int, origin: str = ORIGIN) -> PositionState:
    """A TOMBSTONED PositionState newer than every record of the trade (seq and ts), finite numbers only."""
    latest = max(records, key=within_source_key)
    seq = max((c.seq for c in records if c.seq is not None), default=0) + 1
    ts = max([now_ns, *((c.ts or 0) + 1 for c in records)])
    finite = lambda v: v if v.is_finite() else ZERO  # noqa: E731
    opened = next((c.opened_ts for c in records if c.opened_ts is not None), None)
    return PositionState(
        ts=ts, origin=origin, trade_id=latest.trade_id, instrument_id=latest.instrument_id,
        side=latest.side, status="TOMBSTONED", quantity=ZERO, notional=ZERO,
        entry_price=finite(latest.entry_price), bars_held=max(latest.bars_held or 0, 0),
        realized_pnl=finite(latest.realized_pnl), fees=finite(latest.fees), legs=max(latest.legs or 0, 0),
        seq=seq, opened_ts=opened or 0,
        order_seq=max((c.order_seq for c in records if c.order_seq is not None), default=0),
    )


def _anomaly(ts: int, code: str, severity: str, namespace: str, message: str, trade_id: str = "",
             instrument_id: str = "", **details: object) -> Anomaly:
    return Anomaly(ts=ts, origin=ORIGIN, code=code, severity=severity, trade_id=trade_id,
                   instrument_id=instrument_id, message=message,
                   details=canonical_json({"namespace": namespace, **details}))


def fallback_plan(reason: str, code: str, *, namespace: str, now_ns: int) -> RestorePlan:
    """The defined safe outcome when restore cannot finish: flat, safe mode, a CRITICAL anomaly."""
    decision = RestoreDecision(
        status=RestoreStatus.DEGRADED, slots=(), rejections=(), disagreements=(), capital=None, sources_used=(),
        sources_read=(), unreachable=(), warnings=(), closed_trades=0, decided_ts=now_ns, internal_error=reason,
    )
    return RestorePlan(
        decision=decision, slots=[], flatten=[], tombstones=[], safe_mode=[f"restore failed: {reason}"],
        anomalies=[_anomaly(now_ns, code, "CRITICAL", namespace, f"{reason}; started flat in safe mode")],
        venue="not asked", notes=[],
    )


# ================================================================================================ the actor


class RestoreActorConfig(ActorConfig, frozen=True):
    namespace: str
    instrument_ids: list[str]
    max_bars_held: int = 250
    timeout_s: float = 10.0
    restart_window_s: float = 300.0
    restart_max: int = 3
    unclaimed_venue_position: str = "adopt"  # adopt | flatten
    legacy_database: str = ""  # "" = no legacy table
    legacy_table: str = "position_state"
    capital_ledger_path: str = ""  # a legacy capital ledger file (dict or list of entries), optional
    state_dir: str = ""  # restore_report.txt/.json and restarts.json go here ("" = not written)
    venue_retry_s: float = 5.0

    @classmethod
    def from_config(cls, config: Any, state_dir: str | Path, **overrides: Any) -> RestoreActorConfig:
        r = config.restore
        values = dict(
            component_id="RestoreActor", namespace=config.node.namespace,
            instrument_ids=list(config.strategy.instruments), max_bars_held=config.strategy.max_hold_bars,
            timeout_s=r.timeout_s, restart_window_s=r.restart_window_s, restart_max=r.restart_max,
            unclaimed_venue_position=r.unclaimed_venue_position, legacy_database=r.legacy_database,
            legacy_table=r.legacy_table, state_dir=str(state_dir),
        )
        ledger = Path(state_dir) / LEGACY_LEDGER_FILE
        if ledger.exists():  # a legacy deployment's capital ledger, dropped into the state dir
            values["capital_ledger_path"] = str(ledger)
        values.update(overrides)
        return cls(**values)


class _Timeout(Exception):
    pass


def run_bounded(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Run `fn` on a daemon thread; its result, its exception re-raised, or `_Timeout`. A hung store call
    keeps its thread, but never the node (the thread is a daemon and its late result is discarded)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="restore-read", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise _Timeout(f"restore did not finish within timeout_s={timeout_s}")
    if "error" in box:
        raise box["error"]
    return box["result"]


class RestoreActor(Actor):
    """Rebuilds the open slots on start and hands them to the strategy through the cache.

    `venue_positions`: None (backtest: no venue truth, the strategy seeds restored positions), a
    `VenuePositions` callable, or "cache" for the live implementation reading the Nautilus cache.
    on_start never raises: any failure ends in the fallback plan (flat, safe mode, CRITICAL anomaly).
    """

    def __init__(
        self,
        config: RestoreActorConfig,
        stores: Any,
        specs: Mapping[str, InstrumentSpec],
        *,
        venue_positions: VenuePositions | str | None = None,
        legacy_reader: LegacyReader | None = None,
        wall_clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        super().__init__(config)
        self._stores = stores
        self._specs = {iid: specs[iid] for iid in config.instrument_ids if iid in specs}
        self._venue_arg = venue_positions
        self._venue: VenuePositions | None = None
        self._legacy_reader = legacy_reader
        if legacy_reader is None and config.legacy_database:
            self._legacy_reader = store_legacy_reader(stores, config.legacy_database, config.legacy_table)
        self._wall_clock_ns = wall_clock_ns
        self.plan: RestorePlan | None = None
        self.breaker: BreakerVerdict | None = None
        self.venue_retries = 0

    # ------------------------------------------------------------------------------------------ start
    def on_start(self) -> None:
        try:
            self.plan = self._restore()
        except Exception as exc:  # noqa: BLE001 - an exception here would leave the trader STARTING
            self.plan = fallback_plan(f"restore actor error: {exc!r}", "RESTORE_INTERNAL_ERROR",
                                      namespace=self.config.namespace, now_ns=self.clock.timestamp_ns())
        try:
            self._apply(self.plan)
        except Exception as exc:  # noqa: BLE001
            self.log.error(f"RESTORE could not hand over its plan: {exc!r}; starting flat in safe mode")
            self.cache.add(SAFE_MODE_CACHE_KEY, f"restore hand-over failed: {exc!r}".encode())
            self.cache.add(RESTORE_CACHE_KEY, b"[]")

    def on_stop(self) -> None:
        if VENUE_RETRY_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(VENUE_RETRY_TIMER)

    def _restore(self) -> RestorePlan:
        cfg = self.config
        now = self.clock.timestamp_ns()
        try:
            verdict, batches = run_bounded(self._read, cfg.timeout_s)
        except _Timeout as exc:
            return fallback_plan(str(exc), "RESTORE_TIMEOUT", namespace=cfg.namespace, now_ns=now)
        self.breaker = verdict
        decision = decide_with_dust(batches, self._specs, cfg.max_bars_held, now)
        plan = build_plan(batches, decision, self._ask_venue(), namespace=cfg.namespace, specs=self._specs,
                          unclaimed=cfg.unclaimed_venue_position, now_ns=now)
        plan.notes += list(verdict.warnings)
        if verdict.tripped:
            plan.safe_mode.append(verdict.reason)
            plan.anomalies.append(_anomaly(now, "RESTART_LOOP", "CRITICAL", cfg.namespace,
                                           f"{verdict.reason}: starting in safe mode (exits only)",
                                           starts=verdict.starts_in_window))
        if plan.venue.startswith("unavailable"):
            self.clock.set_timer(VENUE_RETRY_TIMER, dt.timedelta(seconds=cfg.venue_retry_s),
                                 callback=self._retry_venue)
        return plan

    def _read(self) -> tuple[BreakerVerdict, list[SourceBatch]]:
        cfg = self.config
        state_dir = Path(cfg.state_dir) if cfg.state_dir else None
        breaker = RestartBreaker(window_s=cfg.restart_window_s, max_starts=cfg.restart_max,
                                 live_state=self._stores.live_state, state_dir=state_dir,
                                 clock_ns=self._wall_clock_ns)
        verdict = breaker.record_start()
        batches = read_sources(self._stores, legacy_reader=self._legacy_reader,
                               capital_ledger_path=cfg.capital_ledger_path)
        return verdict, batches

    def _ask_venue(self) -> VenueAnswer:
        if self._venue_arg is None:
            return None
        if self._venue is None:
            self._venue = (cache_venue_positions(self.cache, self.config.instrument_ids)
                           if self._venue_arg == "cache" else self._venue_arg)
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
        self.cache.add(RESTORE_CACHE_KEY, msgspec.json.encode(plan.book_slots()))
        self.cache.add(SAFE_MODE_CACHE_KEY, "; ".join(plan.safe_mode).encode())
        self.cache.add(RESTORE_FLATTEN_CACHE_KEY, msgspec.json.encode(plan.flatten))
        self._publish_report(plan)
        for rejection in plan.decision.rejections:
            self.log.warning(f"RESTORE rejected [{rejection.kind}] {rejection.source} "
                             f"trade={rejection.trade_id or '?'}: {rejection.reason}")
        summary = (f"RESTORE {plan.decision.status}: {len(plan.slots)} slot(s), "
                   f"{len(plan.decision.rejections)} rejection(s), {len(plan.tombstones)} tombstone(s), "
                   f"venue {plan.venue}")
        if plan.safe_mode:
            self.log.error(f"{summary}; SAFE MODE: {'; '.join(plan.safe_mode)}")
        else:
            self.log.info(summary)

    def _publish_report(self, plan: RestorePlan) -> None:
        text, data = plan.report_text(), plan.report_json()
        self.cache.add(RESTORE_REPORT_CACHE_KEY, text.encode())
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
        adopt = [external_slot(iid, q, px, now) for iid, (q, px) in sorted(answer.items())
                 if q != 0 and iid not in held and iid in self._specs]
        plan.safe_mode = [r for r in plan.safe_mode if not r.startswith("venue positions unknown")]
        message = VenueReconciled(
            positions={iid: (str(answer.get(iid, (ZERO, ZERO))[0]), str(answer.get(iid, (ZERO, ZERO))[1]))
                       for iid in self.config.instrument_ids},
            adopt=[BookSlot(**s.slot_fields(), seq=0) for s in adopt],
            flatten=[s.instrument_id for s in adopt] if self.config.unclaimed_venue_position == "flatten" else [],
            safe_mode="; ".join(plan.safe_mode),
        )
        plan.venue = f"reconciled after {self.venue_retries} retr{'y' if self.venue_retries == 1 else 'ies'}"
        plan.slots = [s for s in plan.slots if answer.get(s.instrument_id, (ZERO, ZERO))[0] != 0] + adopt
        plan.flatten = message.flatten
        plan.anomalies = [_anomaly(now, "RESTORE_VENUE_RECONCILED", "WARNING", self.config.namespace,
                                   f"venue answered after {self.venue_retries} retr"
                                   f"{'y' if self.venue_retries == 1 else 'ies'}; reconciled "
                                   f"{len(held)} restored slot(s), {len(adopt)} unclaimed position(s)")]
        plan.tombstones = []  # the book closes slots the venue shows flat (a CLOSED row, reason RECONCILE)
        self._apply(plan)
        self.msgbus.publish(VENUE_RECONCILED_TOPIC, message)

