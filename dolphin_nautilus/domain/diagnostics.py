"""Diagnostics: the outcome of every intent and venue event the trade book handles.

Every intent and venue event handled by the trade book returns a `BookOutcome`: a `Code`, a `Severity`, a
structured `details` dict and a human message. Outcomes at WARNING or above also become `Anomaly` facts.
The taxonomy itself (`Code`, `Severity`) is in `fault_codes.py`; what each code means and what the operator
should do (`GUIDANCE`, rendered by `dolphin-ctl faults`) is in `fault_guidance.py`. Both are re-exported here,
the one import path for the rest of the package.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .fault_codes import Code, Guidance, Severity
from .fault_guidance import GUIDANCE, guidance_table

__all__ = ["GUIDANCE", "BookOutcome", "Code", "Guidance", "Severity", "book_outcome", "guidance_table"]


class BookOutcome(msgspec.Struct, frozen=True, kw_only=True):
    code: Code
    severity: Severity
    message: str = ""
    details: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code is Code.OK or self.code is Code.MAX_HOLD_EXIT


def book_outcome(code: Code, message: str = "", severity: Severity | None = None, **details: Any) -> BookOutcome:
    """An outcome at the code's default severity (from `GUIDANCE`) unless one is given."""
    return BookOutcome(
        code=code,
        severity=GUIDANCE[code].severity if severity is None else severity,
        message=message,
        details=details,
    )
