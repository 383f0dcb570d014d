"""`dolphin-ctl restart`, `history-clean` and `restore-report`: ask the node for a full venue reconcile (or
restart it through the supervisor), tombstone history that restore rejects, show the last restore report.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.config import Config, Secrets, state_dir_for
from dolphin_nautilus.journal.settings import StoreBusy, StoreError
from dolphin_nautilus.logs import RedactingFilter
from dolphin_nautilus.node.stores import LeaseHeld, open_node_stores
from dolphin_nautilus.ops.ctl_common import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_NO_NODE,
    EXIT_OK,
    EXIT_STORE,
    CtlError,
    busy_message,
    emit_result,
    load_ctl_config,
    node_id_from_status,
    open_clickhouse,
    plain_value,
    requested_by,
)
from dolphin_nautilus.restore.cleanup import find_rejected_history, write_tombstones
from dolphin_nautilus.restore.outcome import REPORT_JSON, REPORT_TEXT
from dolphin_nautilus.state.node_files import RESULT_FILE, STATUS_FILE, pid_alive, read_json, request_reconcile


def supervisor_command(config: Config) -> list[str] | None:
    env = config.node.environment
    if shutil.which("supervisorctl"):
        return ["supervisorctl", "restart", f"dolphin-{env}"]
    if shutil.which("systemctl"):
        return ["systemctl", "restart", f"dolphin-node@{env}.service"]
    return None


def cmd_restart(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    config = load_ctl_config(args.config)
    state_dir = state_dir_for(config)
    node = read_json(state_dir / STATUS_FILE) or {}
    running = bool(node.get("pid")) and pid_alive(int(node["pid"])) and node.get("trader_running", False)
    if running and not args.hard:
        before = read_json(state_dir / RESULT_FILE)
        request = request_reconcile(state_dir, requested_by=requested_by())
        result = _wait_result(state_dir, before, args.wait) if args.wait > 0 else None
        data = {"action": "reconcile-request", "node_id": node.get("node_id"), "request": request, "result": result}
        if result is None:
            human = (
                f"asked running node {node.get('node_id')} for a full venue reconcile "
                f"(request file {state_dir / 'control' / 'reconcile.request'})"
                + ("; no answer yet" if args.wait > 0 else "")
            )
        else:
            human = (
                f"node {node.get('node_id')} reconciled with the venue: ok={result.get('ok')} {result.get('error', '')}"
            )
        emit_result(data, human.strip(), args.json, redactor)
        return EXIT_OK if result is None or result.get("ok") else EXIT_ATTENTION
    command = supervisor_command(config)
    if command is None:
        raise CtlError(
            EXIT_NO_NODE,
            "no running node answered for this namespace, and neither supervisorctl nor "
            "systemctl is available: start it with `dolphin-node --config "
            f"{config.source}`",
        )
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        returncode, output = done.returncode, (done.stdout + done.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        returncode, output = None, f"{type(exc).__name__}: {exc}"
    ok = returncode == 0
    data = {
        "action": "supervisor-restart",
        "ok": ok,
        "command": command,
        "returncode": returncode,
        "output": output,
        "requested_by": requested_by(),
    }
    if ok:
        emit_result(data, f"restarted through {command[0]}: {' '.join(command)} {output}".strip(), args.json, redactor)
        return EXIT_OK
    human = (
        f"RESTART FAILED: `{' '.join(command)}` exited {returncode}: {output or '(no output)'}; the node was "
        f"not restarted. Check the supervisor ({command[0]}) and the node's unit/program name."
    )
    if args.json:
        emit_result(data, human, True, redactor)
    else:
        print(redactor.redact(human), file=sys.stderr)
    return EXIT_FAILED


def _wait_result(state_dir: Path, before: dict | None, wait_s: float) -> dict | None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        result = read_json(state_dir / RESULT_FILE)
        if result and result != before:
            return result
        time.sleep(0.2)
    return None


# ------------------------------------------------------------------------------------------ history-clean
def open_stores_for_cleanup(config: Config, state_dir: Path, secrets: Secrets):
    """Full stores (inline): tombstones are namespace writes, so this takes the namespace lease and refuses
    plainly while a node holds it or holds the embedded store."""
    open_clickhouse(config, state_dir, secrets).close()  # the plain "held by running node" check first
    try:
        return open_node_stores(config, state_dir, mode="inline", node_id=f"dolphin-ctl@{os.getpid()}", secrets=secrets)
    except LeaseHeld as exc:
        raise CtlError(EXIT_STORE, f"{exc}; stop the node first (history-clean writes to the namespace)") from None
    except StoreBusy:
        raise CtlError(EXIT_STORE, busy_message(config, state_dir, node_id_from_status(state_dir))) from None
    except StoreError as exc:
        raise CtlError(EXIT_STORE, f"stores unavailable: {exc}") from None


def _cleanup_specs(config: Config) -> dict:
    """The venue's specs of the configured instruments, judged as restore judges them: the simulated venue's
    contracts for a backtest namespace, the venue's public contract list for vst/live. An instrument the venue
    does not list is left out (restore rejects its history as an unknown instrument), never a KeyError."""
    if config.node.environment == "backtest":
        listed = BINGX_SPECS
    else:
        # Imported here because it is heavy (it loads Nautilus), and only history-clean needs the venue.
        from dolphin_nautilus.node.assembly import venue_specs

        try:
            listed = venue_specs(config)
        except Exception as exc:  # noqa: BLE001 - without the venue's specs the dust rule cannot be judged
            raise CtlError(EXIT_FAILED, f"cannot read the venue's contract list: {type(exc).__name__}: {exc}") from None
    return {iid: listed[iid] for iid in config.strategy.instruments if iid in listed}


def cmd_history_clean(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    config = load_ctl_config(args.config)
    stores = open_stores_for_cleanup(config, state_dir_for(config), args.secrets)
    try:
        rejected = find_rejected_history(stores, specs=_cleanup_specs(config))
        result = write_tombstones(stores, [t.trade_id for t in rejected], dry_run=not args.apply)
    finally:
        stores.close()
    items = [plain_value(r) for r in rejected]
    data = {"applied": args.apply, "rejected": items, "tombstones": plain_value(result)}
    verb = f"wrote {result.written}" if args.apply else f"would write {len(result.planned)} (dry run; add --apply)"
    human = "\n".join(
        [
            f"{len(items)} trade(s) whose history restore rejects:",
            *(
                f"  {i['trade_id']} {i['instrument_id']} {','.join(i['kinds'])}: {'; '.join(i['reasons'])}"
                for i in items
            ),
            f"{verb} tombstone row(s); nothing is ever deleted",
        ]
    )
    emit_result(data, human, args.json, redactor)
    return EXIT_ATTENTION if items and not args.apply else EXIT_OK


def cmd_restore_report(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    """The last restore report the node wrote into its state dir (text as written, or its JSON)."""

    state_dir = state_dir_for(load_ctl_config(args.config))
    text_path, json_path = state_dir / REPORT_TEXT, state_dir / REPORT_JSON
    if not text_path.exists() and not json_path.exists():
        raise CtlError(EXIT_ATTENTION, f"no restore report in {state_dir} (the node never started here)")
    text = text_path.read_text().rstrip() if text_path.exists() else "(no text report)"
    data: dict[str, Any] = {"state_dir": str(state_dir), "text_file": str(text_path), "text": text}
    if json_path.exists():
        data["json_file"] = str(json_path)
        data["report"] = read_json(json_path)
    modified = max(p.stat().st_mtime for p in (text_path, json_path) if p.exists())
    data["written_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(modified))
    emit_result(data, f"restore report of {state_dir} (written {data['written_at']}):\n{text}", args.json, redactor)
    return EXIT_OK
