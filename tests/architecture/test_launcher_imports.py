"""The trading process's launcher loads no store client before its parallel phase: the store service (its own
process) loads them while the launcher imports Nautilus. A fresh interpreter shows what the import pulls in."""

from __future__ import annotations

import subprocess
import sys

STORE_CLIENTS = ("clickhouse_connect", "chdb", "pyarrow", "hazelcast")


def test_the_node_launcher_loads_no_store_client():
    probe = (
        f"import sys, dolphin_nautilus.launch.node; print(','.join(m for m in {STORE_CLIENTS!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "", f"loaded by importing the launcher: {done.stdout.strip()}"
