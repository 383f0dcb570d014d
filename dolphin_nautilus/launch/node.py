"""`dolphin-node --config configs/vst.toml`: run one namespace's live TradingNode (vst or live).

Order of start-up, each step failing with its own exit code and a message saying what to do:
config (2) -> live authorization (3) -> stores and the namespace lease (4) -> venue contracts (6, or 9 for an
instrument the venue does not list) -> TradingNode with the BingX clients, restore, journal, strategy, fault
log and control actors -> watchdog: the trader must be running within `--startup-timeout` seconds (5), because
Nautilus keeps an idle node alive when a client fails to connect or reconciliation fails.

A connect failure no restart can fix ends start-up at once instead: the BingX clients classify it and record a
typed `contracts.venue.VenueRefusal` in the Nautilus cache (Nautilus itself only logs a failed connect), which
the watchdog reads every 20 ms: refused credentials (7), a hedge-mode account (8), an untradable instrument
(9). The supervisor and systemd examples restart neither these nor 0/2/3 (`launch.node_exits.EXIT_CODES` is the
one table; tests compare the examples with it). The clients' own classification is used rather than a second pre-flight
call because it is the venue's answer to the very requests the node makes, with the node's config
(switch_to_one_way) and HTTP client, and it also covers a refusal that appears only at connect.
SIGINT/SIGTERM stop the node gracefully (strategy snapshot, journal flushed, stores closed) and exit 0.

Start time: the store service starts (a child process: chDB, the live state, the lease) on a thread while the
main thread imports the node run (`launch.node_run`: Nautilus and the node's components, the heaviest part of
a start), so the two overlap. Before that, this module's own imports load neither the ClickHouse nor the
Hazelcast store client (only their settings and errors): the store service loads them, in its own process.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials, MissingCredentialsError
from dolphin_nautilus.config import (
    LIVE_AUTHORIZATION_PHRASE,
    Config,
    ConfigError,
    Secrets,
    load_config,
    restrict_new_files,
    state_dir_for,
)
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.journal.settings import StoreBusy, StoreError
from dolphin_nautilus.launch.node_exits import (
    EXIT_CODES_HELP,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_LIVE_NOT_AUTHORIZED,
    EXIT_STORES,
    LaunchError,
)
from dolphin_nautilus.logs import log_event, node_logger, setup_logging
from dolphin_nautilus.node.stores import open_node_stores
from dolphin_nautilus.state import LeaseHeld, StateStoreError
from dolphin_nautilus.stores.identity import NodeAlreadyRunning, hold_node_lock, node_holder_id

LIVE_REFUSAL = (
    "live trading refused: this config trades REAL MONEY on BingX and is not authorized. To authorize, set "
    f"the environment variable DOLPHIN_LIVE_AUTHORIZATION={LIVE_AUTHORIZATION_PHRASE} for the node "
    f'(or node.live_authorization = "{LIVE_AUTHORIZATION_PHRASE}" in the config).'
)

log = node_logger("launcher")


def check_authorized(config: Config) -> None:
    if config.node.environment == "live" and config.node.live_authorization != LIVE_AUTHORIZATION_PHRASE:
        raise LaunchError(EXIT_LIVE_NOT_AUTHORIZED, LIVE_REFUSAL, Code.LIVE_NOT_AUTHORIZED)


def load(path: str) -> Config:
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise LaunchError(EXIT_CONFIG, f"bad config: {exc}", Code.CONFIG_REFUSED) from None
    if config.node.environment not in ("vst", "live"):
        raise LaunchError(
            EXIT_CONFIG,
            f"{path}: node.environment is {config.node.environment!r}; dolphin-node runs "
            "'vst' or 'live' (backtests: dolphin-backtest)",
            Code.CONFIG_REFUSED,
        )
    return config


def bingx_credentials(secrets: Secrets) -> BingXCredentials:
    """The venue key pair from the secrets read once at start; exit 2 when either is missing."""
    try:
        return BingXCredentials.from_secrets(secrets.bingx_api_key, secrets.bingx_api_secret)
    except MissingCredentialsError as exc:
        raise LaunchError(EXIT_CONFIG, str(exc), Code.CONFIG_REFUSED) from None


LEASE_WAIT_MARGIN_S = 5.0  # beyond the lease TTL: a crashed holder's lease has certainly expired by then
LEASE_RETRY_INTERVAL_S = 1.0


def open_stores(config: Config, state_dir: Path, secrets: Secrets):
    """The store service takes the namespace lease (LeaseHeld, a StateStoreError, names the holder) and is its
    only renewer; it also writes the heartbeat. The holder id survives the process (`stores.identity`), so
    after a crash this node takes over its own previous life's lease at once. A lease held by another holder,
    or the chDB folder still held by a previous life's store service while it closes, is waited for here (one
    log line with its code) for up to one lease TTL, instead of exiting and being restarted over and over."""
    node_id = node_holder_id(config.node.trader_id, state_dir)
    deadline = time.monotonic() + config.hazelcast.lease_ttl_s + LEASE_WAIT_MARGIN_S
    waiting_logged = False
    while True:
        try:
            return open_node_stores(config, state_dir, secrets=secrets, node_id=node_id)
        except (LeaseHeld, StoreBusy) as exc:
            code = Code.LEASE_HELD if isinstance(exc, LeaseHeld) else Code.STORES_UNAVAILABLE
            if time.monotonic() >= deadline:
                raise LaunchError(EXIT_STORES, f"{type(exc).__name__}: {exc}", code) from None
            if not waiting_logged:
                log_event(
                    log,
                    logging.WARNING,
                    "waiting_for_lease",
                    f"{type(exc).__name__}: {exc}; this node ({node_id}) waits up to "
                    f"{max(0.0, deadline - time.monotonic()):.0f}s for it, "
                    f"retrying every {LEASE_RETRY_INTERVAL_S:.0f}s",
                    code=code,
                )
                waiting_logged = True
            time.sleep(LEASE_RETRY_INTERVAL_S)
        except (StoreError, StateStoreError) as exc:
            raise LaunchError(EXIT_STORES, f"{type(exc).__name__}: {exc}", Code.STORES_UNAVAILABLE) from None


def hold_state_dir(state_dir: Path) -> int:
    """This node's state folder is its own while it runs (a second process with the same identity would take
    its lease): exit 4 when another process holds it."""
    try:
        return hold_node_lock(state_dir)
    except NodeAlreadyRunning as exc:
        raise LaunchError(EXIT_STORES, str(exc), Code.LEASE_HELD) from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dolphin-node",
        description="Run a dolphin live node (vst or live).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, help="a node config, e.g. configs/vst.toml")
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=90.0,
        help="seconds for the trader to reach RUNNING before giving up (default 90)",
    )
    parser.add_argument(
        "--without-restore",
        action="store_true",
        help="vst only: start flat without restoring slots (a fresh paper account); refused for live",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    restrict_new_files()
    args = parse_args(argv)
    try:
        return launch(args.config, startup_timeout_s=args.startup_timeout, without_restore=args.without_restore)
    except LaunchError as exc:
        # Logging may not be set up yet (bad config): the refusal always reaches stderr as one JSON line too.
        print(
            json.dumps(
                {
                    "level": "CRITICAL",
                    "component": "launcher",
                    "event": "refused",
                    "code": str(exc.code),
                    "exit_code": exc.exit_code,
                    "message": str(exc),
                }
            ),
            file=sys.stderr,
        )
        return exc.exit_code


def launch(config_path: str, *, startup_timeout_s: float, without_restore: bool = False) -> int:
    config = load(config_path)
    check_authorized(config)
    if without_restore and config.node.environment == "live":
        raise LaunchError(
            EXIT_CONFIG, "--without-restore is refused for live: a live node always restores", Code.CONFIG_REFUSED
        )
    secrets = Secrets.from_env()  # read once: the venue clients, the log redactor and the stores get them from here
    credentials = bingx_credentials(secrets)
    state_dir = state_dir_for(config)
    log_file = setup_logging(state_dir, config.node.log_level if config.node.log_level != "ERROR" else "INFO", secrets)
    log_event(
        log,
        logging.INFO,
        "starting",
        f"dolphin-node {config.node.environment}/{config.node.namespace}",
        config=str(Path(config.source).resolve()),
        state_dir=str(state_dir),
        log_file=str(log_file),
    )
    _logged(hold_state_dir, state_dir)  # held (fd kept open) until the process ends, however it ends
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-stores") as pool:
        opening = pool.submit(_logged, open_stores, config, state_dir, secrets)
        # Heavy (Nautilus and the node's components, ~1.3 s): imported while the store service starts beside it.
        try:
            node_run = importlib.import_module("dolphin_nautilus.launch.node_run")
        except BaseException:
            _close_stores_when_open(opening)
            raise
        stores = opening.result()
    status = EXIT_FAILED
    try:
        _logged(node_run.check_venue_lists_instruments, config)
        run = node_run.NodeRun(
            config,
            stores,
            state_dir,
            log_file,
            credentials=credentials,
            startup_timeout_s=startup_timeout_s,
            without_restore=without_restore,
        )
        status = run.run()
        return status
    except LaunchError as exc:
        status = exc.exit_code
        raise
    except Exception as exc:
        log.exception("node failed", extra={"event": "crashed", "code": Code.NODE_FAILED})
        raise LaunchError(EXIT_FAILED, f"node failed: {type(exc).__name__}: {exc}", Code.NODE_FAILED) from exc
    finally:
        journal_rows = _close_stores(stores)
        log_event(log, logging.INFO, "stopped", "stores closed, journal flushed", exit_code=status, **journal_rows)


def _close_stores_when_open(opening) -> None:
    """The import failed: close the stores the other thread opens (or fails to), so no lease stays held."""
    try:
        stores = opening.result()
    except BaseException:  # noqa: BLE001 - the import's failure is the one to report
        return
    _close_stores(stores)


def _logged(step, *args):
    try:
        return step(*args)
    except LaunchError as exc:
        log_event(log, logging.CRITICAL, "refused", str(exc), code=exc.code, exit_code=exc.exit_code)
        raise


def _close_stores(stores) -> dict:
    try:
        status = stores.close()
    except Exception as exc:  # noqa: BLE001 - reported; the spool keeps whatever did not reach ClickHouse
        log_event(
            log, logging.ERROR, "stores_close_failed", f"{type(exc).__name__}: {exc}", code=Code.STORES_UNAVAILABLE
        )
        return {}
    return {"journal": msgspec.to_builtins(status)} if status is not None else {}


if __name__ == "__main__":
    sys.exit(main())
