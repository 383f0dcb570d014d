"""`dolphin-node --config configs/vst.toml`: run one namespace's live TradingNode (vst or live).

Order of start-up, each step failing with its own exit code and a message saying what to do:
config (2) -> live authorization (3) -> stores and the namespace lease (4) -> venue contracts (6) ->
TradingNode with the BingX clients, restore, journal, strategy, fault log and control actors ->
watchdog: the trader must be running within `--startup-timeout` seconds (5), because Nautilus keeps an
idle node alive when a client fails to connect or reconciliation fails.
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
from dolphin_nautilus.journal.store import StoreError
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
from dolphin_nautilus.state import StateStoreError
from dolphin_nautilus.strategy.strategy import DolphinStrategy

EXIT_OK = 0
EXIT_FAILED = 1  # unexpected error (a bug or a crash while running): the supervisor restarts it
EXIT_CONFIG = 2  # bad config or missing credentials: restarting will not help
EXIT_LIVE_NOT_AUTHORIZED = 3  # live without the authorization phrase: restarting will not help
EXIT_STORES = 4  # namespace lease held by another node, or a store unreachable / held
EXIT_NOT_TRADING = 5  # the watchdog: the trader was not running within the start-up timeout
EXIT_VENUE = 6  # the venue's contract list could not be read
NO_RESTART_EXIT_CODES = (EXIT_OK, EXIT_CONFIG, EXIT_LIVE_NOT_AUTHORIZED)

EXIT_CODES_HELP = f"""exit codes:
  {EXIT_OK}  stopped cleanly (SIGINT/SIGTERM)
  {EXIT_FAILED}  unexpected error while running
  {EXIT_CONFIG}  bad config or missing BINGX_API_KEY/BINGX_API_SECRET (do not restart)
  {EXIT_LIVE_NOT_AUTHORIZED}  live environment without the authorization phrase (do not restart)
  {EXIT_STORES}  stores unavailable or the namespace is held by another node
  {EXIT_NOT_TRADING}  the trader did not reach RUNNING within --startup-timeout (connect/reconcile failed)
  {EXIT_VENUE}  the venue's contract list could not be read
