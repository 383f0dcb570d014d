"""A reconnecting BingX WebSocket connection: gzip frames, `Ping` -> `Pong`, backoff, counted bad input.

All server data frames are gzip-compressed binary; the heartbeat `Ping` may arrive gzipped or as a text
frame (docs/reference/bingx_api.md §9.1), so both are unwrapped the same way and answered with the plain text `Pong`. A
payload
that cannot be decoded is logged and counted, never raised: one bad frame must not kill the stream.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import node_logger

log = node_logger("bingx.ws")


@dataclass
class WsStats:
    connects: int = 0
    reconnects: int = 0
    frames: int = 0
    pings: int = 0
    bad_payloads: int = 0
    handler_errors: int = 0
    venue_errors: int = 0  # frames with a non-zero `code`
    ignored: int = 0  # known-but-unused frames (e.g. SNAPSHOT)


def unwrap_frame(msg: aiohttp.WSMessage) -> str | None:
    """Frame -> text (gunzipped if binary). None for non-data frames or undecodable bytes."""
    if msg.type is aiohttp.WSMsgType.TEXT:
        return msg.data
    if msg.type is aiohttp.WSMsgType.BINARY:
        data: bytes = msg.data
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error):
                return None
        try:
            return data.decode()
        except UnicodeDecodeError:
            return None
    return None


class ReconnectingWebSocket:
    """Keeps one connection alive. Subclasses supply the URL (per attempt), what to do once connected,
    and how to handle a decoded text payload."""

    def __init__(
        self,
        *,
        name: str,
        backoff_initial_s: float = 0.25,
        backoff_max_s: float = 30.0,
        idle_timeout_s: float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.name = name
        self.stats = WsStats()
        self.connected = asyncio.Event()
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._idle_timeout_s = idle_timeout_s  # the venue pings every ~5 s; silence this long = dead link
        self._own_session = session is None
        self._session = session
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task | None = None
        self._closing = False
        self._receiving_since: float | None = None  # loop.time() a receive started waiting (the idle watchdog's clock)

    # ---- hooks ---------------------------------------------------------------------------------------
    async def _url(self) -> str:
        raise NotImplementedError

    async def _on_connected(self, attempt: int) -> None:
        """Called after each successful (re)connection, before frames are read."""

    def _on_text(self, text: str) -> Awaitable[None] | None:
        raise NotImplementedError

    # ---- lifecycle -----------------------------------------------------------------------------------
    async def start(self, wait_connected_s: float | None = 10.0) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self.name} already started")
        self._closing = False
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name=f"bingx-ws-{self.name}")
        if wait_connected_s:
            await asyncio.wait_for(self.connected.wait(), wait_connected_s)

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def drop(self) -> None:
        """Close the current connection; the run loop reconnects (used e.g. after listenKey renewal)."""
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    async def send_text(self, text: str) -> None:
        if self._ws is None or self._ws.closed:
            raise ConnectionError(f"{self.name} is not connected")
        await self._ws.send_str(text)

    @property
    def is_connected(self) -> bool:
        return self.connected.is_set()

    # ---- loop ----------------------------------------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        backoff = self._backoff_initial_s
        while not self._closing:
            try:
                url = await self._url()
                assert self._session is not None
                async with self._session.ws_connect(url, autoping=True, heartbeat=None) as ws:
                    self._ws = ws
                    self.stats.connects += 1
                    if attempt:
                        self.stats.reconnects += 1
                    await self._on_connected(attempt)
                    self.connected.set()
                    backoff = self._backoff_initial_s
                    log.info("%s connected (attempt %d)", self.name, attempt)
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of a connection: back off, reconnect
                # Only the type: a message (e.g. a handshake error) can carry the URL, and with it the listenKey.
                log.warning(
                    "%s connection failed: %s",
                    self.name,
                    type(exc).__name__,
                    extra={"event": "stream_connect_failed", "code": Code.VENUE_STREAM_FAULT},
                )
            finally:
                self.connected.clear()
                self._ws = None
            if self._closing:
                break
            attempt += 1
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))  # jitter avoids reconnect stampedes
            backoff = min(backoff * 2, self._backoff_max_s)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # One watchdog per connection instead of a timeout per receive: a timeout arms and cancels a timer for
        # every frame (several us each); here a frame costs a clock read. On silence the watchdog expires this
        # deadline, which interrupts the receive as a receive timeout did (aiohttp then drops the dead link
        # without waiting for a close handshake).
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(None) as deadline:
                watchdog = asyncio.create_task(self._expire_when_silent(deadline), name=f"bingx-ws-{self.name}-idle")
                try:
                    await self._read_frames(ws, loop)
                finally:
                    watchdog.cancel()
                    self._receiving_since = None
        except TimeoutError:
            if not deadline.expired():  # not the watchdog's: a failure of the connection, handled by the run loop
                raise
            log.warning(
                "%s silent for %.0f s; reconnecting",
                self.name,
                self._idle_timeout_s,
                extra={"event": "stream_silent", "code": Code.VENUE_STREAM_FAULT},
            )

    async def _expire_when_silent(self, deadline: asyncio.Timeout) -> None:
        """Expire `deadline` once a receive has waited the idle timeout (a slow handler is not silence)."""
        loop = asyncio.get_running_loop()
        idle = self._idle_timeout_s
        while True:
            since, now = self._receiving_since, loop.time()
            if since is not None and now - since >= idle:
                deadline.reschedule(now)
                return
            await asyncio.sleep(idle if since is None else idle - (now - since))

    async def _read_frames(self, ws: aiohttp.ClientWebSocketResponse, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            self._receiving_since = loop.time()
            msg = await ws.receive()
            self._receiving_since = None
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return
            self.stats.frames += 1
            text = unwrap_frame(msg)
            if text is None:
                self._bad("undecodable frame")
                continue
            if text.strip() == "Ping":
                self.stats.pings += 1
                await ws.send_str("Pong")
                continue
            # Let what is already scheduled run before this frame's handler: frames arrive in bursts (a fill is
            # NEW + TRADE + ACCOUNT_UPDATE, buffered together) and a burst is read without suspending, so without
            # this a REST reply's OrderAccepted, queued by NautilusTrader one loop turn earlier, waited for the
            # whole burst to be parsed (docs/design.md §7.1).
            await asyncio.sleep(0)
            try:
                pending = self._on_text(text)
                if pending is not None:
                    await pending
            except Exception:  # a handler bug must not kill the stream
                self.stats.handler_errors += 1
                log.exception(
                    "%s handler failed",
                    self.name,
                    extra={"event": "stream_handler_failed", "code": Code.VENUE_STREAM_FAULT},
                )

    def _bad(self, why: str, sample: str = "") -> None:
        self.stats.bad_payloads += 1
        log.warning(
            "%s bad payload (%s): %.200s",
            self.name,
            why,
            sample,
            extra={"event": "stream_bad_payload", "code": Code.VENUE_STREAM_FAULT},
        )


async def call_handler[T](handler: Callable[[T], object], item: T) -> None:
    """Hand `item` to a plain or an async handler."""
    result = handler(item)
    if asyncio.iscoroutine(result):
        await result
