"""`dolphin-ctl positions`, `orders` and `flatten`: the venue's view (BingX REST) beside the book's, and
reduce-only closes through the running node or, with none running, directly through the adapter's HTTP client.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials, MissingCredentialsError
from dolphin_nautilus.config import Config, Secrets, state_dir_for
from dolphin_nautilus.logs import RedactingFilter
from dolphin_nautilus.node.stores import open_live_state
from dolphin_nautilus.ops.ctl_common import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    RESERVED_LIVE_KEYS,
    CtlError,
    emit_result,
    live_slot_row,
    load_ctl_config,
    plain_value,
    requested_by,
    text_table,
)
from dolphin_nautilus.ops.venue import compare_orders, compare_positions, flatten_plan, read_venue, run, send_flatten
from dolphin_nautilus.state.node_files import (
    FLATTEN_REQUEST_FILE,
    FLATTEN_RESULT_FILE,
    STATUS_FILE,
    pid_alive,
    read_json,
    write_json,
)


def _venue_access(config: Config, secrets: Secrets) -> tuple[str, Any, int]:
    """REST URL and credentials of the config's venue (the secrets dolphin-ctl read from the environment at start)."""
    from dolphin_nautilus.node.assembly import bingx_urls  # heavy (loads Nautilus): only the venue commands need it

    if config.node.environment == "backtest":
        raise CtlError(EXIT_USAGE, "a backtest has no venue: use a vst or live config")
    try:
        credentials = BingXCredentials.from_secrets(secrets.bingx_api_key, secrets.bingx_api_secret)
    except MissingCredentialsError as exc:
        raise CtlError(EXIT_USAGE, str(exc)) from None
    return bingx_urls(config).rest, credentials, config.bingx.recv_window_ms


def _read_venue(config: Config, secrets: Secrets):

    rest, credentials, recv_window = _venue_access(config, secrets)
    try:
        return run(read_venue(rest, credentials, recv_window))
    except Exception as exc:  # noqa: BLE001 - any venue failure: say which and stop
        raise CtlError(EXIT_FAILED, f"cannot read the venue at {rest}: {type(exc).__name__}: {exc}") from None


def _book_slots(config: Config, state_dir: Path, secrets: Secrets) -> tuple[list[dict[str, Any]], str]:
    """The node's open slots from the live-state store, and a note when it cannot be read."""

    try:
        live = open_live_state(config, state_dir, secrets)
    except Exception as exc:  # noqa: BLE001 - the venue side still prints
        return [], f"live state unavailable: {type(exc).__name__}: {exc}"
    try:
        entries = live.entries()
    finally:
        live.close()
    return [live_slot_row(k, v) for k, v in sorted(entries.items()) if k not in RESERVED_LIVE_KEYS], ""


def cmd_positions(args: argparse.Namespace, redactor: RedactingFilter) -> int:

    config = load_ctl_config(args.config)
    venue = _read_venue(config, args.secrets)
    slots, note = _book_slots(config, state_dir_for(config), args.secrets)
    rows = compare_positions(venue, slots, config.strategy.instruments)
    differ = [r for r in rows if r["diff"]]
    data = {"namespace": config.node.namespace, "positions": rows, "differences": len(differ), "book_note": note}
    human = "\n".join(
        [
            f"positions of {config.node.namespace}: venue (signed qty) vs book (open slots)",
            text_table(
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
    emit_result(data, human, args.json, redactor)
    return EXIT_ATTENTION if differ or note else EXIT_OK


def cmd_orders(args: argparse.Namespace, redactor: RedactingFilter) -> int:

    config = load_ctl_config(args.config)
    venue = _read_venue(config, args.secrets)
    slots, note = _book_slots(config, state_dir_for(config), args.secrets)
    rows = compare_orders(venue, slots, config.node.client_order_prefix)
    differ = [r for r in rows if r["diff"]]
    data = {"namespace": config.node.namespace, "orders": rows, "differences": len(differ), "book_note": note}
    human = "\n".join(
        [
            f"open orders at the venue for {config.node.namespace} "
            f"(ours: client order id '{config.node.client_order_prefix}-...')",
            text_table(
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
    emit_result(data, human, args.json, redactor)
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

    config = load_ctl_config(args.config)
    state_dir = state_dir_for(config)
    wanted = args.instrument or list(config.strategy.instruments)
    venue = _read_venue(config, args.secrets)
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
        data["closes"] = [plain_value(p) for p in plan]
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
            "closes": [plain_value(p) for p in plan],
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
        rest, credentials, recv_window = _venue_access(config, args.secrets)
        done = run(send_flatten(rest, credentials, recv_window, plan))
        data.update(via="adapter http client", closes=[plain_value(p) for p in done])
        lines += [
            f"  {p.side} {p.quantity} {p.instrument_id} reduce-only {p.client_order_id}: {p.outcome}" for p in done
        ]
        if any(p.outcome.startswith("FAILED") for p in done):
            code = EXIT_FAILED
    emit_result(data, "\n".join(lines), args.json, redactor)
    return code
