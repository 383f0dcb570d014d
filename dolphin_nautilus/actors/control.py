"""`NodeControlActor`: the control loop `dolphin-ctl` talks to, and the node's status snapshot.

Every `interval_s` it writes `status/node.json` (temp file + rename) with what an operator asks of a running
node, so `dolphin-ctl status` answers fully while the node holds its embedded store: open slots with entry
price, mark price (last bar close), unrealized and realized PnL; the last orders, fills and closed trades; the
anomalies and the coded error lines by code; market-data liveness per instrument; signal freshness; the
reference model's warm-up; safe mode and why; the namespace lease and heartbeat. It learns the trading side
from the facts topic (the strategy's own record of what happened) and the Nautilus cache, never from the
strategy object.

It also takes the operator's requests: `control/reconcile.request` (`dolphin-ctl restart`: a full venue
reconcile) and `control/flatten.request` (`dolphin-ctl flatten --apply`: a `FlattenRequest` on the contracts'
FLATTEN_TOPIC for the strategy, which exits through its book), each answered in a `.result` file. (The lease
and the heartbeat belong to the store service, their single writer; this actor only reads them, off the
event loop.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.data import BarType

from dolphin_nautilus.contracts.control import FLATTEN_TOPIC, FlattenRequest
from dolphin_nautilus.contracts.restore import (
    RESTORE_HANDOVER_CACHE_KEY,
    RESTORE_REPORT_TEXT_CACHE_KEY,
    VENUE_RECONCILED_TOPIC,
    VenueReconciled,
    decode_handover,
)
from dolphin_nautilus.contracts.signals import SIGNAL_REJECTIONS_CACHE_KEY
from dolphin_nautilus.contracts.topics import FACTS_TOPIC, SIGNAL_TOPIC, bar_type_name
from dolphin_nautilus.domain.facts import Anomaly, FillFact, OrderEvent, PositionState, TradeClosed
from dolphin_nautilus.logs import LOGGER_NAME, log_event, node_logger
from dolphin_nautilus.resources import ResourcesMissing, resources_for
from dolphin_nautilus.state.node_files import (
    FLATTEN_REQUEST_FILE,
    FLATTEN_RESULT_FILE,
    RESULT_FILE,
    STATUS_FILE,
    read_json,
    take_reconcile_request,
    write_json,
)

RECENT = 20  # orders, fills, closed trades and errors kept in the snapshot
LIVE_SLOT_STATES = frozenset({"CLOSED", "TOMBSTONED"})  # PositionState statuses that end a slot


class NodeControlActorConfig(ActorConfig, frozen=True):
    namespace: str
    state_dir: str  # status/ and control/ files shared with dolphin-ctl
    identity: dict[str, str]  # node id, namespace, environment, trader id, log file, config: for status
    instrument_ids: tuple[str, ...] = ()
    bar_minutes: int = 1
    signal_source: str = "reference"
    model_warmup_bars: int = 0  # history bars the reference model needs before it decides (0: no model)
    interval_s: float = 1.0
    store_poll_s: float = 2.0  # lease and heartbeat, read off the event loop
    reconcile_timeout_s: float = 30.0


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def fact_row(fact: msgspec.Struct) -> dict[str, Any]:
    return {k: _plain(v) for k, v in msgspec.structs.asdict(fact).items()}


class _CodedLines(logging.Handler):
    """Keeps the node's coded WARNING+ log lines (adapter, launcher, control: not the anomaly lines, which
    arrive as facts) for the snapshot's error section."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.rows_lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.last: deque[dict[str, Any]] = deque(maxlen=RECENT)

    def emit(self, record: logging.LogRecord) -> None:
        code = getattr(record, "code", None)
        if code is None or getattr(record, "event", "") == "fault":
            return
        row = {
            "ts_ns": int(record.created * 1e9),
            "level": record.levelname,
            "code": str(code),
            "component": record.name.removeprefix(LOGGER_NAME + "."),
            "message": record.getMessage(),
        }
        with self.rows_lock:
            self.counts[str(code)] += 1
            self.last.append(row)


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
        self._last_flatten: dict | None = None
        self._jlog = node_logger("control")
        self._bar_types = {
            iid: BarType.from_str(bar_type_name(iid, config.bar_minutes)) for iid in config.instrument_ids
        }
        # what the facts say
        self._slots: dict[str, dict[str, Any]] = {}  # trade id -> latest PositionState row of a live slot
        self._orders: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._fills: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._closed: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._anomalies: Counter[str] = Counter()
        self._last_anomalies: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._closed_count = 0
        self._realized = {"realized_pnl": Decimal(0), "fees": Decimal(0), "net_pnl": Decimal(0)}
        self._submitted: list[OrderEvent] = []  # SUBMITTED order events seen while a flatten is handed over
        self._signals: dict[str, dict[str, Any]] = {}
        self._reconciled_safe_mode: str | None = None  # a later venue answer overrides the hand-over's
        self._coded_lines = _CodedLines()
        # what the stores say (read by a worker thread: a store call must never block the event loop)
        self._store_view: dict[str, Any] = {"lease": None, "heartbeat": None, "error": "not read yet"}
        self._store_stop = threading.Event()
        self._store_thread: threading.Thread | None = None

    def bind(self, reconcile: Callable[[float], Awaitable[bool]], loop: asyncio.AbstractEventLoop) -> None:
        self._reconcile, self._loop = reconcile, loop

    # ----------------------------------------------------------------------------------------- lifecycle
    def on_start(self) -> None:
        self.msgbus.subscribe(FACTS_TOPIC, self._on_fact)
        self.msgbus.subscribe(SIGNAL_TOPIC, self._on_signal)
        self.msgbus.subscribe(VENUE_RECONCILED_TOPIC, self._on_venue_reconciled)
        logging.getLogger(LOGGER_NAME).addHandler(self._coded_lines)
        self._store_stop.clear()
        self._store_thread = threading.Thread(target=self._poll_stores, name="dolphin-control-stores", daemon=True)
        self._store_thread.start()
        self.clock.set_timer(
            "dolphin-control", timedelta(seconds=self.config.interval_s), callback=lambda _event: self.tick()
        )
        self.tick()

    def on_stop(self) -> None:
        self.clock.cancel_timers()
        self._store_stop.set()
        logging.getLogger(LOGGER_NAME).removeHandler(self._coded_lines)
        for topic, handler in (
            (FACTS_TOPIC, self._on_fact),
            (SIGNAL_TOPIC, self._on_signal),
            (VENUE_RECONCILED_TOPIC, self._on_venue_reconciled),
        ):
            self.msgbus.unsubscribe(topic, handler)
        self.write_status(trader_running=False)

    def tick(self) -> None:
        try:
            self._take_request()
            self._take_flatten_request()
            self.write_status(trader_running=True)
        except Exception as exc:  # noqa: BLE001 - a control hiccup (store outage) must not stop trading
            log_event(self._jlog, logging.WARNING, "control_tick_failed", f"{type(exc).__name__}: {exc}")

    # --------------------------------------------------------------------------------------------- facts
    def _on_fact(self, fact: object) -> None:
        if isinstance(fact, PositionState):
            if fact.status in LIVE_SLOT_STATES:
                self._slots.pop(fact.trade_id, None)
            else:
                self._slots[fact.trade_id] = fact_row(fact)
        elif isinstance(fact, OrderEvent):
            self._orders.append(fact_row(fact))
            if fact.event == "SUBMITTED":
                self._submitted.append(fact)
        elif isinstance(fact, FillFact):
            self._fills.append(fact_row(fact))
        elif isinstance(fact, TradeClosed):
            self._closed.append(fact_row(fact))
            self._closed_count += 1
            self._realized["realized_pnl"] += fact.realized_pnl
            self._realized["fees"] += fact.fees
            self._realized["net_pnl"] += fact.net_pnl
        elif isinstance(fact, Anomaly):
            self._anomalies[fact.code] += 1
            self._last_anomalies.append(
                {
                    k: _plain(getattr(fact, k))
                    for k in ("ts", "code", "severity", "trade_id", "instrument_id", "message")
                }
            )

    def _on_signal(self, signal: Any) -> None:
        """A `DolphinSignal` (read by its fields: actors do not import each other)."""
        self._signals[signal.instrument_id.value] = {
            "target": signal.target,
            "strength": signal.strength,
            "source": signal.source,
            "ts_event": signal.ts_event,
            "received_ns": time.time_ns(),
        }

    def _on_venue_reconciled(self, message: VenueReconciled) -> None:
        self._reconciled_safe_mode = message.safe_mode

    # ------------------------------------------------------------------------------------------ requests
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
            ok = await self._reconcile(self.config.reconcile_timeout_s)  # type: ignore[misc]
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

    def _take_flatten_request(self) -> None:
        # Renamed first, so a request runs once even if two ticks race (as the reconcile request).
        taken = self._state_dir / FLATTEN_REQUEST_FILE.with_suffix(".taken")
        try:
            os.replace(self._state_dir / FLATTEN_REQUEST_FILE, taken)
        except FileNotFoundError:
            return
        request = read_json(taken) or {}
        taken.unlink(missing_ok=True)
        self.flatten(request)

    def flatten(self, request: dict[str, Any]) -> dict[str, Any]:
        """Hand the request to the strategy (FLATTEN_TOPIC) and write what it sent: the strategy handles the
        message synchronously, so the SUBMITTED order events it publishes meanwhile are its answer."""
        closes = request.get("closes") or []
        wanted = [c["instrument_id"] for c in closes] if closes else list(request.get("instruments") or [])
        by = str(request.get("requested_by", "?"))
        log_event(self._jlog, logging.WARNING, "flatten_requested", f"flatten {wanted} requested by {by}")
        self._submitted = []
        self.msgbus.publish(FLATTEN_TOPIC, FlattenRequest(instrument_ids=wanted, requested_by=by))
        sent = {e.instrument_id: e for e in self._submitted if e.reduce_only}
        self._submitted = []
        rows = []
        for iid in wanted:
            order = sent.get(iid)
            rows.append(
                {
                    "instrument_id": iid,
                    "client_order_id": order.client_order_id if order else "",
                    "side": order.side if order else "",
                    "quantity": str(order.quantity) if order else "",
                    "outcome": "SUBMITTED reduce-only market close" if order else self._why_not_sent(iid),
                }
            )
        result = {
            "request": request,
            "taken_ns": time.time_ns(),
            "closes": rows,
            "ok": all(r["client_order_id"] for r in rows),
        }
        self._last_flatten = result
        write_json(self._state_dir / FLATTEN_RESULT_FILE, result)
        for row in rows:
            log_event(
                self._jlog,
                logging.WARNING if row["client_order_id"] else logging.ERROR,
                "flatten",
                f"flatten {row['instrument_id']}: {row['outcome']}",
                code=None if row["client_order_id"] else "EXIT_ORDER_REJECTED",
                **row,
            )
        return result

    def _why_not_sent(self, iid: str) -> str:
        slot = next((s for s in self._slots.values() if s["instrument_id"] == iid), None)
        if slot is None:
            return (
                "NOT SENT: the book has no open slot on this instrument "
                "(close it with the node stopped, or in the BingX UI)"
            )
        last = next((a for a in reversed(self._last_anomalies) if a["instrument_id"] == iid), None)
        return f"NOT SENT: slot {slot['status']}" + (f" ({last['code']}: {last['message']})" if last else "")

    # ------------------------------------------------------------------------------------------- stores
    def _poll_stores(self) -> None:
        while not self._store_stop.is_set():
            self._store_view = self._read_stores()
            self._store_stop.wait(self.config.store_poll_s)

    def _read_stores(self) -> dict[str, Any]:
        try:
            stores = resources_for(self.config.namespace).stores
        except ResourcesMissing as exc:
            return {"lease": None, "heartbeat": None, "error": str(exc)}
        if stores is None:
            return {"lease": None, "heartbeat": None, "error": "no stores registered"}
        try:
            lease = msgspec.structs.asdict(stores.lease_status())
            heartbeat = stores.live_state.get("heartbeat")
        except Exception as exc:  # noqa: BLE001 - shown in status; the node goes on
            return {**self._store_view, "error": f"{type(exc).__name__}: {exc}", "error_ns": time.time_ns()}
        return {"lease": lease, "heartbeat": heartbeat, "error": "", "read_ns": time.time_ns()}

    # ------------------------------------------------------------------------------------------- status
    def _safe_mode(self) -> str:
        if self._reconciled_safe_mode is not None:
            return self._reconciled_safe_mode
        handover = self.cache.get(RESTORE_HANDOVER_CACHE_KEY)
        return decode_handover(bytes(handover)).safe_mode if handover else ""

    def _market(self, now_ns: int) -> dict[str, dict[str, Any]]:
        out = {}
        for iid, bar_type in self._bar_types.items():
            bar = self.cache.bar(bar_type)
            out[iid] = {
                "bars": self.cache.bar_count(bar_type),
                "last_bar_ts": bar.ts_event if bar else None,
                "last_close": str(bar.close) if bar else None,
                "age_s": round((now_ns - bar.ts_event) / 1e9, 1) if bar else None,
            }
        return out

    def _open_slots(self, market: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for slot in sorted(self._slots.values(), key=lambda s: s["instrument_id"]):
            mark = market.get(slot["instrument_id"], {}).get("last_close")
            qty, entry = Decimal(slot["quantity"]), Decimal(slot["entry_price"])
            sign = 1 if slot["side"] == "LONG" else -1
            unrealized = (Decimal(mark) - entry) * qty * sign if mark is not None and qty else None
            rows.append({**slot, "mark_price": mark, "unrealized_pnl": _plain(unrealized)})
        return rows

    def _warm_up(self, market: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        needed = self.config.model_warmup_bars
        if self.config.signal_source != "reference" or needed <= 0:
            return None
        bars = {iid: m["bars"] for iid, m in market.items()}
        return {
            "needed_bars": needed,
            "bars": bars,
            "ready": all(n >= needed for n in bars.values()),
            "note": "the reference model decides from the next bar once it has seen needed_bars bars",
        }

    def _signal_view(self, now_ns: int) -> dict[str, Any]:
        if self.config.signal_source == "reference":
            return {"source": "reference", "note": "the strategy's reference model, on every bar"}
        raw = self.cache.get(SIGNAL_REJECTIONS_CACHE_KEY)
        return {
            "source": self.config.signal_source,
            "targets": {
                iid: {**s, "age_s": round((now_ns - s["received_ns"]) / 1e9, 1)} for iid, s in self._signals.items()
            },
            "rejections": json.loads(bytes(raw)) if raw is not None else None,
        }

    def snapshot(self, *, trader_running: bool) -> dict[str, Any]:
        now = time.time_ns()
        handover = self.cache.get(RESTORE_HANDOVER_CACHE_KEY)
        report = self.cache.get(RESTORE_REPORT_TEXT_CACHE_KEY)
        market = self._market(now)
        with self._coded_lines.rows_lock:
            errors = {"by_code": dict(self._coded_lines.counts), "last": list(self._coded_lines.last)}
        return {
            **self._identity,
            "pid": os.getpid(),
            "started_ns": self._started_ns,
            "updated_ns": now,
            "trader_running": trader_running,
            "accepts": ["reconcile", "flatten"],
            "bar_minutes": self.config.bar_minutes,
            "safe_mode": self._safe_mode() if handover or self._reconciled_safe_mode is not None else "",
            "restore_report": report.decode() if report else "",
            "last_reconcile": self._last_reconcile,
            "last_flatten": self._last_flatten,
            "slots": self._open_slots(market),
            "realized": {"trades": self._closed_count, **{k: str(v) for k, v in self._realized.items()}},
            "recent": {"orders": list(self._orders), "fills": list(self._fills), "closed_trades": list(self._closed)},
            "anomalies": {"by_code": dict(self._anomalies), "last": list(self._last_anomalies)},
            "errors": errors,
            "market_data": market,
            "signals": self._signal_view(now),
            "warm_up": self._warm_up(market),
            "stores": self._store_view,
        }

    def write_status(self, *, trader_running: bool) -> None:
        write_json(self._state_dir / STATUS_FILE, self.snapshot(trader_running=trader_running))
