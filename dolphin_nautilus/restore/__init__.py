"""Restore on start (docs/design.md §5): parse every source into candidates, decide which slots come back.

Pure logic; the Nautilus RestoreActor wires it to the stores and the strategy.
"""

from dolphin_nautilus.restore.candidates import (
    Candidate,
    CapitalSnapshot,
    Rejection,
    SourceBatch,
    parse_legacy_rows,
    parse_position_state_rows,
)
from dolphin_nautilus.restore.decide import Disagreement, RestoreDecision, RestoredSlot, RestoreStatus, decide
from dolphin_nautilus.restore.legacy import read_legacy_position_state
from dolphin_nautilus.restore.live_entries import capital_from_ledger, parse_capital_ledger, parse_live_entries
from dolphin_nautilus.restore.ordering import is_newer, problems
from dolphin_nautilus.restore.report import decision_to_json, render_report, to_anomalies
from dolphin_nautilus.restore.values import normalize_instrument

__all__ = [
    "Candidate",
    "CapitalSnapshot",
    "Disagreement",
    "Rejection",
    "RestoreDecision",
    "RestoreStatus",
    "RestoredSlot",
    "SourceBatch",
    "capital_from_ledger",
    "decide",
    "decision_to_json",
    "is_newer",
    "normalize_instrument",
    "parse_capital_ledger",
    "parse_legacy_rows",
    "parse_live_entries",
    "parse_position_state_rows",
    "problems",
    "read_legacy_position_state",
    "render_report",
    "to_anomalies",
]
