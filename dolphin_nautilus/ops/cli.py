"""`dolphin-ctl`: the operator's command line (status, faults, mode-verify, restart, history-clean).

Human tables by default, `--json` for scripts. Secrets are never printed: values come from the stores and
the node's status file, and every line is passed through the same redaction as the node logs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

from dolphin_nautilus.config import Config, ConfigError, Secrets, load_config
from dolphin_nautilus.domain.diagnostics import guidance_table
from dolphin_nautilus.node.control import RESULT_FILE, STATUS_FILE, pid_alive, read_json, request_reconcile
from dolphin_nautilus.node.logs import RedactingFilter, secret_values

EXIT_OK = 0
EXIT_ATTENTION = 1  # status: safe mode, no/stale heartbeat, stuck reconcile; mode-verify: a violation
EXIT_USAGE = 2  # bad arguments or a bad config
EXIT_STORE = 3  # a store could not be read (held by a running node, or unreachable)
EXIT_NO_NODE = 4  # restart: no running node to ask, and no supervisor to restart it

EXIT_HELP = f"""exit codes:
  {EXIT_OK}  ok
  {EXIT_ATTENTION}  attention: status found safe mode / stale heartbeat / slots stuck reconciling;
     mode-verify found a namespace collision or foreign rows; history-clean found rejected history
  {EXIT_USAGE}  bad arguments or config
  {EXIT_STORE}  a store could not be read (embedded chDB held by a running node, or unreachable)
  {EXIT_NO_NODE}  restart: no running node answered and no supervisor is available
"""

STALE_HEARTBEAT_S = 30.0
STUCK_RECONCILE_S = 30.0
RESERVED_LIVE_KEYS = frozenset({"heartbeat", "account", "restarts"})


class CtlError(Exception):
    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ------------------------------------------------------------------------------------------ helpers
def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CtlError(EXIT_USAGE, f"bad config: {exc}") from None


def _state_dir(config: Config) -> Path:
    from dolphin_nautilus.node.launcher import state_dir_for

    return state_dir_for(config)


def _store_location(config: Config, state_dir: Path) -> str:
    ch = config.clickhouse
    return str(state_dir / ch.path) if ch.backend == "chdb" else f"http://{ch.host}:{ch.port}"


def busy_message(config: Config, state_dir: Path, holder: str | None) -> str:
    return (f"the store at {_store_location(config, state_dir)} is held by running node {holder or '(unknown)'}; "
            "run this against a ClickHouse server, or stop the node")


def open_clickhouse(config: Config, state_dir: Path, holder: str | None = None):
    """A reader on the namespace's ClickHouse; StoreBusy becomes a plain CtlError naming the holder."""
    from dolphin_nautilus.journal.store import ClickHouseStore, StoreBusy, StoreError
    from dolphin_nautilus.node.stores import clickhouse_config

    from dolphin_nautilus.journal.store import _chdb_lock_holder

    chdb_path = state_dir / config.clickhouse.path
    if config.clickhouse.backend == "chdb":
        if not chdb_path.exists():
            raise CtlError(EXIT_STORE, f"no journal at {chdb_path} (the node never ran here)")
        locked_by = _chdb_lock_holder(str(chdb_path))  # ask before chDB prints its own lock error
        if locked_by is not None:
            raise CtlError(EXIT_STORE, busy_message(config, state_dir, holder or _node_holder(state_dir)
                                                    or f"(chDB lock: {locked_by})"))
    try:
        return ClickHouseStore(clickhouse_config(config, state_dir), migrate=False,
                               password=Secrets.from_env().clickhouse_password)
    except StoreBusy:
        raise CtlError(EXIT_STORE, busy_message(config, state_dir, holder or _node_holder(state_dir))) from None
    except StoreError as exc:
        raise CtlError(EXIT_STORE, f"ClickHouse unavailable at {_store_location(config, state_dir)}: {exc}") from None


def _node_holder(state_dir: Path) -> str | None:
    status = read_json(state_dir / STATUS_FILE) or {}
    return status.get("node_id")


