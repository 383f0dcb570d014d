"""`dolphin-ctl faults`: the fault taxonomy (domain/fault_guidance.py) as text, JSON, or the markdown that
docs/operator.md carries verbatim.
"""

from __future__ import annotations

import argparse
import textwrap

from dolphin_nautilus.domain.diagnostics import guidance_table
from dolphin_nautilus.logs import RedactingFilter
from dolphin_nautilus.ops.ctl_common import EXIT_OK, emit_result


def faults_markdown(rows: list[dict[str, str]]) -> str:
    """The operator guide's taxonomy section, exactly (a test keeps docs/operator.md in step)."""
    return "\n\n".join(
        f"### `{r['code']}` ({r['severity']})\n\n- **Means:** {r['meaning']}\n"
        f"- **The system:** {r['automatic']}\n- **You:** {r['operator']}"
        for r in rows
    )


def cmd_faults(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    rows = guidance_table()
    if args.markdown:
        print(faults_markdown(rows))
        return EXIT_OK
    human = "\n\n".join(
        f"{r['code']} [{r['severity']}]\n"
        + "\n".join(
            textwrap.fill(f"{label}: {r[key]}", 100, initial_indent="  ", subsequent_indent="    ")
            for label, key in (("means", "meaning"), ("system", "automatic"), ("operator", "operator"))
        )
        for r in rows
    )
    emit_result(rows, human, args.json, redactor)
    return EXIT_OK