"""

LIVE_REFUSAL = (
    "live trading refused: this config trades REAL MONEY on BingX and is not authorized. To authorize, set "
    f"the environment variable DOLPHIN_LIVE_AUTHORIZATION={LIVE_AUTHORIZATION_PHRASE} for the node "
    f"(or node.live_authorization = \"{LIVE_AUTHORIZATION_PHRASE}\" in the config)."
)

log = node_logger("launcher")


class LaunchError(Exception):
    def __init__(self, exit_code: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.exit_code, self.code = exit_code, code


def check_authorized(config: Config) -> None:
    if config.node.environment == "live" and config.node.live_authorization != LIVE_AUTHORIZATION_PHRASE:
        raise LaunchError(EXIT_LIVE_NOT_AUTHORIZED, LIVE_REFUSAL)


def load(path: str) -> Config:
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise LaunchError(EXIT_CONFIG, f"bad config: {exc}") from None
    if config.node.environment not in ("vst", "live"):
        raise LaunchError(EXIT_CONFIG, f"{path}: node.environment is {config.node.environment!r}; dolphin-node runs "
                                       "'vst' or 'live' (backtests: dolphin-backtest)")
    return config


def check_credentials() -> None:
    try:
        BingXCredentials.from_env()
    except MissingCredentialsError as exc:
        raise LaunchError(EXIT_CONFIG, str(exc)) from None


def check_venue_lists_instruments(config: Config) -> None:
    """Fail fast (exit 6) when the venue cannot be asked or lists no tradable perpetual for an instrument."""
    try:
        specs = venue_specs(config)
    except Exception as exc:  # noqa: BLE001 - any failure here means we cannot trade; say which
        raise LaunchError(EXIT_VENUE, f"cannot read BingX contracts from {bingx_urls(config).rest}: "
                                      f"{type(exc).__name__}: {exc}") from None
    missing = [iid for iid in config.strategy.instruments if iid not in specs]
    if missing:
        raise LaunchError(EXIT_VENUE, f"BingX lists no tradable perpetual for {missing}; fix strategy.instruments")


def open_stores(config: Config, state_dir: Path, secrets: Secrets):
    try:
        # The store service takes the namespace lease (LeaseHeld, a StateStoreError, names the holder) and is
        # its only renewer; it also writes the heartbeat.
        return open_node_stores(config, state_dir, secrets=secrets)
    except (StoreError, StateStoreError) as exc:
        raise LaunchError(EXIT_STORES, f"{type(exc).__name__}: {exc}") from None


class NodeRun:
    """One live node: assembled from config and open stores (node.assembly), run until a signal, then stopped
    and disposed."""

    def __init__(self, config: Config, stores, state_dir: Path, log_file: Path, *,
                 startup_timeout_s: float, without_restore: bool = False) -> None:
        self.config, self.stores, self.startup_timeout_s = config, stores, startup_timeout_s
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
            log_event(log, logging.WARNING, "restore_skipped", "--without-restore: starting flat, nothing restored")
        identity = {"node_id": stores.node_id, "namespace": config.node.namespace,
                    "environment": config.node.environment, "trader_id": config.node.trader_id,
                    "log_file": str(log_file), "config": str(Path(config.source).resolve())}
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.node = build_trading_node(
            trading_node_config(config, state_dir, startup_timeout_s=self.startup_timeout_s,
                                without_restore=without_restore, identity=identity),
            loop=self.loop)
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
            if not await self._wait_trading(runner):
                return EXIT_NOT_TRADING
            log_event(log, logging.INFO, "trading", f"trader {self.config.node.trader_id} is RUNNING",
                      instruments=list(self.config.strategy.instruments))
            stop = asyncio.ensure_future(self.stop_requested.wait())
            await asyncio.wait([runner, stop], return_when=asyncio.FIRST_COMPLETED)
            if runner.done() and not self.stop_requested.is_set():
                error = runner.exception() if not runner.cancelled() else None
                log_event(log, logging.ERROR, "node_exited", f"the node's run loop ended by itself: {error!r}")
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

    async def _wait_trading(self, runner: asyncio.Future) -> bool:
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.node.trader.is_running:
            if self.stop_requested.is_set():
                return True  # an operator stop during start-up is a clean stop
            if runner.done() or time.monotonic() > deadline:
                log_event(log, logging.CRITICAL, "not_trading", self._not_trading_reason(runner), code="NOT_TRADING")
                return False
            await asyncio.sleep(0.1)
        return True

    def _not_trading_reason(self, runner: asyncio.Future) -> str:
        clients = self.node.kernel.exec_engine.registered_clients + self.node.kernel.data_engine.registered_clients
        engines = {
            "data_engine_connected": self.node.kernel.data_engine.check_connected(),
            "exec_engine_connected": self.node.kernel.exec_engine.check_connected(),
        }
        why = "node run loop ended" if runner.done() else f"not RUNNING after {self.startup_timeout_s:.0f}s"
        hint = ("a BingX client did not connect (check [bingx] URLs, network, credentials)"
                if not all(engines.values()) else
                "startup reconciliation or portfolio initialization failed (see the nautilus JSON log)")
        return f"trader {self.config.node.trader_id} is not trading ({why}): {hint}; {json.dumps(engines)}; " \
               f"clients={[str(c) for c in clients]}"

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
    parser = argparse.ArgumentParser(prog="dolphin-node", description="Run a dolphin live node (vst or live).",
                                     epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="a node config, e.g. configs/vst.toml")
    parser.add_argument("--startup-timeout", type=float, default=90.0,
                        help="seconds for the trader to reach RUNNING before giving up (default 90)")
    parser.add_argument("--without-restore", action="store_true",
                        help="vst only: start flat without restoring slots (a fresh paper account); refused for live")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    restrict_new_files()
    args = parse_args(argv)
    try:
        return launch(args.config, startup_timeout_s=args.startup_timeout, without_restore=args.without_restore)
    except LaunchError as exc:
        # Logging may not be set up yet (bad config): the refusal always reaches stderr as one JSON line too.
        print(json.dumps({"level": "CRITICAL", "component": "launcher", "event": "refused", "code": exc.code,
                          "exit_code": exc.exit_code, "message": str(exc)}), file=sys.stderr)
        return exc.exit_code


def launch(config_path: str, *, startup_timeout_s: float, without_restore: bool = False) -> int:
    config = load(config_path)
    check_authorized(config)
    if without_restore and config.node.environment == "live":
        raise LaunchError(EXIT_CONFIG, "--without-restore is refused for live: a live node always restores")
    check_credentials()
    state_dir = state_dir_for(config)
    secrets = Secrets.from_env()  # read once: the log redactor and the stores get them from here
    log_file = setup_logging(state_dir, config.node.log_level if config.node.log_level != "ERROR" else "INFO",
                             secrets)
    log_event(log, logging.INFO, "starting", f"dolphin-node {config.node.environment}/{config.node.namespace}",
              config=str(Path(config.source).resolve()), state_dir=str(state_dir), log_file=str(log_file))
    stores = _logged(open_stores, config, state_dir, secrets)
    status = EXIT_FAILED
    try:
        _logged(check_venue_lists_instruments, config)
        run = NodeRun(config, stores, state_dir, log_file, startup_timeout_s=startup_timeout_s,
                      without_restore=without_restore)
        status = run.run()
        return status
    except LaunchError:
        raise
    except Exception as exc:
        log.exception("node failed", extra={"event": "crashed", "code": "NODE_FAILED"})
        raise LaunchError(EXIT_FAILED, f"node failed: {type(exc).__name__}: {exc}") from exc
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
        log_event(log, logging.ERROR, "stores_close_failed", f"{type(exc).__name__}: {exc}")
        return {}
    return {"journal": msgspec.to_builtins(status)} if status is not None else {}


if __name__ == "__main__":
    sys.exit(main())