def _age_s(ts_ns: int | None) -> float | None:
    return None if not ts_ns else max(0.0, (time.time_ns() - int(ts_ns)) / 1e9)


def _emit(data: Any, human: str, as_json: bool, redactor: RedactingFilter) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str) if as_json else human
    print(redactor.redact(text))


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


# ------------------------------------------------------------------------------------------ status
def collect_status(config: Config) -> tuple[dict[str, Any], int]:
    from dolphin_nautilus.node.stores import open_live_state

    state_dir = _state_dir(config)
    out: dict[str, Any] = {"namespace": config.node.namespace, "environment": config.node.environment,
                           "state_dir": str(state_dir), "problems": []}
    problems: list[str] = out["problems"]
    exit_code = EXIT_OK
    node = read_json(state_dir / STATUS_FILE) or {}
    running = bool(node.get("pid")) and pid_alive(int(node["pid"])) and node.get("trader_running", False)
    out["node"] = {k: node.get(k) for k in ("node_id", "pid", "trader_id", "log_file", "trader_running")}
    out["node"]["running"] = running
    out["node"]["status_age_s"] = _age_s(node.get("updated_ns"))
    out["safe_mode"] = node.get("safe_mode", "") if running else ""
    out["last_reconcile"] = node.get("last_reconcile") or read_json(state_dir / RESULT_FILE)
    try:
        live = open_live_state(config, state_dir)
    except Exception as exc:  # noqa: BLE001 - reported, the rest of the status still prints
        out["live_state"] = f"unavailable: {type(exc).__name__}: {exc}"
        problems.append(out["live_state"])
        exit_code = EXIT_STORE
        holder = node.get("node_id")
    else:
        try:
            entries, holder = live.entries(), live.lease_holder()
        finally:
            live.close()
        heartbeat = entries.get("heartbeat") or {}
        out["lease_holder"] = holder
        out["heartbeat_age_s"] = _age_s(heartbeat.get("ts"))
        out["heartbeat_node"] = heartbeat.get("node_id")
        out["open_slots"] = [_slot_row(k, v) for k, v in sorted(entries.items()) if k not in RESERVED_LIVE_KEYS]
        age = out["heartbeat_age_s"]
        if holder and (age is None or age > STALE_HEARTBEAT_S):
            problems.append(f"lease held by {holder} but the last heartbeat is "
                            f"{'missing' if age is None else f'{age:.0f}s old'}")
        stuck = [s for s in out["open_slots"] if s["status"] == "STALE_STATE_RECONCILING"]
        if stuck:
            problems.append(f"{len(stuck)} slot(s) in STALE_STATE_RECONCILING: see docs/operator.md runbook")
    if out["safe_mode"]:
        problems.append(f"SAFE MODE (exits only): {out['safe_mode']}")
    if not running:
        problems.append("no running node found for this namespace on this host")
    out["restore_report"] = _restore_report(state_dir, node)
    try:
        store = open_clickhouse(config, state_dir, holder)
    except CtlError as exc:
        out["anomalies"] = exc.args[0]
        if not running or config.clickhouse.backend != "chdb":
            exit_code = max(exit_code, exc.exit_code)
    else:
        try:
            rows = store.recent_anomalies(500)
        except Exception as exc:  # noqa: BLE001 - e.g. an empty database without the table yet
            out["anomalies"] = f"unreadable: {type(exc).__name__}: {exc}"
        else:
            out["anomalies"] = dict(Counter(str(r["code"]) for r in rows).most_common())
            out["last_anomaly"] = {k: str(rows[0][k]) for k in ("ts", "code", "severity", "message")} if rows else None
        finally:
            store.close()
    if problems and exit_code == EXIT_OK:
        exit_code = EXIT_ATTENTION
    return out, exit_code


def _slot_row(trade_id: str, value: dict) -> dict[str, Any]:
    return {"trade_id": trade_id, "instrument_id": value.get("instrument_id", ""), "side": value.get("side", ""),
            "quantity": str(value.get("quantity", "")), "status": value.get("status", ""),
            "bars_held": value.get("bars_held", "")}


