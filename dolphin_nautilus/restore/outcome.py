"""What a restore hands over: the `RestorePlan` (slots, instruments to flatten, tombstones, anomalies, safe
mode, its report), the venue's answer types, and `fallback_plan`, the defined
safe outcome when restore cannot finish (flat, safe mode, a CRITICAL anomaly).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal

import msgspec

from dolphin_nautilus.domain.facts import Anomaly, PositionState, canonical_json
from dolphin_nautilus.domain.restored import RestoredSlot
from dolphin_nautilus.restore.decide import RestoreDecision, failed_decision
from dolphin_nautilus.restore.report import UNCLAIMED_CODES, decision_to_json, render_report, restore_anomaly

VENUE_SOURCE = "venue"
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


def fallback_plan(reason: str, code: str, *, namespace: str, now_ns: int) -> RestorePlan:
    """The defined safe outcome when restore cannot finish: flat, safe mode, a CRITICAL anomaly."""
    decision = failed_decision(reason, now_ns)
    return RestorePlan(
        decision=decision,
        slots=[],
        flatten=[],
        tombstones=[],
        safe_mode=[f"restore failed: {reason}"],
        anomalies=[restore_anomaly(now_ns, code, "CRITICAL", namespace, f"{reason}; started flat in safe mode")],
        venue="not asked",
        notes=[],
    )
