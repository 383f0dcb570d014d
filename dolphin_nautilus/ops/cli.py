"""`dolphin-ctl`: the operator's command line (status, faults, mode-verify, restart, history-clean,
restore-report, positions, orders, flatten).

Human tables by default, `--json` for scripts. Secrets are never printed: values come from the stores and
the node's status file, and every line is passed through the same redaction as the node logs.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials, MissingCredentialsError
from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.config import Config, ConfigError, Secrets, load_config, restrict_new_files, state_dir_for
from dolphin_nautilus.domain.diagnostics import guidance_table
from dolphin_nautilus.journal.schema import database_name
from dolphin_nautilus.journal.store import ClickHouseStore, StoreBusy, StoreError, _chdb_lock_holder
from dolphin_nautilus.logs import RedactingFilter, secret_values
from dolphin_nautilus.node.signal_map import signals_map_name
from dolphin_nautilus.node.stores import LeaseHeld, Stores, clickhouse_config, open_live_state
from dolphin_nautilus.ops.venue import compare_orders, compare_positions, flatten_plan, read_venue, run, send_flatten
from dolphin_nautilus.restore.cleanup import find_rejected_history, write_tombstones
from dolphin_nautilus.restore.plan import REPORT_JSON, REPORT_TEXT
from dolphin_nautilus.state import lease_map_name, state_map_name
from dolphin_nautilus.state.hazelcast_store import HazelcastStateStore
from dolphin_nautilus.state.node_files import (
    FLATTEN_REQUEST_FILE,
    FLATTEN_RESULT_FILE,
    RESULT_FILE,
    STATUS_FILE,
    pid_alive,
    read_json,
    request_reconcile,
    write_json,
)

EXIT_OK = 0
EXIT_ATTENTION = 1  # status: safe mode, no/stale heartbeat, stuck reconcile; mode-verify: a violation
EXIT_USAGE = 2  # bad arguments or a bad config
EXIT_STORE = 3  # a store could not be read (held by a running node, or unreachable)
EXIT_NO_NODE = 4  # restart: no running node to ask, and no supervisor to restart it
EXIT_FAILED = 5  # what was asked failed: the supervisor's restart, reading the venue, or a flatten order

EXIT_HELP = f"""exit codes:
  {EXIT_OK}  ok
  {EXIT_ATTENTION}  attention: status found safe mode / stale heartbeat / slots stuck reconciling;
     mode-verify found a namespace collision or foreign rows; history-clean found rejected history
  {EXIT_USAGE}  bad arguments or config
  {EXIT_STORE}  a store could not be read (embedded chDB held by a running node, or unreachable)
  {EXIT_NO_NODE}  restart: no running node answered and no supervisor is available
  {EXIT_FAILED}  failed: supervisorctl/systemctl could not restart the node, the venue could not be read,
     or a flatten order was refused
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
    return state_dir_for(config)


def _store_location(config: Config, state_dir: Path) -> str:
    ch = config.clickhouse
    return str(state_dir / ch.path) if ch.backend == "chdb" else f"http://{ch.host}:{ch.port}"


def busy_message(config: Config, state_dir: Path, holder: str | None) -> str:
    return (
        f"the store at {_store_location(config, state_dir)} is held by running node {holder or '(unknown)'}; "
        "run this against a ClickHouse server, or stop the node"
    )


def open_clickhouse(config: Config, state_dir: Path, holder: str | None = None):
    """A reader on the namespace's ClickHouse; StoreBusy becomes a plain CtlError naming the holder."""
    chdb_path = state_dir / config.clickhouse.path
    if config.clickhouse.backend == "chdb":
        if not chdb_path.exists():
            raise CtlError(EXIT_STORE, f"no journal at {chdb_path} (the node never ran here)")
        locked_by = _chdb_lock_holder(str(chdb_path))  # ask before chDB prints its own lock error
        if locked_by is not None:
            raise CtlError(
                EXIT_STORE,
                busy_message(config, state_dir, holder or _node_holder(state_dir) or f"(chDB lock: {locked_by})"),
            )
    try:
        return ClickHouseStore(
            clickhouse_config(config, state_dir), migrate=False, password=Secrets.from_env().clickhouse_password
        )
    except StoreBusy:
        raise CtlError(EXIT_STORE, busy_message(config, state_dir, holder or _node_holder(state_dir))) from None
    except StoreError as exc:
        raise CtlError(EXIT_STORE, f"ClickHouse unavailable at {_store_location(config, state_dir)}: {exc}") from None


