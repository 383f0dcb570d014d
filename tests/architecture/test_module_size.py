"""No module of the package grows past ~500 lines unless its docstring says why (issue 10).

A long module is usually several concerns in one file; splitting it is the default. When one concern really
needs the length (a table, a generated mapping), the module's docstring carries a line starting with
"Why this module is long:" so the next reader knows it was a decision, not drift.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dolphin_nautilus"
MAX_LINES = 500
REASON_MARK = "Why this module is long:"


def long_modules_without_reason() -> list[str]:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        lines = text.count("\n")
        if lines <= MAX_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if REASON_MARK not in docstring:
            offenders.append(f"{path.relative_to(PACKAGE.parent)}: {lines} lines")
    return offenders


def test_no_module_is_long_without_a_reason_in_its_docstring():
    offenders = long_modules_without_reason()
    assert not offenders, f"split these or say '{REASON_MARK} ...' in the module docstring: {offenders}"


def test_the_check_sees_the_package():
    # Guard against a path mistake that would make the check above vacuous.
    assert len(list(PACKAGE.rglob("*.py"))) > 100
