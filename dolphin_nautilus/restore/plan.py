"""The restore plan (docs/design.md §5), plain code without Nautilus: what the restore actor
(`dolphin_nautilus.actors.restore`) reads, decides and hands over.

`read_sources` (I/O, bounded by the actor's timeout with `run_bounded`), `decide_with_dust`, `build_plan`
(venue rules, tombstones, anomalies), `fallback_plan` (the defined safe outcome when restore cannot finish).
Venue truth comes in as a `VenueAnswer`: positions, a reason the venue could not be asked, or None (no venue).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from dolphin_nautilus.domain.facts import Anomaly, PositionState, canonical_json
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.restore.candidates import (
    OPEN,
    Candidate,
    SourceBatch,
    parse_capital_ledger,
    parse_live_entries,
    parse_position_state_rows,
)
from dolphin_nautilus.restore.decide import (
    RestoreDecision,
    RestoredSlot,
    RestoreStatus,
    within_source_key,
)
from dolphin_nautilus.restore.legacy import read_legacy_position_state
from dolphin_nautilus.restore.report import (
    ORIGIN,
    UNCLAIMED_ADOPTED,
    UNCLAIMED_CODES,
    UNCLAIMED_REFUSED,
    decision_to_json,
    render_report,
    to_anomalies,
)

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

VenueAnswer = Mapping[str, tuple[Decimal, Decimal]] | str | None  # positions | "why unavailable" | no venue
# The live venue truth: {instrument_id: (signed_qty, avg_px)} for the configured instruments (left out = flat),
# or `VenueUnavailable` when the venue could not be asked. It must not block.
VenuePositions = Callable[[], dict[str, tuple[Decimal, Decimal]]]


class VenueUnavailable(Exception):
    """The venue's positions are unknown (query failed, timed out, or never reported): NOT flat."""


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

    def book_slots(self) -> list[RestoredSlot]:
        return list(self.slots)

    def report_text(self) -> str:
        unclaimed = [a for a in self.anomalies if a.code in UNCLAIMED_CODES]
        lines = [
            render_report(self.decision, unclaimed),
            f"Venue: {self.venue}",
            f"Safe mode: {'; '.join(self.safe_mode) if self.safe_mode else 'off'}",
        ]
        lines.append("Handed to the strategy:" if self.slots else "Handed to the strategy: nothing (flat)")
        lines += [
            f"  {s.trade_id} {s.instrument_id} {s.side} qty={s.quantity} from {s.source}"
            + ("  [FLATTEN]" if s.instrument_id in self.flatten else "")
            for s in self.slots
        ]
        if self.tombstones:
            lines.append("Tombstoned (a store still showed them OPEN):")
            lines += [f"  {t.trade_id} {t.instrument_id} seq={t.seq}" for t in self.tombstones]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def report_json(self) -> str:
        return canonical_json(
            {
                "decision": json.loads(decision_to_json(self.decision)),
                "slots": msgspec.to_builtins(self.slots),
                "flatten": self.flatten,
                "tombstoned": [t.trade_id for t in self.tombstones],
                "safe_mode": self.safe_mode,
                "venue": self.venue,
                "notes": self.notes,
                "anomalies": [
                    {"code": a.code, "severity": a.severity, "trade_id": a.trade_id, "message": a.message}
                    for a in self.anomalies
                ],
            }
        )


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
        batches.append(parse_position_state_rows([exact_ts(r) for r in rows], CLICKHOUSE_SOURCE))
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
    read, problem = _call(stores.live_state.read_entries)  # decoded entry by entry: one bad value is one rejection
    if problem is not None:
        return SourceBatch(name=LIVE_SOURCE, unreachable=problem)
    return parse_live_entries(
        {k: v for k, v in read.entries.items() if k not in NON_SLOT_LIVE_KEYS},
        LIVE_SOURCE,
        malformed=[m for m in read.malformed if m.key not in NON_SLOT_LIVE_KEYS],
    )


