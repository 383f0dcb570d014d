"""`dolphin-ctl faults` lists every code the package can emit, found by reading the package's source."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from dolphin_nautilus.ops.cli import build_parser
from tests.node.conftest import ctl

PACKAGE = Path(__file__).resolve().parents[2] / "dolphin_nautilus"
DOC = PACKAGE.parent / "docs" / "operator.md"
CODE_LIKE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# Functions whose positional string arguments name an anomaly code (restore's helpers).
CODE_TAKING_CALLS = {"_anomaly", "add", "fallback_plan"}
# The emulator is a standalone venue (its codes are BingX's numeric ones); nothing there reaches our logs.
NOT_OURS = ("bingx_emulator",)


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_LIKE.match(node.value):
        return node.value
    return None


def emitted_codes() -> dict[str, str]:
    """code -> first place it is emitted: `Code.X`, `code="X"` / `code=X_CODE`, `{"code": "X"}`,
    `extra={"code": "X"}`, `_anomaly(ts, "X", ...)`, `add("X", ...)`, `fallback_plan(..., "X")`,
    `diagnostics["X"]` counters and `*_CODE = "X"` constants."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if any(part in NOT_OURS for part in rel.parts):
            continue
        tree = ast.parse(path.read_text(), str(rel))
        constants = {
            t.id: _text(n.value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name) and t.id.endswith("_CODE")
        }
        for node in ast.walk(tree):
            hits: list[str | None] = []
            if isinstance(node, ast.Attribute) and _name(node.value) == "Code":
                hits.append(node.attr)
            elif isinstance(node, ast.Call):
                hits += [_text(k.value) or constants.get(_name(k.value)) for k in node.keywords if k.arg == "code"]
                if _name(node.func) in CODE_TAKING_CALLS:
                    hits += [_text(a) for a in node.args]
            elif isinstance(node, ast.Dict):
                hits += [
                    _text(v)
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == "code"
                ]
            elif isinstance(node, ast.Subscript) and _name(node.value) == "diagnostics":
                hits.append(_text(node.slice))
            elif isinstance(node, ast.Assign) and any(_name(t).endswith("_CODE") for t in node.targets):
                hits.append(_text(node.value))
            for code in filter(None, hits):
                found.setdefault(code, f"{rel}:{getattr(node, 'lineno', '?')}")
    return found


def test_the_scan_finds_the_codes_it_must():
    codes = emitted_codes()
    # One of each way of emitting, so a scanner that stops matching something fails here, not silently.
    for code in (
        "EXIT_ORDER_REJECTED",
        "RESTORE_VENUE_UNCLAIMED",
        "RESTORE_REJECTED",
        "RESTORE_TIMEOUT",
        "JOURNAL_QUARANTINE",
        "NOT_TRADING",
        "NODE_FAILED",
        "SIGNAL_UNKNOWN_INSTRUMENT",
        "SIMULATED_EXIT_REJECTS",
        "RESTART_LOOP",
        "VENUE_UNAVAILABLE",
    ):
        assert code in codes, code


def test_faults_lists_every_code_the_package_emits():
    listed = {row["code"] for row in json.loads(ctl("faults", "--json").stdout)}
    missing = {code: where for code, where in emitted_codes().items() if code not in listed}
    assert missing == {}, f"emitted but not in `dolphin-ctl faults`: {missing}"


def test_every_dolphin_ctl_command_the_guidance_and_the_runbook_name_exists():
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse's registry
    texts = DOC.read_text() + json.dumps(json.loads(ctl("faults", "--json").stdout))
    named = set(re.findall(r"dolphin-ctl ([a-z][a-z-]+)", texts))
    assert named and named <= commands, f"named but not a command: {sorted(named - commands)}"


def test_the_operator_guide_carries_the_taxonomy_as_dolphin_ctl_renders_it():
    markdown = ctl("faults", "--markdown")
    assert markdown.returncode == 0
    assert markdown.stdout.strip() in DOC.read_text()