def _restore_report(state_dir: Path, node: dict) -> str:
    path = state_dir / "restore_report.txt"
    if path.exists():
        return path.read_text().strip()
    return node.get("restore_report") or "(none yet)"


def render_status(s: dict[str, Any]) -> str:
    node = s["node"]
    lines = [f"namespace {s['namespace']} ({s['environment']})   state dir {s['state_dir']}",
             f"node       {'RUNNING' if node['running'] else 'not running'}  id={node.get('node_id') or '-'}  "
             f"pid={node.get('pid') or '-'}",
             f"lease      {s.get('lease_holder') or '(free)'}",
             f"heartbeat  " + ("-" if s.get("heartbeat_age_s") is None else f"{s['heartbeat_age_s']:.1f}s ago"),
             f"safe mode  {s['safe_mode'] or 'off'}"]
    slots = s.get("open_slots")
    if isinstance(slots, list):
        lines.append(f"open slots {len(slots)}")
        if slots:
            lines.append(textwrap.indent(_table([[r["trade_id"], r["instrument_id"], r["side"], r["quantity"],
                                                   r["status"], str(r["bars_held"])] for r in slots],
                                                 ["trade", "instrument", "side", "qty", "status", "bars"]), "  "))
    else:
        lines.append(f"live state {s.get('live_state')}")
    anomalies = s.get("anomalies")
    if isinstance(anomalies, dict):
        lines.append("anomalies  " + (", ".join(f"{c}={n}" for c, n in anomalies.items()) or "none"))
    else:
        lines.append(f"anomalies  {anomalies}")
    if s.get("last_reconcile"):
        lines.append(f"reconcile  last: ok={s['last_reconcile'].get('ok')}")
    lines += ["restore report:", textwrap.indent(s["restore_report"], "  ")]
    if s["problems"]:
        lines += ["ATTENTION:", *(f"  - {p}" for p in s["problems"])]
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    status, code = collect_status(_load(args.config))
    _emit(status, render_status(status), args.json, redactor)
    return code


