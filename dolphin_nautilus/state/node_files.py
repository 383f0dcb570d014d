"""The files a running node shares with `dolphin-ctl` under its state dir (no Nautilus imports here).

- `status/node.json`: written by the node every control tick: who runs, since when, whether the trader
  runs, safe mode and the last restore report. `dolphin-ctl status` reads it.
- `control/reconcile.request`: written by `dolphin-ctl restart`; the node takes it (rename), runs a full
  venue reconcile and writes `control/reconcile.result`.
- `control/flatten.request`: written by `dolphin-ctl flatten --apply` while a node runs: the instruments to
  close with reduce-only market orders. A node that takes it lists "flatten" in `accepts` of its status
  file and writes `control/flatten.result`.

Files, not the live-state map: the map only takes writes from the namespace's lease holder (the node), and
an operator command must never need the lease. Every write is temp file + rename, so a reader never sees a
torn file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

STATUS_FILE = Path("status") / "node.json"
REQUEST_FILE = Path("control") / "reconcile.request"
TAKEN_FILE = Path("control") / "reconcile.taken"
RESULT_FILE = Path("control") / "reconcile.result"
FLATTEN_REQUEST_FILE = Path("control") / "flatten.request"
FLATTEN_RESULT_FILE = Path("control") / "flatten.result"


def write_json(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(value, handle, sort_keys=True, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, OSError) as exc:
        return {"unreadable": f"{path}: {exc}"}


def request_reconcile(state_dir: Path, requested_by: str) -> dict[str, Any]:
    request = {"requested_at_ns": time.time_ns(), "requested_by": requested_by}
    write_json(state_dir / REQUEST_FILE, request)
    return request


def take_reconcile_request(state_dir: Path) -> dict[str, Any] | None:
    """The pending request, removed atomically so it runs once even if two ticks race."""
    try:
        os.replace(state_dir / REQUEST_FILE, state_dir / TAKEN_FILE)
    except FileNotFoundError:
        return None
    request = read_json(state_dir / TAKEN_FILE) or {}
    (state_dir / TAKEN_FILE).unlink(missing_ok=True)
    return request


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
