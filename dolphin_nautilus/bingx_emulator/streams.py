"""WebSocket side (docs/reference/bingx_api.md §9): gzip frames, Ping/Pong heartbeat, market topics, listenKey user
stream."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import time
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from . import book
from . import errors as E
from . import market as M
from .config import EmulatorConfig
from .engine import Engine
from .faults import FaultInjector
from .listen_keys import ListenKeys
from .model import Contract, PublicTrade, VenueEvent
from .wire import account_config_update, dec, user_event

TOPIC = re.compile(
    r"^(?P<symbol>[A-Z0-9]+-[A-Z0-9]+)@(?P<kind>trade|bookTicker|lastPrice|markPrice|ticker"
    r"|depth(?P<levels>5|10|20|50|100)(?:@(?P<ms>\d+)ms)?|kline_(?P<interval>\w+))$"
)
MAX_TOPICS = 200
TICK_S = 0.05


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    listen_key: str | None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    topics: dict[str, float] = field(default_factory=dict)  # topic -> next periodic push (monotonic)
    last_pong: float = field(default_factory=time.monotonic)
    expired_sent: bool = False
    next_config_push: float = 0.0

    def send(self, payload: dict | str) -> None:
        self.queue.put_nowait(payload)


def encode(payload: dict | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return gzip.compress(text.encode())


class StreamHub:
    def __init__(self, config: EmulatorConfig, engine: Engine, faults: FaultInjector, listen_keys: ListenKeys) -> None:
        self.config = config
        self.engine = engine
        self.faults = faults
        self.listen_keys = listen_keys
        self.connections: set[Connection] = set()
        self.frames_sent = 0
        self._ticker: asyncio.Task | None = None
        # The event loop keeps only weak references to tasks: the close tasks live here until they finish.
        self._closing: set[asyncio.Task] = set()
        self.engine.event_sinks.append(self._on_user_event)
        self.engine.trade_sinks.append(self._on_trade)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self.faults.attach_drop_hook("market", lambda: loop.call_soon_threadsafe(self._drop, False))
        self.faults.attach_drop_hook("user", lambda: loop.call_soon_threadsafe(self._drop, True))
        self._ticker = asyncio.create_task(self._tick_loop())

    async def shutdown(self, app: web.Application) -> None:
        if self._ticker:
            self._ticker.cancel()
        for conn in list(self.connections):
            await conn.ws.close(code=1001, message=b"server shutdown")

    def _drop(self, user: bool) -> None:
        """Abrupt drop (no close frame), like a venue deploy or a network cut."""
        for conn in list(self.connections):
            if (conn.listen_key is not None) == user and conn.transport is not None:
                conn.transport.abort() if hasattr(conn.transport, "abort") else conn.transport.close()

    def close_user_streams(self, listen_key: str) -> None:
        for conn in list(self.connections):
            if conn.listen_key == listen_key:
                task = asyncio.ensure_future(conn.ws.close(code=1000, message=b"listenKey deleted"))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    # ------------------------------------------------------------------ connection
    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Connection(ws, request.transport, request.query.get("listenKey"))
        self.connections.add(conn)
        writer = asyncio.create_task(self._writer(conn))
        pinger = asyncio.create_task(self._pinger(conn))
        if conn.listen_key is not None:
            self._greet_user(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_client_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self._on_client_text(conn, _maybe_gunzip(msg.data))
        finally:
            self.connections.discard(conn)
            writer.cancel()
            pinger.cancel()
        return ws

    async def _writer(self, conn: Connection) -> None:
        while True:
            payload = await conn.queue.get()
            try:
                if payload == "Ping" and not self.config.ping_gzip:
                    await conn.ws.send_str("Ping")
                else:
                    await conn.ws.send_bytes(encode(payload))
                self.frames_sent += 1
            except (ConnectionError, RuntimeError):
                return

    async def _pinger(self, conn: Connection) -> None:
        while not conn.ws.closed:
            await asyncio.sleep(self.config.ping_interval_s)
            if time.monotonic() - conn.last_pong > self.config.pong_timeout_s:
                await conn.ws.close(code=1000, message=b"Pong timeout")
                return
            conn.send("Ping")

    def _on_client_text(self, conn: Connection, text: str) -> None:
        if text.strip() == "Pong":
            conn.last_pong = time.monotonic()
            return
        if conn.listen_key is not None:  # documented: send nothing on the user stream (ccxt #29052)
            conn.send(self._error("", E.INVALID_PARAM, "invalid params"))
            return
        try:
            request = json.loads(text)
            req_id, req_type, topic = str(request.get("id", "")), request["reqType"], request["dataType"]
        except (ValueError, KeyError, TypeError, AttributeError):
            conn.send(self._error("", E.INVALID_PARAM, "invalid params"))
            return
        self._on_subscription(conn, req_id, req_type, topic)

    def _on_subscription(self, conn: Connection, req_id: str, req_type: str, topic: str) -> None:
        match = TOPIC.match(topic) if isinstance(topic, str) else None
        valid = (
            match is not None
            and match["symbol"] in self.engine.contracts
            and (match["interval"] is None or match["interval"] in M.INTERVAL_MS)
        )
        if req_type not in ("sub", "unsub") or not valid:
            conn.send(self._error(req_id, E.INVALID_PARAM, "invalid params"))
            return
        if req_type == "unsub":
            conn.topics.pop(topic, None)
        elif topic not in conn.topics:
            if len(conn.topics) >= MAX_TOPICS:
                conn.send({"id": req_id, "code": 80403, "msg": "more than 200 topics", "dataType": "", "data": None})
                return
            conn.topics[topic] = time.monotonic()
        conn.send({"id": req_id, "code": 0, "msg": "", "dataType": "", "data": None})

    def _error(self, req_id: str, error: E.ErrorCode, msg: str) -> dict:
        return {
            "id": req_id,
            "code": error.code(self.config.error_generation),
            "msg": msg,
            "dataType": "",
            "data": None,
        }

    # ------------------------------------------------------------------ market data
    def _market(self) -> list[Connection]:
        return [c for c in self.connections if c.listen_key is None]

    def _on_trade(self, symbol: str, trade: PublicTrade) -> None:
        for conn in self._market():
            for topic in conn.topics:
                if topic.startswith(symbol + "@"):
                    payload = self._realtime_payload(symbol, topic, trade)
                    if payload is not None:
                        conn.send(payload)

    def _realtime_payload(self, symbol: str, topic: str, trade: PublicTrade) -> dict | None:
        kind = topic.split("@", 1)[1]
        ms = self.engine.now_ms()
        contract = self.engine.contracts[symbol]
        if kind == "trade":
            data = [{"q": dec(trade.qty), "p": dec(trade.price), "T": trade.time, "m": trade.buyer_maker, "s": symbol}]
            return {"code": 0, "dataType": topic, "data": data}
        if kind.startswith("kline_"):
            interval = kind[len("kline_") :]
            start = M.bucket_start(trade.time, interval)
            bars = M.klines(self.engine.public_trades[symbol], interval, start, None, 1)
            return {"code": 0, "dataType": topic, "s": symbol, "data": [M.ws_kline(b) for b in bars]}
        if kind == "bookTicker":
            return {"code": 0, "dataType": topic, "data": self._book_ticker(contract, ms)}
        if kind == "lastPrice":
            return {
                "code": 0,
                "dataType": topic,
                "data": {"e": "lastPriceUpdate", "E": ms, "s": symbol, "c": dec(trade.price)},
            }
        if kind == "markPrice":
            return {
                "code": 0,
                "dataType": topic,
                "data": {"e": "markPriceUpdate", "E": ms, "s": symbol, "p": dec(trade.price)},
            }
        return None  # depth and ticker are periodic

    def _book_ticker(self, contract: Contract, ms: int) -> dict:
        (bid, bid_qty), (ask, ask_qty) = book.best_bid_ask(contract)
        return {
            "e": "bookTicker",
            "u": ms,
            "E": ms,
            "T": ms,
            "s": contract.symbol,
            "b": dec(bid),
            "B": dec(bid_qty),
            "a": dec(ask),
            "A": dec(ask_qty),
        }

    def _periodic_payload(self, topic: str) -> tuple[dict, float] | None:
        match = TOPIC.match(topic)
        if match is None:
            return None
        contract = self.engine.contracts[match["symbol"]]
        if match["levels"]:
            bids, asks = M.depth_levels(contract, int(match["levels"]))
            period = int(match["ms"] or self.config.depth_default_interval_ms) / 1000
            return {
                "code": 0,
                "dataType": topic,
                "ts": self.engine.now_ms(),
                "data": {"bids": bids, "asks": asks},
            }, period
        if match["kind"] == "ticker":
            t = M.ticker(self.engine, contract)
            data = {
                "e": "24hTicker",
                "E": self.engine.now_ms(),
                "s": t["symbol"],
                "p": t["priceChange"],
                "P": t["priceChangePercent"],
                "c": t["lastPrice"],
                "L": t["lastQty"],
                "h": t["highPrice"],
                "l": t["lowPrice"],
                "v": t["volume"],
                "q": t["quoteVolume"],
                "o": t["openPrice"],
                "O": t["openTime"],
                "C": t["closeTime"],
                "A": t["askPrice"],
                "a": t["askQty"],
                "B": t["bidPrice"],
                "b": t["bidQty"],
            }
            return {"code": 0, "dataType": topic, "data": data}, 1.0
        return None

    # ------------------------------------------------------------------ user stream
    def _greet_user(self, conn: Connection) -> None:
        if not self.listen_keys.valid(conn.listen_key or ""):
            conn.send(self._expired_event(conn))
            conn.expired_sent = True
            asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(conn.ws.close()))
            return
        self._push_config(conn)

    def _push_config(self, conn: Connection) -> None:
        for symbol in self.engine.contracts:
            conn.send(account_config_update(self.engine, symbol))
        interval = self.config.config_push_interval_s
        conn.next_config_push = time.monotonic() + interval if interval else float("inf")

    def _expired_event(self, conn: Connection) -> dict:
        return {"e": "listenKeyExpired", "E": self.engine.now_ms(), "listenKey": conn.listen_key}

    def _on_user_event(self, event: VenueEvent) -> None:
        users = [c for c in self.connections if c.listen_key is not None and self.listen_keys.valid(c.listen_key)]
        if not users:
            return
        for item in self.faults.user_events(user_event(self.engine, event)):
            for conn in users:
                conn.send(item)

    # ------------------------------------------------------------------ timers
    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for conn in list(self.connections):
                if conn.listen_key is None:
                    self._tick_market(conn, now)
                else:
                    self._tick_user(conn, now)

    def _tick_market(self, conn: Connection, now: float) -> None:
        for topic, due in list(conn.topics.items()):
            if due <= now:
                periodic = self._periodic_payload(topic)
                if periodic is None:
                    conn.topics[topic] = float("inf")
                    continue
                payload, period = periodic
                conn.topics[topic] = now + period
                conn.send(payload)

    def _tick_user(self, conn: Connection, now: float) -> None:
        if conn.expired_sent:
            return
        if not self.listen_keys.valid(conn.listen_key or ""):
            conn.expired_sent = True
            conn.send(self._expired_event(conn))
        elif now >= conn.next_config_push:
            self._push_config(conn)


def _maybe_gunzip(data: bytes) -> str:
    try:
        return gzip.decompress(data).decode()
    except (OSError, EOFError, UnicodeDecodeError):
        return data.decode(errors="replace")
