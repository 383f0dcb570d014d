"""`NodeControlActor`: the control loop `dolphin-ctl` talks to.

`NodeControlActor` ticks every `interval_s`: it writes `status/node.json` and runs a full venue reconcile when
`dolphin-ctl restart` left a request file. (The namespace lease and the heartbeat belong to the store service,
their single writer.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from dolphin_nautilus.contracts.restore import (
    RESTORE_HANDOVER_CACHE_KEY,
    RESTORE_REPORT_TEXT_CACHE_KEY,
    decode_handover,
)
from dolphin_nautilus.logs import log_event, node_logger
from dolphin_nautilus.state.node_files import RESULT_FILE, STATUS_FILE, take_reconcile_request, write_json


class NodeControlActorConfig(ActorConfig, frozen=True):
    namespace: str
    state_dir: str  # status/ and control/ files shared with dolphin-ctl
    identity: dict[str, str]  # node id, namespace, environment, trader id, log file, config: for status
    interval_s: float = 1.0
    reconcile_timeout_s: float = 30.0


class NodeControlActor(Actor):
    def __init__(self, config: NodeControlActorConfig) -> None:
        super().__init__(config)
        self._state_dir = Path(config.state_dir)
        self._identity = dict(config.identity)
        self._reconcile: Callable[[float], Awaitable[bool]] | None = None  # bound after the node is built
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started_ns = time.time_ns()
        self._reconciling = False
        self._last_reconcile: dict | None = None
        self._jlog = node_logger("control")

    def bind(self, reconcile: Callable[[float], Awaitable[bool]], loop: asyncio.AbstractEventLoop) -> None:
        self._reconcile, self._loop = reconcile, loop

    def on_start(self) -> None:
        self.clock.set_timer(
            "dolphin-control", timedelta(seconds=self.config.interval_s), callback=lambda _event: self.tick()
        )
        self.tick()

    def on_stop(self) -> None:
        self.clock.cancel_timers()
        self.write_status(trader_running=False)

    def tick(self) -> None:
        try:
            self._take_request()
            self.write_status(trader_running=True)
        except Exception as exc:  # noqa: BLE001 - a control hiccup (store outage) must not stop trading
            log_event(self._jlog, logging.WARNING, "control_tick_failed", f"{type(exc).__name__}: {exc}")

    def _take_request(self) -> None:
        if self._reconciling or self._reconcile is None or self._loop is None:
            return
        request = take_reconcile_request(self._state_dir)
        if request is None:
            return
        self._reconciling = True
        log_event(
            self._jlog,
            logging.WARNING,
            "reconcile_requested",
            f"full venue reconcile requested by {request.get('requested_by', '?')}",
            request=request,
        )
        future = asyncio.run_coroutine_threadsafe(self._run_reconcile(request), self._loop)
        future.add_done_callback(lambda _f: None)

    async def _run_reconcile(self, request: dict) -> None:
        started = time.time_ns()
        try:
            ok = await self._reconcile(self.config.reconcile_timeout_s)
            error = ""
        except Exception as exc:  # noqa: BLE001 - reported to the operator, the node keeps running
            ok, error = False, f"{type(exc).__name__}: {exc}"
        result = {
            "request": request,
            "started_ns": started,
            "finished_ns": time.time_ns(),
            "ok": bool(ok),
            "error": error,
        }
        self._last_reconcile = result
        write_json(self._state_dir / RESULT_FILE, result)
        log_event(
            self._jlog,
            logging.INFO if ok else logging.ERROR,
            "reconcile_done",
            "venue reconcile finished" if ok else f"venue reconcile FAILED {error}".strip(),
            code=None if ok else "STALE_STATE_RECONCILING",
            ok=bool(ok),
        )
        self._reconciling = False

    def write_status(self, *, trader_running: bool) -> None:
        handover = self.cache.get(RESTORE_HANDOVER_CACHE_KEY)
        report = self.cache.get(RESTORE_REPORT_TEXT_CACHE_KEY)
        write_json(
            self._state_dir / STATUS_FILE,
            {
                **self._identity,
                "pid": os.getpid(),
                "started_ns": self._started_ns,
                "updated_ns": time.time_ns(),
                "trader_running": trader_running,
                "safe_mode": decode_handover(bytes(handover)).safe_mode if handover else "",
                "restore_report": report.decode() if report else "",
                "last_reconcile": self._last_reconcile,
            },
        )
