"""User data stream client (docs/reference/bingx_api.md §9.3).

Lifecycle: create a listenKey over REST, connect `<ws>?listenKey=<key>`, extend the key every 30 min.
The key is recreated when the venue says it is gone (PUT -> 404, or a `listenKeyExpired` event), and on
every reconnect the old key is first extended (it may have expired while we were away). After each
(re)connection the handler gets `UserStreamReconnected`: events may have been missed, so reconcile over
REST. Nothing is ever sent on this socket except `Pong` (an empty frame gives 80014, docs/reference/bingx_api.md §11.6).

Events go to `handler(event)` as plain Structs: OrderTradeUpdate (every execution, including partial and
repeated ones, with trade id `td` and cumulative `z`: dedupe is the consumer's job), AccountUpdate,
AccountConfigUpdate, ListenKeyExpired, UserStreamReconnected. SNAPSHOT frames are counted and dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import msgspec

from dolphin_nautilus.adapters.bingx.common.urls import user_stream_url
from dolphin_nautilus.adapters.bingx.constants import LISTEN_KEY_KEEPALIVE_S
from dolphin_nautilus.adapters.bingx.errors import BingXError
from dolphin_nautilus.adapters.bingx.http.user_stream import BingXUserStreamHttpAPI, ListenKeyNotFoundError
from dolphin_nautilus.adapters.bingx.schemas.common import decoder
from dolphin_nautilus.adapters.bingx.schemas.ws import (
    AccountConfigUpdate,
    AccountUpdate,
    ListenKeyExpired,
    OrderTradeUpdate,
    UserEvent,
    UserStreamReconnected,
    WsEventHeader,
)
from dolphin_nautilus.adapters.bingx.websocket.client import ReconnectingWebSocket, call_handler
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import node_logger

log = node_logger("bingx.ws_user")


class _ErrorFrame(msgspec.Struct):
    code: int = 0
    msg: str = ""


_HEADER = decoder(WsEventHeader)
_ERROR = decoder(_ErrorFrame)
_EVENT_DECODERS: dict[str, msgspec.json.Decoder] = {
    "ORDER_TRADE_UPDATE": decoder(OrderTradeUpdate),
    "TRADE_UPDATE": decoder(OrderTradeUpdate),  # docs demo typo of ORDER_TRADE_UPDATE
    "ACCOUNT_UPDATE": decoder(AccountUpdate),
    "ACCOUNT_CONFIG_UPDATE": decoder(AccountConfigUpdate),
    "listenKeyExpired": decoder(ListenKeyExpired),
}
_IGNORED_EVENTS = frozenset({"SNAPSHOT"})


def parse_user_event(text: str) -> UserEvent | str | None:
    """A typed event; the event name for known-but-ignored events; None for venue error/ack frames.
    Raises msgspec.DecodeError / ValueError on malformed payloads."""
    header = _HEADER.decode(text)
    if not header.event:
        err = _ERROR.decode(text)
        if err.code != 0:
            raise ValueError(f"venue error frame code={err.code} msg={err.msg}")
        return None
    dec = _EVENT_DECODERS.get(header.event)
    if dec is None:
        return header.event
    return dec.decode(text)


class BingXUserStreamClient(ReconnectingWebSocket):
    def __init__(
        self,
        api: BingXUserStreamHttpAPI,
        ws_base_url: str,
        handler: Callable[[UserEvent], object],
        *,
        keepalive_interval_s: float = LISTEN_KEY_KEEPALIVE_S,
        session: aiohttp.ClientSession | None = None,
        **reconnect_kw: float,
    ) -> None:
        super().__init__(name="bingx-user", session=session, **reconnect_kw)
        self._api = api
        self._ws_base_url = ws_base_url
        self._handler = handler
        self._keepalive_interval_s = keepalive_interval_s
        self._listen_key: str | None = None
        self._renewed = False
        self._keepalive_task: asyncio.Task | None = None
        self.listen_keys_created = 0

    @property
    def listen_key(self) -> str | None:
        return self._listen_key

    async def start(self, wait_connected_s: float | None = 10.0) -> None:
        await super().start(wait_connected_s)
        self._keepalive_task = asyncio.create_task(self._keepalive(), name="bingx-listenkey-keepalive")

    async def close(self) -> None:
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            try:
                await self._keepalive_task
            except asyncio.CancelledError:
                pass
            self._keepalive_task = None
        await super().close()
        if self._listen_key is not None:
            try:
                await self._api.delete_listen_key(self._listen_key)
            except (BingXError, ListenKeyNotFoundError) as exc:
                log.info("listenKey delete on close failed: %s", exc)
            self._listen_key = None

    async def _url(self) -> str:
        await self._ensure_listen_key()
        assert self._listen_key is not None
        return user_stream_url(self._ws_base_url, self._listen_key)

    async def _ensure_listen_key(self) -> None:
        if self._listen_key is not None:
            try:
                await self._api.extend_listen_key(self._listen_key)
                return
            except ListenKeyNotFoundError:
                log.info("listenKey expired; creating a new one")
        self._listen_key = await self._api.create_listen_key()
        self.listen_keys_created += 1
        self._renewed = True

    async def _on_connected(self, attempt: int) -> None:
        renewed, self._renewed = self._renewed, False
        await call_handler(self._handler, UserStreamReconnected(listen_key_renewed=renewed, attempt=attempt))

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._keepalive_interval_s)
            key = self._listen_key
            if key is None:
                continue
            try:
                await self._api.extend_listen_key(key)
            except ListenKeyNotFoundError:
                await self._renew(key)
            except BingXError as exc:  # transient: the next round or a reconnect retries
                log.warning(
                    "listenKey extend failed: %s",
                    exc,
                    extra={"event": "listen_key_extend_failed", "code": Code.VENUE_STREAM_FAULT},
                )

    async def _renew(self, stale_key: str) -> None:
        """Forget the dead key and drop the socket; the run loop reconnects with a fresh key."""
        if self._listen_key == stale_key:
            self._listen_key = None
            await self.drop()

    def _on_text(self, text: str):
        try:
            event = parse_user_event(text)
        except (msgspec.DecodeError, ValueError) as exc:
            if "venue error frame" in str(exc):
                self.stats.venue_errors += 1
                log.warning("bingx-user %s", exc, extra={"event": "user_stream_fault", "code": Code.VENUE_STREAM_FAULT})
            else:
                self._bad(str(exc), text)
            return None
        if event is None or isinstance(event, str):
            self.stats.ignored += 1
            if isinstance(event, str) and event not in _IGNORED_EVENTS:
                log.debug("bingx-user unknown event %s", event)
            return None
        if isinstance(event, ListenKeyExpired):
            return self._expired(event)
        return call_handler(self._handler, event)

    async def _expired(self, event: ListenKeyExpired) -> None:
        await call_handler(self._handler, event)
        await self._renew(self._listen_key or event.listen_key)
