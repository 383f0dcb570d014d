"""The restore plan (docs/design.md §5), plain code without Nautilus: what the restore actor
(`dolphin_nautilus.actors.restore`) decides and hands over.

`reading.read_sources` (I/O, bounded by the actor's timeout with `run_bounded`), then `decide_plan`:
`venue_rules.decide_with_dust`, then `build_plan` (venue rules from `venue_reconcile`, tombstones, anomalies);
`outcome.fallback_plan` is the defined safe outcome when restore cannot finish. Venue truth comes in as a
`VenueAnswer`: positions, a reason the venue could not be asked, or None (no venue).
"""

from __future__ import annotations

from collections.abc import Mapping

from dolphin_nautilus.domain.facts import PositionState
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.restore.candidates import Candidate, SourceBatch
from dolphin_nautilus.restore.decide import RestoreDecision
from dolphin_nautilus.restore.ordering import within_source_key
from dolphin_nautilus.restore.outcome import ZERO, RestorePlan, VenueAnswer
from dolphin_nautilus.restore.report import ORIGIN, restore_anomaly, to_anomalies
from dolphin_nautilus.restore.values import OPEN
from dolphin_nautilus.restore.venue_reconcile import reconcile
from dolphin_nautilus.restore.venue_rules import complete_sides_from_venue, decide_with_dust


def decide_plan(
    batches: list[SourceBatch],
    venue: VenueAnswer,
    *,
    namespace: str,
    specs: Mapping[str, InstrumentSpec],
    max_bars_held: int,
    unclaimed: str,
    now_ns: int,
) -> RestorePlan:
    """The restore actor's decision from what it read and what the venue answered (asked before deciding):
    side-less candidates take the venue's side when it answered with positions (docs/design.md §5.3), then
    decide with the dust rule, then the venue rules."""
    if isinstance(venue, Mapping):
        batches = complete_sides_from_venue(batches, venue, specs)
    decision = decide_with_dust(batches, specs, max_bars_held, now_ns)
    return build_plan(batches, decision, venue, namespace=namespace, specs=specs, unclaimed=unclaimed, now_ns=now_ns)


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
            restore_anomaly(
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
            restore_anomaly(
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
