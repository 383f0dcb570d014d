"""A restore decision as anomaly facts, as an operator-readable report, and as JSON."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from dolphin_nautilus.domain.facts import Anomaly, canonical_json
from dolphin_nautilus.restore.decide import RestoreDecision

ORIGIN = "restore"
# A venue position no restored trade claims: adopted/flattened (WARNING), or left alone because the config
# refuses adoption (ERROR, safe mode). Either one changes what the node holds, so it leads the report header.
UNCLAIMED_ADOPTED = "RESTORE_VENUE_UNCLAIMED"
UNCLAIMED_REFUSED = "RESTORE_VENUE_UNCLAIMED_REFUSED"
UNCLAIMED_CODES = frozenset({UNCLAIMED_ADOPTED, UNCLAIMED_REFUSED})


def restore_anomaly(
    ts: int,
    code: str,
    severity: str,
    namespace: str,
    message: str,
    trade_id: str = "",
    instrument_id: str = "",
    **details: object,
) -> Anomaly:
    """An anomaly fact of restore's origin; `details` lands as canonical JSON beside the namespace."""
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


def to_anomalies(decision: RestoreDecision, namespace: str, ts: int) -> list[Anomaly]:
    """One anomaly per rejection, disagreement, unreachable source, warning and internal error.

    Deterministic: the same decision gives the same facts, hence the same row ids (a replay dedupes).
    """
    anomalies: list[Anomaly] = []

    def add(
        code: str, severity: str, message: str, trade_id: str = "", instrument_id: str = "", **details: object
    ) -> None:
        anomalies.append(restore_anomaly(ts, code, severity, namespace, message, trade_id, instrument_id, **details))

    if decision.internal_error:
        add(
            "RESTORE_INTERNAL_ERROR",
            "CRITICAL",
            f"restore decision failed internally, started flat: {decision.internal_error}",
        )
    for source, reason in decision.unreachable:
        add("RESTORE_SOURCE_UNREACHABLE", "ERROR", f"{source} unreachable: {reason}", source=source)
    for r in decision.rejections:
        add(
            "RESTORE_REJECTED",
            "WARNING",
            f"{r.source}: {r.reason}",
            r.trade_id,
            r.instrument_id,
            source=r.source,
            kind=r.kind,
            raw=r.raw_excerpt,
        )
    for d in decision.disagreements:
        add(
            "RESTORE_DISAGREEMENT",
            "WARNING",
            d.detail,
            d.trade_id,
            kind=d.kind,
            chosen_source=d.chosen_source,
            sources=list(d.sources),
        )
    for warning in decision.warnings:
        add("RESTORE_WARNING", "WARNING", warning)
    return anomalies


def decision_to_json(decision: RestoreDecision) -> str:
    """Canonical JSON (sorted keys, Decimals as strings) of the whole decision."""
    return msgspec.json.encode(decision, order="sorted").decode()


def report_header(decision: RestoreDecision, unclaimed: Sequence[Anomaly] = ()) -> str:
    """The first line. With an unclaimed venue position it leads with that and its code: a node that
    restored nothing from history but took over a venue position is not "flat"."""
    counts = (
        f"{len(decision.slots)} slot(s) restored from history, {len(decision.rejections)} rejection(s), "
        f"{len(decision.disagreements)} disagreement(s), {decision.closed_trades} closed trade(s)"
    )
    adopted = [a for a in unclaimed if a.code == UNCLAIMED_ADOPTED]
    refused = [a for a in unclaimed if a.code == UNCLAIMED_REFUSED]
    if not adopted and not refused:
        return f"RESTORE {decision.status}: {counts}"
    flags = []
    if adopted:
        flags.append(
            f"WARNING {UNCLAIMED_ADOPTED}: {len(adopted)} unclaimed venue position(s) taken over "
            f"({', '.join(a.instrument_id for a in adopted)})"
        )
    if refused:
        flags.append(
            f"ERROR {UNCLAIMED_REFUSED}: {len(refused)} unclaimed venue position(s) left alone, safe "
            f"mode ({', '.join(a.instrument_id for a in refused)})"
        )
    return f"RESTORE {decision.status} + VENUE POSITIONS NOBODY CLAIMED: {'; '.join(flags)}; {counts}"


def render_report(decision: RestoreDecision, unclaimed: Sequence[Anomaly] = ()) -> str:
    """What was restored from where, each rejection with its reason, the disagreements, capital, warnings.
    `unclaimed`: the plan's RESTORE_VENUE_UNCLAIMED[_REFUSED] anomalies (venue rules run after the decision)."""
    lines = [
        report_header(decision, unclaimed),
        f"sources read: {', '.join(decision.sources_read) or 'none'}; "
        f"used: {', '.join(decision.sources_used) or 'none'}",
    ]
    if unclaimed:
        lines.append("Unclaimed venue positions:")
        lines += [f"  [{a.severity} {a.code}] {a.instrument_id}: {a.message}" for a in unclaimed]
    if decision.internal_error:
        lines.append(f"INTERNAL ERROR (started flat): {decision.internal_error}")
    lines += [f"UNREACHABLE {source}: {reason}" for source, reason in decision.unreachable]
    lines.append("Restored:" if decision.slots else "Restored: nothing (flat)")
    lines += [
        f"  {s.trade_id} {s.instrument_id} {s.side} qty={s.quantity} entry={s.entry_price} "
        f"bars_held={s.bars_held} legs={s.legs} from {s.source} (seq={s.seq} ts={s.ts})"
        for s in decision.slots
    ]
    if decision.rejections:
        lines.append("Rejected:")
        lines += [
            f"  [{r.kind}] {r.source} trade={r.trade_id or '?'}: {r.reason}\n      raw: {r.raw_excerpt}"
            for r in decision.rejections
        ]
    if decision.disagreements:
        lines.append("Disagreements:")
        lines += [
            f"  [{d.kind}] trade={d.trade_id} chose {d.chosen_source or 'nothing'}: {d.detail}"
            for d in decision.disagreements
        ]
    capital = decision.capital
    lines.append(
        f"Capital: {capital.total} {capital.currency} from {capital.source} "
        f"({capital.entries_seen} ledger entr{'y' if capital.entries_seen == 1 else 'ies'})"
        if capital
        else "Capital: none parsed (the venue account is the authority)"
    )
    if decision.warnings:
        lines.append("Warnings:")
        lines += [f"  {w}" for w in decision.warnings]
    return "\n".join(lines)
