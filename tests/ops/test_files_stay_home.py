"""Files stay home and owner-only: a real `dolphin-backtest` run, then the modes of everything it created."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def loose_modes(root: Path) -> list[str]:
    """Every file or folder under root that a group or other user could read, write or enter (symlinks,
    which chDB makes for its tables and which carry no permissions of their own, are skipped)."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{oct(mode & 0o777)} {path}")
    return found


def test_a_backtest_run_creates_its_stores_logs_wal_and_reports_owner_only(tmp_path):
    config = tmp_path / "bt.toml"
    config.write_text(
        f'extends = "{CONFIGS / "backtest.toml"}"\n[node]\noutput_dir = "{tmp_path / "runs"}"\n'
        "[backtest]\nprogress = false\n"
    )
    previous = os.umask(0o022)  # the usual shell default: without the node's own mask, files come out 0644
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dolphin_nautilus.launch.backtest",
                "--config",
                str(config),
                "--until",
                "2026-09-01T04:00",
                "--keep-store",
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        os.umask(previous)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = next((tmp_path / "runs").iterdir())
    stores = run_dir / "stores"
    for expected in ("clickhouse", "live_state", "spool", "restore_report.txt"):
        assert (stores / expected).exists(), expected
    assert any((stores / "spool").iterdir()) and any((stores / "clickhouse").rglob("*.sql"))
    assert loose_modes(tmp_path / "runs") == []