def exact_ts(row: Mapping[str, Any]) -> dict[str, Any]:
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
    """Apply the venue rules (docs/design.md §5.5) and list the tombstones and anomalies."""
    plan = RestorePlan(
        decision=decision,
        slots=list(decision.slots),
        flatten=[],
        tombstones=[],
        anomalies=[],
        safe_mode=[],
        venue="none (no venue truth: backtest seeds the simulated venue)",
        notes=[],
    )
    gone: dict[str, str] = {}  # trade id -> why it is gone
    if isinstance(venue, str):
        plan.venue = f"unavailable: {venue}"
        plan.safe_mode.append(f"venue positions unknown ({venue}); exits only until the venue answers")
        plan.anomalies.append(
            _anomaly(
                now_ns,
                "VENUE_UNAVAILABLE",
                "ERROR",
                namespace,
                f"venue positions unknown, not treated as flat: {venue}; kept "
                f"{len(plan.slots)} restored slot(s), safe mode until it answers",
            )
        )
    elif venue is not None:
        plan.venue = "reconciled"
        reconcile(plan, venue, gone, namespace=namespace, specs=specs, unclaimed=unclaimed, now_ns=now_ns)
    if decision.internal_error is None:
        _tombstone_gone(plan, batches, gone, namespace, now_ns)
    plan.anomalies[:0] = to_anomalies(decision, namespace, now_ns)
    return plan


def reconcile(
    plan: RestorePlan,
    positions: Mapping[str, tuple[Decimal, Decimal]],
    gone: dict[str, str],
    *,
    namespace: str,
    specs: Mapping[str, InstrumentSpec],
    unclaimed: str,
    now_ns: int,
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
            plan.anomalies.append(
                _anomaly(
                    now_ns,
                    "RESTORE_VENUE_QUANTITY",
                    "WARNING",
                    namespace,
                    f"{slot.trade_id}: quantity {slot.quantity} -> venue {abs(qty)}",
                    slot.trade_id,
                    slot.instrument_id,
                )
            )
            slot = msgspec.structs.replace(slot, quantity=abs(qty), notional=abs(qty) * slot.entry_price)
        kept.append(slot)
    claimed = {s.instrument_id for s in kept}
    for iid, (qty, avg_px) in sorted(positions.items()):
        if qty == 0 or iid in claimed:
            continue
        if iid not in specs:
            plan.anomalies.append(
                _anomaly(
                    now_ns,
                    "RESTORE_VENUE_UNKNOWN_INSTRUMENT",
                    "ERROR",
                    namespace,
                    f"venue holds {qty} {iid}, not a configured instrument",
                    "",
                    iid,
                )
            )
            continue
        if unclaimed == "refuse":
            plan.safe_mode.append(refuse_unclaimed(plan.anomalies, iid, qty, avg_px, namespace, now_ns))
            continue
        kept.append(external_slot(iid, qty, avg_px, now_ns))
        if unclaimed == "flatten":
            plan.flatten.append(iid)
        plan.anomalies.append(
            _anomaly(
                now_ns,
                UNCLAIMED_ADOPTED,
                "WARNING",
                namespace,
                f"venue holds {qty} {iid} @ {avg_px} that no trade owns: "
                f"{'adopted as an external slot' if unclaimed == 'adopt' else 'flattening'}",
                kept[-1].trade_id,
                iid,
            )
        )
    plan.slots = kept


def refuse_unclaimed(
    anomalies: list[Anomaly], iid: str, qty: Decimal, avg_px: Decimal, namespace: str, now_ns: int
) -> str:
    """restore.unclaimed_venue_position = "refuse": leave the position alone, say so, and return the safe-mode
    reason (entries stay blocked until the operator flattens it or allows adoption)."""
    reason = (
        f"venue holds {qty} {iid} @ {avg_px} that no trade owns; adoption refused by config "
        f"(restore.unclaimed_venue_position = refuse): flatten it (dolphin-ctl flatten) or allow adopt"
    )
    anomalies.append(_anomaly(now_ns, UNCLAIMED_REFUSED, "ERROR", namespace, reason, "", iid))
    return reason


def external_slot(iid: str, signed_qty: Decimal, avg_px: Decimal, now_ns: int) -> RestoredSlot:
    """A slot for a venue position no trade owns: a new trade id, side/size/price from the venue."""
    trade_id = "x" + hashlib.blake2b(f"{iid}|{now_ns}".encode(), digest_size=5).hexdigest()
    qty = abs(signed_qty)
    return RestoredSlot(
        trade_id=trade_id,
        instrument_id=iid,
        side="LONG" if signed_qty > 0 else "SHORT",
        quantity=qty,
        entry_price=avg_px,
        bars_held=0,
        realized_pnl=ZERO,
        fees=ZERO,
        legs=0,
        opened_ts=now_ns,
        order_seq=0,
        notional=qty * avg_px,
        source=VENUE_SOURCE,
        seq=None,
        ts=now_ns,
    )


def _tombstone_gone(
    plan: RestorePlan, batches: list[SourceBatch], gone: dict[str, str], namespace: str, now_ns: int
) -> None:
    """A TOMBSTONED row for every trade not restored whose latest record in some source is still OPEN."""
    restored = {s.trade_id for s in plan.slots}
    by_trade: dict[str, list[Candidate]] = {}
    for batch in batches:
        for c in batch.candidates:
            by_trade.setdefault(c.trade_id, []).append(c)
    reasons = {r.trade_id: f"{r.kind}: {r.reason}" for r in plan.decision.rejections if r.trade_id}
    for trade_id, records in sorted(by_trade.items()):
        if trade_id in restored or not latest_open_somewhere(records):
            continue
        why = gone.get(trade_id) or reasons.get(trade_id) or "superseded"
        tomb = tombstone_for(records, now_ns)
        plan.tombstones.append(tomb)
        plan.anomalies.append(
            _anomaly(
                now_ns,
                "RESTORE_TOMBSTONED",
                "WARNING",
                namespace,
                f"{trade_id} tombstoned: {why}",
                trade_id,
                tomb.instrument_id,
            )
        )


def latest_open_somewhere(records: list[Candidate]) -> bool:
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
        ts=ts,
        origin=origin,
        trade_id=latest.trade_id,
        instrument_id=latest.instrument_id,
        side=latest.side,
        status="TOMBSTONED",
        quantity=ZERO,
        notional=ZERO,
        entry_price=finite(latest.entry_price),
        bars_held=max(latest.bars_held or 0, 0),
        realized_pnl=finite(latest.realized_pnl),
        fees=finite(latest.fees),
        legs=max(latest.legs or 0, 0),
        seq=seq,
        opened_ts=opened or 0,
        order_seq=max((c.order_seq for c in records if c.order_seq is not None), default=0),
    )


