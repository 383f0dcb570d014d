"""One measured ratio of a benchmark, its target and whether it is met; the summary table of `python -m
dolphin_nautilus.bench` and each benchmark's `--json` are lists of these."""

from __future__ import annotations

import msgspec


class Check(msgspec.Struct, kw_only=True):
    bench: str
    name: str
    value: float | None  # None: not measured (the note says why)
    target: str  # e.g. ">= 0.92", "<= 1.2x"; "" = reported, no target
    met: bool | None  # None: no target, or not measured
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "NOT MEASURED"
        return "-" if self.met is None else ("MET" if self.met else "MISSED")


def at_least(bench: str, name: str, value: float | None, target: float, note: str = "") -> Check:
    return Check(
        bench=bench,
        name=name,
        value=value,
        target=f">= {target:g}",
        met=None if value is None else value >= target,
        note=note,
    )


def at_most(bench: str, name: str, value: float | None, target: float, note: str = "") -> Check:
    return Check(
        bench=bench,
        name=name,
        value=value,
        target=f"<= {target:g}",
        met=None if value is None else value <= target,
        note=note,
    )


def reported(bench: str, name: str, value: float | None, note: str = "") -> Check:
    return Check(bench=bench, name=name, value=value, target="", met=None, note=note)


def table(checks: list[Check]) -> str:
    width = max([len(f"{c.bench}: {c.name}") for c in checks] + [10])
    lines = [f"{'benchmark: ratio':<{width}}  {'value':>10}  {'target':>9}  verdict"]
    for c in checks:
        value = "" if c.value is None else f"{c.value:10.3f}"
        note = f"  ({c.note})" if c.note else ""
        lines.append(f"{c.bench + ': ' + c.name:<{width}}  {value:>10}  {c.target:>9}  {c.verdict}{note}")
    return "\n".join(lines)


def to_json(checks: list[Check]) -> bytes:
    return msgspec.json.encode([{**msgspec.structs.asdict(c), "verdict": c.verdict} for c in checks])


def print_checks(checks: list[Check], *, as_json: bool, out=None) -> None:
    """The summary table (to `out`, stdout by default); with `as_json`, the checks as JSON, last on stdout."""
    print(table(checks), file=out)
    if as_json:
        print(to_json(checks).decode())