def _node_holder(state_dir: Path) -> str | None:
    status = read_json(state_dir / STATUS_FILE) or {}
    return status.get("node_id")


def _age_s(ts_ns: int | None) -> float | None:
    return None if not ts_ns else max(0.0, (time.time_ns() - int(ts_ns)) / 1e9)


def requested_by() -> str:
    """Who asked: the operator's user, host and process (not the node that will act on it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER in a bare container
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} (dolphin-ctl)"


def _emit(data: Any, human: str, as_json: bool, redactor: RedactingFilter) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str) if as_json else human
    print(redactor.redact(text))


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


# ------------------------------------------------------------------------------------------ status
def collect_status(config: Config) -> tuple[dict[str, Any], int]:
    state_dir = _state_dir(config)
    out: dict[str, Any] = {
        "namespace": config.node.namespace,
        "environment": config.node.environment,
        "state_dir": str(state_dir),
        "problems": [],
    }
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
            problems.append(
                f"lease held by {holder} but the last heartbeat is {'missing' if age is None else f'{age:.0f}s old'}"
            )
        stuck = [s for s in out["open_slots"] if s["status"] == "STALE_STATE_RECONCILING"]
        if stuck:
            problems.append(f"{len(stuck)} slot(s) in STALE_STATE_RECONCILING: see docs/operator.md runbook")
    if out["safe_mode"]:
        problems.append(f"SAFE MODE (exits only): {out['safe_mode']}")
    if not running:
        problems.append("no running node found for this namespace on this host")
    out["restore_report"] = _restore_report(state_dir, node)
    if running and "slots" in node:
        _add_snapshot(out, node, problems)
        return out, EXIT_ATTENTION if problems and exit_code == EXIT_OK else exit_code
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


SNAPSHOT_SECTIONS = ("slots", "realized", "recent", "errors", "market_data", "signals", "warm_up", "accepts")
STALE_BAR_FACTOR = 3  # a bar older than this many bar intervals means the market data has stopped


def _add_snapshot(out: dict[str, Any], node: dict[str, Any], problems: list[str]) -> None:
    """What the running node's status snapshot says (status/node.json): it answers while the node holds its
    embedded store, and it is what the node itself sees (mark prices, the last orders, coded errors)."""
    for key in SNAPSHOT_SECTIONS:
        out[key] = node.get(key)
    anomalies = node.get("anomalies") or {}
    out["anomalies"] = anomalies.get("by_code") or {}
    last = anomalies.get("last") or []
    out["last_anomaly"] = last[-1] if last else None
    out["last_anomalies"] = last
    out["last_flatten"] = node.get("last_flatten")
    view = node.get("stores") or {}
    lease = view.get("lease") or {}
    out["lease"] = lease
    if view.get("error"):
        problems.append(f"the node cannot read its stores: {view['error']}")
    elif lease and not lease.get("held"):
        problems.append(f"the node does not hold its namespace lease: {lease.get('last_error') or 'lost'}")
    heartbeat = view.get("heartbeat") or {}
    if "heartbeat_age_s" not in out or out.get("heartbeat_age_s") is None:
        out["heartbeat_age_s"] = _age_s(heartbeat.get("ts"))
    for iid, market in (node.get("market_data") or {}).items():
        age = market.get("age_s")
        if age is None:
            problems.append(f"no bar received yet for {iid}")
        elif age > STALE_BAR_FACTOR * 60 * _bar_minutes(node):
            problems.append(f"market data for {iid} is stale: last bar {age:.0f}s ago")
    warm = node.get("warm_up")
    if warm and not warm.get("ready"):
        short = {iid: n for iid, n in warm["bars"].items() if n < warm["needed_bars"]}
        problems.append(f"warming up: the reference model needs {warm['needed_bars']} bars; has {short}")


def _bar_minutes(node: dict[str, Any]) -> int:
    return int(node.get("bar_minutes") or 1)


def _slot_row(trade_id: str, value: dict) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "instrument_id": value.get("instrument_id", ""),
        "side": value.get("side", ""),
        "quantity": str(value.get("quantity", "")),
        "status": value.get("status", ""),
        "bars_held": value.get("bars_held", ""),
    }


def _restore_report(state_dir: Path, node: dict) -> str:
    path = state_dir / "restore_report.txt"
    if path.exists():
        return path.read_text().strip()
    return node.get("restore_report") or "(none yet)"


def render_status(s: dict[str, Any]) -> str:
    node = s["node"]
    lines = [
        f"namespace {s['namespace']} ({s['environment']})   state dir {s['state_dir']}",
        f"node       {'RUNNING' if node['running'] else 'not running'}  id={node.get('node_id') or '-'}  "
        f"pid={node.get('pid') or '-'}",
        f"lease      {s.get('lease_holder') or '(free)'}",
        "heartbeat  " + ("-" if s.get("heartbeat_age_s") is None else f"{s['heartbeat_age_s']:.1f}s ago"),
        f"safe mode  {s['safe_mode'] or 'off'}",
    ]
    slots = s.get("open_slots")
    if isinstance(slots, list):
        lines.append(f"open slots {len(slots)}")
        if slots:
            lines.append(
                textwrap.indent(
                    _table(
                        [
                            [
                                r["trade_id"],
                                r["instrument_id"],
                                r["side"],
                                r["quantity"],
                                r["status"],
                                str(r["bars_held"]),
                            ]
                            for r in slots
                        ],
                        ["trade", "instrument", "side", "qty", "status", "bars"],
                    ),
                    "  ",
                )
            )
    else:
        lines.append(f"live state {s.get('live_state')}")
    if isinstance(s.get("slots"), list):
        lines += _render_snapshot(s)
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


def _render_snapshot(s: dict[str, Any]) -> list[str]:
    """The running node's own view: slots with prices and PnL, recent activity, liveness, warm-up."""
    lines = []
    slots = s["slots"]
    realized = s.get("realized") or {}
    lines.append(
        f"trading    {len(slots)} open slot(s); {realized.get('trades', 0)} closed trade(s) since start, "
        f"realized PnL {realized.get('realized_pnl', '0')} (net of fees {realized.get('net_pnl', '0')})"
    )
    if slots:
        rows = [
            [
                r["instrument_id"],
                r["side"],
                r["quantity"],
                r["entry_price"],
                r.get("mark_price") or "-",
                r.get("unrealized_pnl") or "-",
                r["realized_pnl"],
                r["status"],
                str(r["bars_held"]),
            ]
            for r in slots
        ]
        header = ["instrument", "side", "qty", "entry", "mark", "unrealized", "realized", "status", "bars"]
        lines.append(textwrap.indent(_table(rows, header), "  "))
    recent = s.get("recent") or {}
    for title, key, fmt in (
        ("orders", "orders", lambda r: f"{r['event']} {r['side']} {r['quantity']} {r['instrument_id']} {r['reason']}"),
        ("fills", "fills", lambda r: f"{r['side']} {r['quantity']} {r['instrument_id']} @ {r['price']}"),
        (
            "closed",
            "closed_trades",
            lambda r: (
                f"{r['side']} {r['quantity']} {r['instrument_id']} {r['entry_avg_px']} -> "
                f"{r['exit_avg_px']} net {r['net_pnl']} ({r['exit_reason']})"
            ),
        ),
    ):
        last: list[dict[str, Any]] = (recent.get(key) or [])[-5:]
        lines.append(f"{title:<10} " + ("none" if not last else f"last {len(last)}:"))
        lines += [f"  {_when(r['ts'])}  {fmt(r)}" for r in last]
    market = s.get("market_data") or {}
    lines.append(
        "market     "
        + (
            ", ".join(
                f"{iid} " + ("no bar yet" if m["age_s"] is None else f"{m['last_close']} ({m['age_s']:.0f}s ago)")
                for iid, m in market.items()
            )
            or "-"
        )
    )
    signals = s.get("signals") or {}
    targets = signals.get("targets")
    rejections = (signals.get("rejections") or {}).get("counts")
    lines.append(
        f"signals    {signals.get('source', '-')}"
        + (f"  rejected entries: {', '.join(f'{c}={n}' for c, n in rejections.items())}" if rejections else "")
        + (
            ": "
            + (", ".join(f"{iid} {t['target']:+g} ({t['age_s']:.0f}s ago)" for iid, t in targets.items()) or "none yet")
            if targets is not None
            else ""
        )
    )
    warm = s.get("warm_up")
    if warm:
        state = "ready" if warm["ready"] else "WARMING UP"
        lines.append(
            f"warm-up    {state}: {warm['needed_bars']} bars needed; have "
            + ", ".join(f"{i} {n}" for i, n in warm["bars"].items())
        )
    errors = s.get("errors") or {}
    lines.append("errors     " + (", ".join(f"{c}={n}" for c, n in (errors.get("by_code") or {}).items()) or "none"))
    lines += [
        f"  {_when(e['ts_ns'])}  {e['level']} {e['code']}: {e['message']}" for e in (errors.get("last") or [])[-3:]
    ]
    lease = s.get("lease") or {}
    if lease:
        lines.append(
            f"lease      held={lease.get('held')} renewals={lease.get('renewals')} failures={lease.get('failures')}"
        )
    return lines