def _anomaly(
    ts: int,
    code: str,
    severity: str,
    namespace: str,
    message: str,
    trade_id: str = "",
    instrument_id: str = "",
    **details: object,
) -> Anomaly:
    return Anomaly(
        ts=ts,
        origin=ORIGIN,
        code=code,
        severity=severity,
        trade_id=trade_id,
        instrument_id=instrument_id,
        message=message,
        details=canonical_json({"namespace": namespace, **details}),
    )


def fallback_plan(reason: str, code: str, *, namespace: str, now_ns: int) -> RestorePlan:
    """The defined safe outcome when restore cannot finish: flat, safe mode, a CRITICAL anomaly."""
    decision = RestoreDecision(
        status=RestoreStatus.DEGRADED,
        slots=(),
        rejections=(),
        disagreements=(),
        capital=None,
        sources_used=(),
        sources_read=(),
        unreachable=(),
        warnings=(),
        closed_trades=0,
        decided_ts=now_ns,
        internal_error=reason,
    )
    return RestorePlan(
        decision=decision,
        slots=[],
        flatten=[],
        tombstones=[],
        safe_mode=[f"restore failed: {reason}"],
        anomalies=[_anomaly(now_ns, code, "CRITICAL", namespace, f"{reason}; started flat in safe mode")],
        venue="not asked",
        notes=[],
    )


class RestoreTimeout(Exception):
    """Reading the restore sources did not finish within the actor's timeout."""


def run_bounded(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Run `fn` on a daemon thread; its result, its exception re-raised, or `RestoreTimeout`. A hung store call
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
        raise RestoreTimeout(f"restore did not finish within timeout_s={timeout_s}")
    if "error" in box:
        raise box["error"]
    return box["result"]