# ------------------------------------------------------------------------------------------ faults
def cmd_faults(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    rows = guidance_table()
    human = "\n\n".join(
        f"{r['code']} [{r['severity']}]\n" + "\n".join(
            textwrap.fill(f"{label}: {r[key]}", 100, initial_indent="  ", subsequent_indent="    ")
            for label, key in (("means", "meaning"), ("system", "automatic"), ("operator", "operator")))
        for r in rows)
    _emit(rows, human, args.json, redactor)
    return EXIT_OK


# ------------------------------------------------------------------------------------------ mode-verify
def identities(config: Config, state_dir: Path) -> dict[str, str]:
    """Everything a namespace owns that another deployment must not share."""
    from dolphin_nautilus.journal.schema import database_name
    from dolphin_nautilus.node.signal_map import signals_map_name
    from dolphin_nautilus.state import lease_map_name, state_map_name

    ch, hz = config.clickhouse, config.hazelcast
    where_ch = str(state_dir / ch.path) if ch.backend == "chdb" else f"{ch.host}:{ch.port}"
    where_hz = str(state_dir / hz.path) if hz.backend == "local" else f"{hz.cluster_name}@{','.join(hz.members)}"
    ns = config.node.namespace
    return {
        "clickhouse database": f"{where_ch}/{database_name(ns)}",
        "hazelcast state map": f"{where_hz}/{state_map_name(ns)}",
        "hazelcast lease map": f"{where_hz}/{lease_map_name(ns)}",
        "hazelcast signals map": f"{where_hz}/{signals_map_name(ns)}",
        "trader id": config.node.trader_id,
        "client order id prefix": config.node.client_order_prefix,
    }


def collisions(configs: list[Config]) -> list[str]:
    found = []
    ids = [(c, identities(c, _state_dir(c))) for c in configs]
    for i, (a, ida) in enumerate(ids):
        for b, idb in ids[i + 1:]:
            for what, value in ida.items():
                other = idb[what]
                clash = value == other or (what == "client order id prefix"
                                           and (value.startswith(other) or other.startswith(value)))
                if clash:
                    found.append(f"{what} collides: {a.source} ({value}) and {b.source} ({other})")
    return found


def cmd_mode_verify(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    configs = [_load(path) for path in args.config]
    violations = collisions(configs)
    unchecked: list[str] = []
    checked: list[str] = []
    for config in configs:
        if args.skip_stores:
            break
        state_dir = _state_dir(config)
        try:
            store = open_clickhouse(config, state_dir)
        except CtlError as exc:
            unchecked.append(f"{config.source}: {exc}")
            continue
        try:
            rows = store.foreign_namespace_rows(limit=20)
        except Exception as exc:  # noqa: BLE001 - a database without our tables: nothing foreign in it
            unchecked.append(f"{config.source}: database {store.database} unreadable: {type(exc).__name__}: {exc}")
            continue
        finally:
            store.close()
        checked.append(store.database)
        for row in rows:
            violations.append(f"foreign namespace row in {store.database}.{row['table']}: namespace "
                              f"{row['namespace']!r} (row_id {row['row_id']}) in the database of "
                              f"{config.node.namespace!r} ({config.source})")
    result = {"configs": [c.source for c in configs], "violations": violations, "databases_checked": checked,
              "unchecked": unchecked}
    human = "\n".join([f"mode-verify: {len(configs)} config(s), databases checked: {', '.join(checked) or 'none'}",
                       *(f"VIOLATION: {v}" for v in violations), *(f"NOT CHECKED: {u}" for u in unchecked),
                       "OK: namespaces are isolated" if not violations and not unchecked else ""]).rstrip()
    _emit(result, human, args.json, redactor)
    if violations:
        return EXIT_ATTENTION
    return EXIT_STORE if unchecked else EXIT_OK


# ------------------------------------------------------------------------------------------ restart
def supervisor_command(config: Config) -> list[str] | None:
    env = config.node.environment
    if shutil.which("supervisorctl"):
        return ["supervisorctl", "restart", f"dolphin-{env}"]
    if shutil.which("systemctl"):
        return ["systemctl", "restart", f"dolphin-node@{env}.service"]
    return None


def cmd_restart(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    config = _load(args.config)
    state_dir = _state_dir(config)
    node = read_json(state_dir / STATUS_FILE) or {}
    running = bool(node.get("pid")) and pid_alive(int(node["pid"])) and node.get("trader_running", False)
    if running and not args.hard:
        before = read_json(state_dir / RESULT_FILE)
        request = request_reconcile(state_dir, requested_by=f"dolphin-ctl@{node.get('node_id', '?')}")
        result = _wait_result(state_dir, before, args.wait) if args.wait > 0 else None
        data = {"action": "reconcile-request", "node_id": node.get("node_id"), "request": request, "result": result}
        if result is None:
            human = (f"asked running node {node.get('node_id')} for a full venue reconcile "
                     f"(request file {state_dir / 'control' / 'reconcile.request'})"
                     + ("; no answer yet" if args.wait > 0 else ""))
        else:
            human = f"node {node.get('node_id')} reconciled with the venue: ok={result.get('ok')} {result.get('error', '')}"
        _emit(data, human.strip(), args.json, redactor)
        return EXIT_OK if result is None or result.get("ok") else EXIT_ATTENTION
    command = supervisor_command(config)
    if command is None:
        raise CtlError(EXIT_NO_NODE, "no running node answered for this namespace, and neither supervisorctl nor "
                                     "systemctl is available: start it with `dolphin-node --config "
                                     f"{config.source}`")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    data = {"action": "supervisor-restart", "command": command, "returncode": done.returncode,
            "output": (done.stdout + done.stderr).strip()}
    _emit(data, f"restarted through {command[0]}: {' '.join(command)} -> rc={done.returncode} "
                f"{data['output']}".strip(), args.json, redactor)
    return EXIT_OK if done.returncode == 0 else EXIT_NO_NODE


def _wait_result(state_dir: Path, before: dict | None, wait_s: float) -> dict | None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        result = read_json(state_dir / RESULT_FILE)
        if result and result != before:
            return result
        time.sleep(0.2)
    return None


# ------------------------------------------------------------------------------------------ history-clean
def open_stores_for_cleanup(config: Config, state_dir: Path):
    """Full stores (inline): tombstones are namespace writes, so this takes the namespace lease and refuses
    plainly while a node holds it or holds the embedded store."""
    from dolphin_nautilus.journal.store import StoreBusy, StoreError
    from dolphin_nautilus.node.stores import LeaseHeld, Stores

    open_clickhouse(config, state_dir).close()  # the plain "held by running node" check first
    try:
        return Stores(config, state_dir, mode="inline", node_id=f"dolphin-ctl@{os.getpid()}")
    except LeaseHeld as exc:
        raise CtlError(EXIT_STORE, f"{exc}; stop the node first (history-clean writes to the namespace)") from None
    except StoreBusy:
        raise CtlError(EXIT_STORE, busy_message(config, state_dir, _node_holder(state_dir))) from None
    except StoreError as exc:
        raise CtlError(EXIT_STORE, f"stores unavailable: {exc}") from None


def cmd_history_clean(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    config = _load(args.config)
    from dolphin_nautilus.restore.cleanup import find_rejected_history, write_tombstones

    stores = open_stores_for_cleanup(config, _state_dir(config))
    try:
        rejected = find_rejected_history(stores)
        result = write_tombstones(stores, [t.trade_id for t in rejected], dry_run=not args.apply)
    finally:
        stores.close()
    items = [_plain(r) for r in rejected]
    data = {"applied": args.apply, "rejected": items, "tombstones": _plain(result)}
    verb = f"wrote {result.written}" if args.apply else f"would write {len(result.planned)} (dry run; add --apply)"
    human = "\n".join([f"{len(items)} trade(s) whose history restore rejects:",
                       *(f"  {i['trade_id']} {i['instrument_id']} {','.join(i['kinds'])}: {'; '.join(i['reasons'])}"
                         for i in items),
                       f"{verb} tombstone row(s); nothing is ever deleted"])
    _emit(data, human, args.json, redactor)
    return EXIT_ATTENTION if items and not args.apply else EXIT_OK


def _plain(value: Any) -> Any:
    import msgspec

    try:
        return msgspec.to_builtins(value)
    except TypeError:
        return str(value)


# ------------------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dolphin-ctl", description="Operate dolphin nodes.", epilog=EXIT_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str, *, config: bool = True, many: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if config:
            p.add_argument("--config", required=True, action="append" if many else "store",
                           help="a node config" + (" (repeat for every deployment)" if many else ""))
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    add("status", "per namespace: node, lease, heartbeat, open slots, safe mode, anomalies by code, restore report")
    add("faults", "the fault taxonomy: what each code means, what the system does, what you do", config=False)
    p = add("mode-verify", "namespace isolation: no shared database/maps/prefix/trader id, no foreign rows",
            many=True)
    p.add_argument("--skip-stores", action="store_true", help="only compare the configs")
    p = add("restart", "ask the running node for a full venue reconcile; --hard restarts it via the supervisor")
    p.add_argument("--hard", action="store_true", help="restart through supervisorctl or systemctl")
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for the node's reconcile result")
    p = add("history-clean", "list trades whose history restore rejects; --apply writes tombstones (never deletes)")
    p.add_argument("--apply", action="store_true", help="write the tombstone rows (default: dry run)")
    return parser


COMMANDS = {"status": cmd_status, "faults": cmd_faults, "mode-verify": cmd_mode_verify, "restart": cmd_restart,
            "history-clean": cmd_history_clean}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    redactor = RedactingFilter(secret_values(Secrets.from_env()))
    try:
        return COMMANDS[args.command](args, redactor)
    except CtlError as exc:
        print(f"dolphin-ctl {args.command}: {redactor.redact(str(exc))}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
