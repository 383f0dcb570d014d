"""`dolphin-ctl`: the operator's command line (status, faults, mode-verify, restart, history-clean,
restore-report, positions, orders, flatten). This module parses the arguments and dispatches; each topic's
commands live in their own module (ctl_status, ctl_faults, ctl_isolation, ctl_recovery, ctl_venue), and
what they share in ctl_common.

Human tables by default, `--json` for scripts. Secrets are never printed: values come from the stores and
the node's status file, and every line is passed through the same redaction as the node logs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from dolphin_nautilus.config import Secrets, restrict_new_files
from dolphin_nautilus.logs import RedactingFilter, secret_values
from dolphin_nautilus.ops.ctl_common import EXIT_HELP, EXIT_OK, CtlError
from dolphin_nautilus.ops.ctl_faults import cmd_faults
from dolphin_nautilus.ops.ctl_isolation import cmd_mode_verify
from dolphin_nautilus.ops.ctl_recovery import cmd_history_clean, cmd_restart, cmd_restore_report
from dolphin_nautilus.ops.ctl_status import cmd_status
from dolphin_nautilus.ops.ctl_venue import cmd_flatten, cmd_orders, cmd_positions


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
    args.secrets = Secrets.from_env()  # read once; the commands pass it to the stores and the venue client
    redactor = RedactingFilter(secret_values(args.secrets))
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
