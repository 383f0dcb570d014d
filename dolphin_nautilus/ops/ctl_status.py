"""`dolphin-ctl status`: per namespace, the node, its lease and heartbeat, open slots, safe mode, anomalies by
code and the restore report; from the running node's status snapshot when it has one, else from the stores.
"""

from __future__ import annotations

import argparse
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

from dolphin_nautilus.config import Config, Secrets, state_dir_for
from dolphin_nautilus.logs import RedactingFilter
from dolphin_nautilus.node.stores import open_live_state
from dolphin_nautilus.ops.ctl_common import (
    EXIT_ATTENTION,
    EXIT_OK,
    EXIT_STORE,
    RESERVED_LIVE_KEYS,
    CtlError,
    emit_result,
    live_slot_row,
    load_ctl_config,
    open_clickhouse,
    text_table,
)
from dolphin_nautilus.state.node_files import RESULT_FILE, STATUS_FILE, pid_alive, read_json

STALE_HEARTBEAT_S = 30.0  # a lease holder whose heartbeat is older than this is reported


def _age_s(ts_ns: int | None) -> float | None:
    return None if not ts_ns else max(0.0, (time.time_ns() - int(ts_ns)) / 1e9)


def collect_status(config: Config, secrets: Secrets) -> tuple[dict[str, Any], int]:
    state_dir = state_dir_for(config)
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
        live = open_live_state(config, state_dir, secrets)
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
        out["open_slots"] = [live_slot_row(k, v) for k, v in sorted(entries.items()) if k not in RESERVED_LIVE_KEYS]
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
        store = open_clickhouse(config, state_dir, secrets, holder)
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
                    text_table(
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
        lines.append(textwrap.indent(text_table(rows, header), "  "))
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
    status, code = collect_status(load_ctl_config(args.config), args.secrets)
    emit_result(status, render_status(status), args.json, redactor)
    return code
