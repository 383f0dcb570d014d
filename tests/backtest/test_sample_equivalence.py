"""The backtest's trades, legs and PnL on a deterministic slice of the bundled sample (its first 4 days, all 4
instruments) are exactly those of the committed digest, which was generated with the code before the speed
work of issue 16 (engine/venue configuration, strategy hot path). A speed change must not change the run.

Regenerate only for a change that is MEANT to change what the backtest does, and say so in its commit:
    .venv/bin/python -m tests.backtest.test_sample_equivalence
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from dolphin_nautilus.bench.backtest import sample_digest

EXPECTED = Path(__file__).with_name("expected") / "sample_4d_digest.json"
DAYS = 4


def test_sample_slice_trades_legs_and_pnl_are_those_of_the_committed_digest(tmp_path: Path):
    expected = json.loads(EXPECTED.read_text())
    digest = sample_digest(DAYS, tmp_path)
    assert digest["trades"] > 50 and digest["legs"] > digest["trades"]  # the slice exercises retracts
    differing = sorted(
        family for family in expected["families"] if digest["families"].get(family) != expected["families"][family]
    )
    assert differing == [], f"fact families that differ: {differing}"
    assert digest == expected


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as workdir:
        EXPECTED.write_text(json.dumps(sample_digest(DAYS, Path(workdir)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {EXPECTED}", file=sys.stderr)
