"""`dolphin-node --config configs/vst.toml`: run one namespace's live TradingNode (vst or live).

Order of start-up, each step failing with its own exit code and a message saying what to do:
config (2) -> live authorization (3) -> stores and the namespace lease (4) -> venue contracts (6, or 9 for an
instrument the venue does not list) -> TradingNode with the BingX clients, restore, journal, strategy, fault
log and control actors -> watchdog: the trader must be running within `--startup-timeout` seconds (5), because
Nautilus keeps an idle node alive when a client fails to connect or reconciliation fails.

A connect failure no restart can fix ends start-up at once instead: the BingX clients classify it and record a
typed `contracts.venue.VenueRefusal` in the Nautilus cache (Nautilus itself only logs a failed connect), which
the watchdog reads every 100 ms: refused credentials (7), a hedge-mode account (8), an untradable instrument
(9). The supervisor and systemd examples restart neither these nor 0/2/3 (EXIT_CODES below is the one table;
tests compare the examples with it). The clients' own classification is used rather than a second pre-flight
call because it is the venue's answer to the very requests the node makes, with the node's config
(switch_to_one_way) and HTTP client, and it also covers a refusal that appears only at connect.
SIGINT/SIGTERM stop the node gracefully (strategy snapshot, journal flushed, stores closed) and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

import msgspec

from dolphin_nautilus.actors.control import NodeControlActor
from dolphin_nautilus.adapters.bingx.common.credentials import (
    API_KEY_ENV,
    API_SECRET_ENV,
    BingXCredentials,
)
from dolphin_nautilus.config import (
    LIVE_AUTHORIZATION_PHRASE,
    Config,
    ConfigError,
    Secrets,
    load_config,
    restrict_new_files,
    state_dir_for,
)
from dolphin_nautilus.contracts.venue import VENUE_REFUSAL_CACHE_KEY, VenueRefusal, decode_venue_refusal
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.journal.store import StoreBusy, StoreError
from dolphin_nautilus.logs import log_event, node_logger, setup_logging
from dolphin_nautilus.node.assembly import (
    bingx_urls,
    build_trading_node,
    component,
    trading_node_config,
    venue_specs,
)
from dolphin_nautilus.node.signal_map import open_signal_map
from dolphin_nautilus.node.stores import open_node_stores
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources
from dolphin_nautilus.state import LeaseHeld, StateStoreError
from dolphin_nautilus.stores.identity import NodeAlreadyRunning, hold_node_lock, node_holder_id
from dolphin_nautilus.strategy.strategy import DolphinStrategy

EXIT_OK = 0
EXIT_FAILED = 1  # unexpected error (a bug or a crash while running): the supervisor restarts it
EXIT_CONFIG = 2  # bad config or missing credentials: restarting will not help
EXIT_LIVE_NOT_AUTHORIZED = 3  # live without the authorization phrase: restarting will not help
EXIT_STORES = 4  # namespace lease held by another node (after waiting one lease TTL), or a store unreachable / held
EXIT_NOT_TRADING = 5  # the watchdog: the trader was not running within the start-up timeout
EXIT_VENUE = 6  # the venue could not be asked (its contract list could not be read)
EXIT_CREDENTIALS = 7  # the venue refused the API credentials: restarting will not help
EXIT_ACCOUNT_MODE = 8  # the account is in hedge mode (and not configured to switch): restarting will not help
EXIT_INSTRUMENTS = 9  # a configured instrument is not a tradable perpetual at the venue: restarting will not help


class ExitCode(msgspec.Struct, frozen=True):
    meaning: str
    restart: bool  # whether a supervisor should restart the node after this exit


# THE exit-code table: `--help`, docs/operator.md and the supervisor/systemd examples follow it (tests check).
EXIT_CODES: dict[int, ExitCode] = {
    EXIT_OK: ExitCode("stopped cleanly (SIGINT/SIGTERM)", restart=False),
    EXIT_FAILED: ExitCode("unexpected error while running", restart=True),
    EXIT_CONFIG: ExitCode("bad config or missing BINGX_API_KEY/BINGX_API_SECRET", restart=False),
    EXIT_LIVE_NOT_AUTHORIZED: ExitCode("live environment without the authorization phrase", restart=False),
    EXIT_STORES: ExitCode("stores unavailable or the namespace lease is held", restart=True),
    EXIT_NOT_TRADING: ExitCode("the trader did not reach RUNNING within --startup-timeout", restart=True),
    EXIT_VENUE: ExitCode("the venue could not be asked for its contract list", restart=True),
    EXIT_CREDENTIALS: ExitCode(
        "BingX refused the API credentials (key, secret, permissions, IP whitelist)", restart=False
    ),
    EXIT_ACCOUNT_MODE: ExitCode("the BingX account is in hedge mode (bingx.switch_to_one_way is off)", restart=False),
    EXIT_INSTRUMENTS: ExitCode("an instrument is not a tradable perpetual at BingX", restart=False),
}
NO_RESTART_EXIT_CODES = tuple(code for code, exit_code in EXIT_CODES.items() if not exit_code.restart)
REFUSAL_EXIT_CODES = {
    "credentials": EXIT_CREDENTIALS,
    "account_mode": EXIT_ACCOUNT_MODE,
    "instruments": EXIT_INSTRUMENTS,
}  # contracts.venue.RefusalReason -> exit code

EXIT_CODES_HELP = "exit codes (restart: whether the supervisor examples restart the node):\n" + "".join(
    f"  {code}  {'restart   ' if exit_code.restart else 'no restart'}  {exit_code.meaning}\n"
    for code, exit_code in EXIT_CODES.items()
)

LIVE_REFUSAL = (
    "live trading refused: this config trades REAL MONEY on BingX and is not authorized. To authorize, set "
    f"the environment variable DOLPHIN_LIVE_AUTHORIZATION={LIVE_AUTHORIZATION_PHRASE} for the node "
    f'(or node.live_authorization = "{LIVE_AUTHORIZATION_PHRASE}" in the config).'
)

log = node_logger("launcher")


class LaunchError(Exception):
    """A refused start: the exit code, and the fault code its log line carries (diagnostics.Code)."""

    def __init__(self, exit_code: int, message: str, code: Code) -> None:
        super().__init__(message)
        self.exit_code, self.code = exit_code, code


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
    missing = [
        env
        for env, value in ((API_KEY_ENV, secrets.bingx_api_key), (API_SECRET_ENV, secrets.bingx_api_secret))
        if not value
    ]
    if missing:
        raise LaunchError(
            EXIT_CONFIG, f"set environment variable(s) {', '.join(missing)} for BingX access", Code.CONFIG_REFUSED
        )
    return BingXCredentials(secrets.bingx_api_key, secrets.bingx_api_secret)


def check_venue_lists_instruments(config: Config) -> None:
    """Fail fast when the venue cannot be asked (6: may pass, restarted) or lists no tradable perpetual for an
    instrument (9: a config error, not restarted). The public contract list needs no credentials."""
    try:
        specs = venue_specs(config)
    except Exception as exc:  # noqa: BLE001 - any failure here means we cannot trade; say which
        raise LaunchError(
            EXIT_VENUE,
            f"cannot read BingX contracts from {bingx_urls(config).rest}: {type(exc).__name__}: {exc}",
            Code.VENUE_UNREACHABLE,
        ) from None
    missing = [iid for iid in config.strategy.instruments if iid not in specs]
    if missing:
        raise LaunchError(
            EXIT_INSTRUMENTS,
            f"BingX lists no tradable perpetual for {missing} (unknown, offline or "
            "suspended); fix strategy.instruments, then start the node again",
            Code.INSTRUMENT_NOT_TRADABLE,
        )


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


class NodeRun:
    """One live node: assembled from config and open stores (node.assembly), run until a signal, then stopped
    and disposed."""

    def __init__(
        self,
        config: Config,
        stores,
        state_dir: Path,
        log_file: Path,
        *,
        credentials: BingXCredentials,
        startup_timeout_s: float,
        without_restore: bool = False,
    ) -> None:
        self.config, self.stores, self.startup_timeout_s = config, stores, startup_timeout_s
        self.credentials = credentials
        self.namespace = config.node.namespace
        self.signal_map = open_signal_map(config, state_dir) if config.strategy.signal_source == "hazelcast" else None
        register_resources(self.namespace, NodeResources(stores=stores, signal_map=self.signal_map))
        try:
            self._build(config, stores, state_dir, log_file, without_restore)
        except BaseException:
            self._release()
            raise

    def _build(self, config: Config, stores, state_dir: Path, log_file: Path, without_restore: bool) -> None:
        if without_restore:
            log_event(
                log,
                logging.WARNING,
                "restore_skipped",
                "--without-restore: starting flat, nothing restored",
                code=Code.RESTORE_SKIPPED,
            )
        identity = {
            "node_id": stores.node_id,
            "namespace": config.node.namespace,
            "environment": config.node.environment,
            "trader_id": config.node.trader_id,
            "log_file": str(log_file),
            "config": str(Path(config.source).resolve()),
        }
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.node = build_trading_node(
            trading_node_config(
                config,
                state_dir,
                startup_timeout_s=self.startup_timeout_s,
                without_restore=without_restore,
                identity=identity,
            ),
            loop=self.loop,
            credentials=self.credentials,
        )
        self.stop_requested = asyncio.Event()
        self.stop_signal = ""
        for sig in (signal.SIGINT, signal.SIGTERM):  # replaces Nautilus' handlers: we stop in order ourselves
            self.loop.add_signal_handler(sig, self._on_signal, sig)
        self.strategy = component(self.node.trader, DolphinStrategy)
        self.control = component(self.node.trader, NodeControlActor)
        self.control.bind(self.node.kernel.exec_engine.reconcile_execution_state, self.loop)

    def _release(self) -> None:
        unregister_resources(self.namespace)
        if self.signal_map is not None:
            self.signal_map.close()

    def _on_signal(self, sig: signal.Signals) -> None:
        self.stop_signal = sig.name
        self.stop_requested.set()

    async def _main(self) -> int:
        runner = asyncio.ensure_future(self.node.run_async())
        try:
            refused = await self._wait_trading(runner)
            if refused is not None:
                return refused
            log_event(
                log,
                logging.INFO,
                "trading",
                f"trader {self.config.node.trader_id} is RUNNING",
                instruments=list(self.config.strategy.instruments),
            )
            stop = asyncio.ensure_future(self.stop_requested.wait())
            await asyncio.wait([runner, stop], return_when=asyncio.FIRST_COMPLETED)
            if runner.done() and not self.stop_requested.is_set():
                error = runner.exception() if not runner.cancelled() else None
                log_event(
                    log,
                    logging.ERROR,
                    "node_exited",
                    f"the node's run loop ended by itself: {error!r}",
                    code=Code.NODE_FAILED,
                )
                return EXIT_FAILED
            log_event(log, logging.INFO, "stopping", f"{self.stop_signal or 'stop'} received: stopping gracefully")
            return EXIT_OK
        finally:
            await self.node.stop_async()
            runner.cancel()
            try:
                await runner
            except BaseException:  # noqa: BLE001 - the run task ends with the node
                pass

    async def _wait_trading(self, runner: asyncio.Future) -> int | None:
        """None once the trader runs (or an operator stop came); else the exit code start-up ends with."""
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.node.trader.is_running:
            if self.stop_requested.is_set():
                return None  # an operator stop during start-up is a clean stop
            refusal = self._venue_refusal()
            if refusal is not None:
                exit_code = REFUSAL_EXIT_CODES[refusal.reason]
                log_event(
                    log,
                    logging.CRITICAL,
                    "refused",
                    f"{refusal.message}; a restart cannot fix this: fix it, then start the node again",
                    code=refusal.code,
                    exit_code=exit_code,
                    venue_code=refusal.venue_code,
                )
                return exit_code
            if runner.done() or time.monotonic() > deadline:
                log_event(
                    log,
                    logging.CRITICAL,
                    "not_trading",
                    self._not_trading_reason(runner),
                    code=Code.NOT_TRADING,
                    exit_code=EXIT_NOT_TRADING,
                )
                return EXIT_NOT_TRADING
            await asyncio.sleep(0.1)
        return None

    def _venue_refusal(self) -> VenueRefusal | None:
        data = self.node.kernel.cache.get(VENUE_REFUSAL_CACHE_KEY)
        return decode_venue_refusal(data) if data is not None else None

    def _not_trading_reason(self, runner: asyncio.Future) -> str:
        clients = self.node.kernel.exec_engine.registered_clients + self.node.kernel.data_engine.registered_clients
        engines = {
            "data_engine_connected": self.node.kernel.data_engine.check_connected(),
            "exec_engine_connected": self.node.kernel.exec_engine.check_connected(),
        }
        why = "node run loop ended" if runner.done() else f"not RUNNING after {self.startup_timeout_s:.0f}s"
        hint = (
            "a BingX client did not connect (check [bingx] URLs, network, credentials)"
            if not all(engines.values())
            else "startup reconciliation or portfolio initialization failed (see the nautilus JSON log)"
        )
        return (
            f"trader {self.config.node.trader_id} is not trading ({why}): {hint}; {json.dumps(engines)}; "
            f"clients={[str(c) for c in clients]}"
        )

    def run(self) -> int:
        try:
            return self.loop.run_until_complete(self._main())
        finally:
            try:
                self.node.dispose()
            finally:
                self._release()
                self.loop.close()
                asyncio.set_event_loop(None)


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
    stores = _logged(open_stores, config, state_dir, secrets)
    status = EXIT_FAILED
    try:
        _logged(check_venue_lists_instruments, config)
        run = NodeRun(
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