def _when(ts_ns: Any) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(int(ts_ns) / 1e9)) if ts_ns else "-"


def cmd_status(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    status, code = collect_status(_load(args.config))
    _emit(status, render_status(status), args.json, redactor)
    return code


# ------------------------------------------------------------------------------------------ faults
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
    _emit(rows, human, args.json, redactor)
    return EXIT_OK


# ------------------------------------------------------------------------------------------ mode-verify
def identities(config: Config, state_dir: Path) -> dict[str, str]:
    """Everything a namespace owns that another deployment must not share."""
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
        for b, idb in ids[i + 1 :]:
            for what, value in ida.items():
                other = idb[what]
                clash = value == other or (
                    what == "client order id prefix" and (value.startswith(other) or other.startswith(value))
                )
                if clash:
                    found.append(f"{what} collides: {a.source} ({value}) and {b.source} ({other})")
    return found


def live_state_violations(config: Config, state_dir: Path) -> tuple[list[str], list[str]]:
    """Check the namespace's maps on the live Hazelcast cluster: its lease and its heartbeat must come from a
    node of this namespace (node ids are `<trader id>@host:pid`). Returns (violations, the cluster's
    DOLPHIN_* maps). Raises when the cluster cannot be read."""

    ns, trader = config.node.namespace, config.node.trader_id
    live = open_live_state(config, state_dir)
    try:
        if not isinstance(live, HazelcastStateStore):
            raise TypeError(f"{config.source}: [hazelcast] backend is not a cluster")
        holder, heartbeat = live.lease_holder(), live.get("heartbeat") or {}
        maps = sorted(n for n in live.cluster_map_names() if n.startswith("DOLPHIN_"))
    finally:
        live.close()
    found = []
    if holder is not None and not holder.startswith(f"{trader}@"):
        found.append(f"lease of {live.lease_map_name} is held by {holder!r}, not by a node of {ns!r} ({trader})")
    writer = heartbeat.get("node_id")
    if writer is not None and not str(writer).startswith(f"{trader}@"):
        found.append(
            f"heartbeat in {live.state_map_name} was written by {writer!r}, not by a node of {ns!r} ({trader})"
        )
    return found, maps


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
            violations.append(
                f"foreign namespace row in {store.database}.{row['table']}: namespace "
                f"{row['namespace']!r} (row_id {row['row_id']}) in the database of "
                f"{config.node.namespace!r} ({config.source})"
            )
    cluster_maps: dict[str, list[str]] = {}
    for config in configs:
        if args.skip_stores or config.hazelcast.backend != "cluster":
            continue
        where = f"{config.hazelcast.cluster_name}@{','.join(config.hazelcast.members)}"
        try:
            found, cluster_maps[where] = live_state_violations(config, _state_dir(config))
        except Exception as exc:  # noqa: BLE001 - an unreadable cluster is reported, not a crash
            unchecked.append(f"{config.source}: Hazelcast {where} unreadable: {type(exc).__name__}: {exc}")
            continue
        checked.append(f"{where}/{state_map_name(config.node.namespace)}")
        violations += [f"{v} ({config.source})" for v in found]
    result = {
        "configs": [c.source for c in configs],
        "violations": violations,
        "databases_checked": checked,
        "unchecked": unchecked,
        "cluster_maps": cluster_maps,
    }
    human = "\n".join(
        [
            f"mode-verify: {len(configs)} config(s), databases checked: {', '.join(checked) or 'none'}",
            *(f"maps on {where}: {', '.join(names) or 'none'}" for where, names in cluster_maps.items()),
            *(f"VIOLATION: {v}" for v in violations),
            *(f"NOT CHECKED: {u}" for u in unchecked),
            "OK: namespaces are isolated" if not violations and not unchecked else "",
        ]
    ).rstrip()
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
        _emit(data, human.strip(), args.json, redactor)
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
        _emit(data, f"restarted through {command[0]}: {' '.join(command)} {output}".strip(), args.json, redactor)
        return EXIT_OK
    human = (
        f"RESTART FAILED: `{' '.join(command)}` exited {returncode}: {output or '(no output)'}; the node was "
        f"not restarted. Check the supervisor ({command[0]}) and the node's unit/program name."
    )
    if args.json:
        _emit(data, human, True, redactor)
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
def open_stores_for_cleanup(config: Config, state_dir: Path):
    """Full stores (inline): tombstones are namespace writes, so this takes the namespace lease and refuses
    plainly while a node holds it or holds the embedded store."""
    open_clickhouse(config, state_dir).close()  # the plain "held by running node" check first
    try:
        return Stores(config, state_dir, mode="inline", node_id=f"dolphin-ctl@{os.getpid()}")
    except LeaseHeld as exc:
        raise CtlError(EXIT_STORE, f"{exc}; stop the node first (history-clean writes to the namespace)") from None
    except StoreBusy:
        raise CtlError(EXIT_STORE, busy_message(config, state_dir, _node_holder(state_dir))) from None
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
    config = _load(args.config)
    stores = open_stores_for_cleanup(config, _state_dir(config))
    try:
        rejected = find_rejected_history(stores, specs=_cleanup_specs(config))
        result = write_tombstones(stores, [t.trade_id for t in rejected], dry_run=not args.apply)
    finally:
        stores.close()
    items = [_plain(r) for r in rejected]
    data = {"applied": args.apply, "rejected": items, "tombstones": _plain(result)}
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
    _emit(data, human, args.json, redactor)
    return EXIT_ATTENTION if items and not args.apply else EXIT_OK


def _plain(value: Any) -> Any:
    try:
        return msgspec.to_builtins(value)
    except TypeError:
        return str(value)


# ------------------------------------------------------------------------------------------ restore-report
def cmd_restore_report(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    """The last restore report the node wrote into its state dir (text as written, or its JSON)."""

    state_dir = _state_dir(_load(args.config))
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
    _emit(data, f"restore report of {state_dir} (written {data['written_at']}):\n{text}", args.json, redactor)
    return EXIT_OK


# ------------------------------------------------------------------------------------------ venue
def _venue_access(config: Config) -> tuple[str, Any, int]:
    """REST URL and credentials of the config's venue (secrets from the environment only)."""
    from dolphin_nautilus.node.assembly import bingx_urls  # heavy (loads Nautilus): only the venue commands need it

    if config.node.environment == "backtest":
        raise CtlError(EXIT_USAGE, "a backtest has no venue: use a vst or live config")
    try:
        credentials = BingXCredentials.from_env()
    except MissingCredentialsError as exc:
        raise CtlError(EXIT_USAGE, str(exc)) from None
    return bingx_urls(config).rest, credentials, config.bingx.recv_window_ms


def _read_venue(config: Config):

    rest, credentials, recv_window = _venue_access(config)
    try:
        return run(read_venue(rest, credentials, recv_window))
    except Exception as exc:  # noqa: BLE001 - any venue failure: say which and stop
        raise CtlError(EXIT_FAILED, f"cannot read the venue at {rest}: {type(exc).__name__}: {exc}") from None


def _book_slots(config: Config, state_dir: Path) -> tuple[list[dict[str, Any]], str]:
    """The node's open slots from the live-state store, and a note when it cannot be read."""

    try:
        live = open_live_state(config, state_dir)
    except Exception as exc:  # noqa: BLE001 - the venue side still prints
        return [], f"live state unavailable: {type(exc).__name__}: {exc}"
    try:
        entries = live.entries()
    finally:
        live.close()
    return [_slot_row(k, v) for k, v in sorted(entries.items()) if k not in RESERVED_LIVE_KEYS], ""


def cmd_positions(args: argparse.Namespace, redactor: RedactingFilter) -> int:

    config = _load(args.config)
    venue = _read_venue(config)
    slots, note = _book_slots(config, _state_dir(config))
    rows = compare_positions(venue, slots, config.strategy.instruments)
    differ = [r for r in rows if r["diff"]]
    data = {"namespace": config.node.namespace, "positions": rows, "differences": len(differ), "book_note": note}
    human = "\n".join(
        [
            f"positions of {config.node.namespace}: venue (signed qty) vs book (open slots)",
            _table(
                [
                    [
                        r["instrument_id"],
                        r["venue"],
                        r["avg_price"] if r["venue"] != "0" else "",
                        r["book"],
                        ",".join(r["trade_ids"]),
                        r["diff"] or "same",
                    ]
                    for r in rows
                ],
                ["instrument", "venue", "avg price", "book", "trades", "difference"],
            ),
            *([f"NOTE: {note}"] if note else []),
            f"{len(differ)} difference(s)" if differ else "venue and book agree",
        ]
    )
    _emit(data, human, args.json, redactor)
    return EXIT_ATTENTION if differ or note else EXIT_OK


def cmd_orders(args: argparse.Namespace, redactor: RedactingFilter) -> int:

    config = _load(args.config)
    venue = _read_venue(config)
    slots, note = _book_slots(config, _state_dir(config))
    rows = compare_orders(venue, slots, config.node.client_order_prefix)
    differ = [r for r in rows if r["diff"]]
    data = {"namespace": config.node.namespace, "orders": rows, "differences": len(differ), "book_note": note}
    human = "\n".join(
        [
            f"open orders at the venue for {config.node.namespace} "
            f"(ours: client order id '{config.node.client_order_prefix}-...')",
            _table(
                [
                    [
                        r["instrument_id"],
                        r["client_order_id"] or "-",
                        r["order_id"],
                        r["side"],
                        r["type"],
                        r["quantity"],
                        r["price"],
                        r["filled"],
                        "yes" if r["reduce_only"] else "",
                        r["diff"] or "ok",
                    ]
                    for r in rows
                ],
                [
                    "instrument",
                    "client id",
                    "order id",
                    "side",
                    "type",
                    "qty",
                    "price",
                    "filled",
                    "reduce",
                    "difference",
                ],
            )
            if rows
            else "  (none)",
            *([f"NOTE: {note}"] if note else []),
            f"{len(differ)} difference(s)" if differ else "no differences",
        ]
    )
    _emit(data, human, args.json, redactor)
    return EXIT_ATTENTION if differ or note else EXIT_OK


def _wait_flatten_result(state_dir: Path, request: dict[str, Any], wait_s: float) -> dict[str, Any] | None:
    """The node's answer to this request (matched by its request time), or None after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        result = read_json(state_dir / FLATTEN_RESULT_FILE)
        if result and (result.get("request") or {}).get("requested_at_ns") == request["requested_at_ns"]:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


def cmd_flatten(args: argparse.Namespace, redactor: RedactingFilter) -> int:
    """Dry run by default; --apply closes through the running node (request file) or, with none running,
    directly through the adapter's HTTP client with reduce-only market orders."""

    config = _load(args.config)
    state_dir = _state_dir(config)
    wanted = args.instrument or list(config.strategy.instruments)
    venue = _read_venue(config)
    plan = flatten_plan(venue, wanted, config.node.client_order_prefix)
    node = read_json(state_dir / STATUS_FILE) or {}
    running = bool(node.get("pid")) and pid_alive(int(node["pid"])) and node.get("trader_running", False)
    data: dict[str, Any] = {
        "namespace": config.node.namespace,
        "applied": args.apply,
        "node_running": running,
        "instruments": wanted,
        "closes": [],
        "via": "dry run",
    }
    lines = [f"flatten {config.node.namespace}: {len(plan)} position(s) to close among {', '.join(wanted)}"]
    code = EXIT_OK
    if not args.apply:
        data["closes"] = [_plain(p) for p in plan]
        lines += [
            f"  would send {p.side} {p.quantity} {p.instrument_id} MARKET reduce-only (venue holds {p.position})"
            for p in plan
        ]
        lines.append("dry run: nothing sent; add --apply to send")
    elif not plan:
        lines.append("nothing to close: the venue is flat on these instruments")
    elif running:
        request = {
            "requested_at_ns": time.time_ns(),
            "requested_by": requested_by(),
            "instruments": wanted,
            "closes": [_plain(p) for p in plan],
        }
        write_json(state_dir / FLATTEN_REQUEST_FILE, request)
        data.update(
            via="node request file",
            request_file=str(state_dir / FLATTEN_REQUEST_FILE),
            request=request,
            closes=request["closes"],
        )
        lines.append(
            f"node {node.get('node_id')} runs: wrote {state_dir / FLATTEN_REQUEST_FILE} for it to close "
            "through its own execution client (so its book sees the exits)"
        )
        if "flatten" not in (node.get("accepts") or []):
            code = EXIT_ATTENTION
            lines.append(
                "ATTENTION: this node does not say it takes flatten requests (no 'flatten' in its "
                "status 'accepts'); stop it and run this again to close directly, or use the BingX UI"
            )
        else:
            result = _wait_flatten_result(state_dir, request, args.wait)
            data["result"] = result
            if result is None:
                code = EXIT_ATTENTION
                lines.append(f"ATTENTION: no answer from the node within {args.wait:.0f}s (control/flatten.result)")
            else:
                lines += [
                    f"  {r['instrument_id']}: {r['outcome']} {r['client_order_id']}".rstrip() for r in result["closes"]
                ]
                if not result.get("ok"):
                    code = EXIT_FAILED
    else:
        rest, credentials, recv_window = _venue_access(config)
        done = run(send_flatten(rest, credentials, recv_window, plan))
        data.update(via="adapter http client", closes=[_plain(p) for p in done])
        lines += [
            f"  {p.side} {p.quantity} {p.instrument_id} reduce-only {p.client_order_id}: {p.outcome}" for p in done
        ]
        if any(p.outcome.startswith("FAILED") for p in done):
            code = EXIT_FAILED
    _emit(data, "\n".join(lines), args.json, redactor)
    return code


# ------------------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dolphin-ctl",
        description="Operate dolphin nodes.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str, *, config: bool = True, many: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if config:
            p.add_argument(
                "--config",
                required=True,
                action="append" if many else "store",
                help="a node config" + (" (repeat for every deployment)" if many else ""),
            )
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    add("status", "per namespace: node, lease, heartbeat, open slots, safe mode, anomalies by code, restore report")
    p = add("faults", "the fault taxonomy: what each code means, what the system does, what you do", config=False)
    p.add_argument("--markdown", action="store_true", help="the taxonomy as docs/operator.md carries it")
    p = add("mode-verify", "namespace isolation: no shared database/maps/prefix/trader id, no foreign rows", many=True)
    p.add_argument("--skip-stores", action="store_true", help="only compare the configs")
    p = add("restart", "ask the running node for a full venue reconcile; --hard restarts it via the supervisor")
    p.add_argument("--hard", action="store_true", help="restart through supervisorctl or systemctl")
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for the node's reconcile result")
    p = add("history-clean", "list trades whose history restore rejects; --apply writes tombstones (never deletes)")
    p.add_argument("--apply", action="store_true", help="write the tombstone rows (default: dry run)")
    add("restore-report", "the last restore report of the namespace (from its state dir)")
    add("positions", "venue positions (BingX REST) beside the book's open slots, differences marked")
    add("orders", "the venue's open orders, each marked ours / no slot / foreign")
    p = add(
        "flatten",
        "close positions with reduce-only market orders: dry run unless --apply; through the "
        "running node when one runs, directly through the adapter when none does",
    )
    p.add_argument(
        "--instrument", action="append", help="an instrument id to close (repeat; default: every configured instrument)"
    )
    p.add_argument("--apply", action="store_true", help="send the closes (default: only show them)")
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a running node's answer (default 30)")
    return parser


COMMANDS = {
    "status": cmd_status,
    "faults": cmd_faults,
    "mode-verify": cmd_mode_verify,
    "restart": cmd_restart,
    "history-clean": cmd_history_clean,
    "restore-report": cmd_restore_report,
    "positions": cmd_positions,
    "orders": cmd_orders,
    "flatten": cmd_flatten,
}


def main(argv: list[str] | None = None) -> int:
    restrict_new_files()
    args = build_parser().parse_args(argv)
    redactor = RedactingFilter(secret_values(Secrets.from_env()))
    try:
        try:
            return COMMANDS[args.command](args, redactor)
        except CtlError as exc:
            message = redactor.redact(str(exc))
            if getattr(args, "json", False):  # --json always gives JSON, failures included
                print(
                    json.dumps(
                        {"command": args.command, "ok": False, "exit_code": exc.exit_code, "error": message},
                        indent=2,
                        sort_keys=True,
                    )
                )
            print(f"dolphin-ctl {args.command}: {message}", file=sys.stderr)
            return exc.exit_code
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`dolphin-ctl faults | head`): nothing more to say, and no traceback. Point
        # stdout at devnull so the interpreter's own flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
