"""Every benchmark of issue 16 in one command, then one summary table: each ratio, its target, MET/MISSED.

    python -m dolphin_nautilus.bench [--only backtest,orders,journal,restore,start] [--json]
                                     [--before REF] [--days 30] [--repeats 3] [--orders 500]

Benchmarks run one after another (never in parallel: the figures are ratios measured in one run, and the
machine is shared). Each prints its own detail first. `backtest` and `orders` return their checks directly;
`journal` runs its module as it is and the summary reads the figures from its output (a figure the output no
longer carries shows as NOT MEASURED, with the module's output above it); `restore` and `start` run theirs
with `--json` and take their checks from its last line.
`--json` prints the checks as a JSON list as the last line.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import msgspec

from dolphin_nautilus.bench.verdicts import Check, at_least, at_most, print_checks

BENCHES = ("backtest", "orders", "journal", "restore", "start")


def _module_output(module: str, *args: str) -> tuple[str, str]:
    """Run `python -m <module>`; (its stdout, a note if it failed)."""
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
    print(out.stdout, end="", file=sys.stderr)
    return out.stdout, "" if out.returncode == 0 else f"{module} exited {out.returncode}: {out.stderr[-300:]}"


def _figure(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1).replace(",", "")) if found else None


def journal_checks() -> list[Check]:
    text, failed = _module_output("dolphin_nautilus.bench.journal", "--money", "Decimal")
    note = failed or "from bench.journal's output"
    return [
        at_most(
            "journal",
            "hot-path append per fact (us)",
            _us(_figure(r"hot path\s+append:\s*([\d.,]+) ns/fact", text)),
            1.0,
            note,
        ),
        at_least(
            "journal",
            "sustained end to end (k rows/s)",
            _k(_figure(r"sustained end-to-end[^:]*:\s*([\d,]+) rows/s", text)),
            250,
            note,
        ),
        at_least(
            "journal",
            "sustained / chDB insert alone, same run (target 250/310)",
            _figure(r"ratio end-to-end / insert alone\s*([\d.]+)", text),
            0.81,
            note,
        ),
    ]


def restore_checks() -> list[Check]:
    return _json_checks("dolphin_nautilus.bench.restore", "restore")


def start_checks() -> list[Check]:
    return _json_checks("dolphin_nautilus.bench.start", "start")


def _json_checks(module: str, bench: str) -> list[Check]:
    """A benchmark module that prints its checks as JSON (`--json`, last line)."""
    text, failed = _module_output(module, "--json")
    try:
        rows = msgspec.json.decode(text.strip().splitlines()[-1])
        return [Check(**{k: v for k, v in row.items() if k != "verdict"}) for row in rows]
    except (IndexError, msgspec.DecodeError, TypeError):
        return [Check(bench=bench, name="(no checks)", value=None, target="", met=None, note=failed or "no JSON line")]


def _us(ns: float | None) -> float | None:
    return None if ns is None else ns / 1000


def _k(rows: float | None) -> float | None:
    return None if rows is None else rows / 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dolphin_nautilus.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--json", action="store_true", help="the checks as JSON, last line")
    parser.add_argument("--before", metavar="REF", help="backtest: also measure this git ref or checkout path")
    parser.add_argument("--days", type=int, default=30, help="backtest: days of the sample")
    parser.add_argument("--repeats", type=int, default=3, help="backtest: runs per configuration")
    parser.add_argument("--orders", type=int, default=500, help="orders: orders per path")
    args = parser.parse_args(argv)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHES)}")
    checks: list[Check] = []
    for bench in chosen:
        print(f"=== {bench}", file=sys.stderr)
        if bench == "backtest":
            from dolphin_nautilus.bench import backtest  # each benchmark imports what it runs (heavy)

            checks += backtest.run(
                ["--days", str(args.days), "--repeats", str(args.repeats)]
                + (["--before", args.before] if args.before else [])
            )
        elif bench == "orders":
            from dolphin_nautilus.bench import order_latency

            checks += order_latency.run(["--orders", str(args.orders)])
        elif bench == "journal":
            checks += journal_checks()
        elif bench == "restore":
            checks += restore_checks()
        else:
            checks += start_checks()
    print()
    print_checks(checks, as_json=args.json)


if __name__ == "__main__":
    main()
