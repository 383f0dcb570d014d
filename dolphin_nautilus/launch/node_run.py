"""The live node run: the TradingNode assembled from config and open stores (node.assembly), the venue's
contract check, the watchdog until the trader runs, then run until a signal, stopped and disposed.

The launcher (`launch.node`) imports this module (Nautilus and the node's components: the heaviest imports of a
start) on its main thread while the store service starts on another, so the two overlap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from pathlib import Path

from dolphin_nautilus.actors.control import NodeControlActor
from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.config import Config
from dolphin_nautilus.contracts.venue import VENUE_REFUSAL_CACHE_KEY, VenueRefusal, decode_venue_refusal
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.launch.node_exits import (
    EXIT_FAILED,
    EXIT_INSTRUMENTS,
    EXIT_NOT_TRADING,
    EXIT_OK,
    EXIT_VENUE,
    REFUSAL_EXIT_CODES,
    LaunchError,
)
from dolphin_nautilus.logs import log_event, node_logger
from dolphin_nautilus.node.assembly import (
    bingx_urls,
    build_trading_node,
    component,
    trading_node_config,
    venue_specs,
)
from dolphin_nautilus.node.signal_map import open_signal_map
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources
from dolphin_nautilus.strategy.strategy import DolphinStrategy

log = node_logger("launcher")
WATCHDOG_POLL_S = 0.02  # how often start-up checks for RUNNING or a venue refusal: start time is measured in it


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
            await asyncio.sleep(WATCHDOG_POLL_S)
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
