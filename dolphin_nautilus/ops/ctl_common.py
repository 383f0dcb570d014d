"""What every `dolphin-ctl` command shares: exit codes, the error that carries one, config and store access,
and the output helpers (JSON or a human table, always redacted).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from pathlib import Path
from typing import Any

import msgspec

from dolphin_nautilus.config import Config, ConfigError, Secrets, load_config
from dolphin_nautilus.journal.settings import StoreBusy, StoreError
from dolphin_nautilus.journal.store import ClickHouseStore, _chdb_lock_holder
from dolphin_nautilus.logs import RedactingFilter
from dolphin_nautilus.node.stores import clickhouse_config
from dolphin_nautilus.state.node_files import STATUS_FILE, read_json

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

RESERVED_LIVE_KEYS = frozenset({"heartbeat", "account", "restarts"})


class CtlError(Exception):
    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ------------------------------------------------------------------------------------------ helpers
def load_ctl_config(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CtlError(EXIT_USAGE, f"bad config: {exc}") from None


def ctl_store_location(config: Config, state_dir: Path) -> str:
    ch = config.clickhouse
    return str(state_dir / ch.path) if ch.backend == "chdb" else f"http://{ch.host}:{ch.port}"


def busy_message(config: Config, state_dir: Path, holder: str | None) -> str:
    return (
        f"the store at {ctl_store_location(config, state_dir)} is held by running node {holder or '(unknown)'}; "
        "run this against a ClickHouse server, or stop the node"
    )


def open_clickhouse(config: Config, state_dir: Path, secrets: Secrets, holder: str | None = None):
    """A reader on the namespace's ClickHouse; StoreBusy becomes a plain CtlError naming the holder."""
    chdb_path = state_dir / config.clickhouse.path
    if config.clickhouse.backend == "chdb":
        if not chdb_path.exists():
            raise CtlError(EXIT_STORE, f"no journal at {chdb_path} (the node never ran here)")
        locked_by = _chdb_lock_holder(str(chdb_path))  # ask before chDB prints its own lock error
        if locked_by is not None:
            raise CtlError(
                EXIT_STORE,
                busy_message(
                    config, state_dir, holder or node_id_from_status(state_dir) or f"(chDB lock: {locked_by})"
                ),
            )
    try:
        return ClickHouseStore(
            clickhouse_config(config, state_dir), migrate=False, password=secrets.clickhouse_password
        )
    except StoreBusy:
        raise CtlError(EXIT_STORE, busy_message(config, state_dir, holder or node_id_from_status(state_dir))) from None
    except StoreError as exc:
        raise CtlError(
            EXIT_STORE, f"ClickHouse unavailable at {ctl_store_location(config, state_dir)}: {exc}"
        ) from None


def node_id_from_status(state_dir: Path) -> str | None:
    status = read_json(state_dir / STATUS_FILE) or {}
    return status.get("node_id")


def requested_by() -> str:
    """Who asked: the operator's user, host and process (not the node that will act on it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER in a bare container
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} (dolphin-ctl)"


def emit_result(data: Any, human: str, as_json: bool, redactor: RedactingFilter) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str) if as_json else human
    print(redactor.redact(text))


def text_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def live_slot_row(trade_id: str, value: dict) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "instrument_id": value.get("instrument_id", ""),
        "side": value.get("side", ""),
        "quantity": str(value.get("quantity", "")),
        "status": value.get("status", ""),
        "bars_held": value.get("bars_held", ""),
    }


def plain_value(value: Any) -> Any:
    try:
        return msgspec.to_builtins(value)
    except TypeError:
        return str(value)
