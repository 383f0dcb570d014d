"""Market stream client (docs/reference/bingx_api.md §9.2): subscribe by topic, typed payloads, resubscribe after
reconnect."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import aiohttp
import msgspec

from dolphin_nautilus.adapters.bingx.constants import WS_MAX_TOPICS_PER_CONNECTION
from dolphin_nautilus.adapters.bingx.schemas.common import decoder
from dolphin_nautilus.adapters.bingx.schemas.ws import (
    MarketUpdate,
    WsBookTicker,
    WsDepth,
    WsFrame,
    WsKline,
    WsPrice,
    WsTicker,
    WsTrade,
)
from dolphin_nautilus.adapters.bingx.websocket.client import ReconnectingWebSocket, call_handler
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import node_logger

log = node_logger("bingx.ws_market")

_FRAME = decoder(WsFrame)
_PAYLOAD_DECODERS: list[tuple[str, msgspec.json.Decoder]] = [
    ("@trade", decoder(list[WsTrade])),
    ("@depth", decoder(WsDepth)),
    ("@kline_", decoder(list[WsKline])),
    ("@bookTicker", decoder(WsBookTicker)),
    ("@ticker", decoder(WsTicker)),
    ("@markPrice", decoder(WsPrice)),
    ("@lastPrice", decoder(WsPrice)),
]
_ANY = msgspec.json.Decoder()


class BingXSubscriptionError(Exception):
    def __init__(self, data_type: str, code: int, msg: str) -> None:
        super().__init__(f"subscription {data_type!r} refused: code={code} {msg}")
        self.data_type, self.code, self.msg = data_type, code, msg


def parse_market_frame(text: str) -> WsFrame:
    return _FRAME.decode(text)


def decode_payload(data_type: str, raw: bytes) -> object:
    for marker, dec in _PAYLOAD_DECODERS:
        if marker in data_type:
            return dec.decode(raw)
    return _ANY.decode(raw)


class BingXMarketStreamClient(ReconnectingWebSocket):
    """`handler(MarketUpdate)` gets every data frame; it may be sync or async."""

    def __init__(
        self,
        url: str,
        handler: Callable[[MarketUpdate], object],
        *,
        ack_timeout_s: float = 5.0,
        session: aiohttp.ClientSession | None = None,
        **reconnect_kw: float,
    ) -> None:
        super().__init__(name="bingx-market", session=session, **reconnect_kw)
        self.url = url
        self._handler = handler
        self._ack_timeout_s = ack_timeout_s
        self._topics: list[str] = []  # in subscription order
        self._pending: dict[str, tuple[str, asyncio.Future]] = {}

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return tuple(self._topics)

    async def _url(self) -> str:
        return self.url

    async def _on_connected(self, attempt: int) -> None:
        for _, fut in self._pending.values():  # acks of the previous connection will never come
            fut.cancel()
        self._pending.clear()
        # Resubscribe everything; acks arrive through the read loop once it starts.
        for topic in self._topics:
            await self._send_request("sub", topic)

    async def subscribe(self, data_type: str) -> None:
        """Subscribe (e.g. `BTC-USDT@trade`, `BTC-USDT@depth5@500ms`, `BTC-USDT@kline_1m`) and wait for
        the ack when connected. Remembered for resubscription. Raises BingXSubscriptionError if refused."""
        if data_type in self._topics:
            return
        if len(self._topics) >= WS_MAX_TOPICS_PER_CONNECTION:
            raise ValueError(f"at most {WS_MAX_TOPICS_PER_CONNECTION} topics per connection")
        self._topics.append(data_type)
        if self.is_connected:
            try:
                await self._request_and_wait("sub", data_type)
            except BingXSubscriptionError:
                self._topics.remove(data_type)
                raise

    async def unsubscribe(self, data_type: str) -> None:
        if data_type not in self._topics:
            return
        self._topics.remove(data_type)
        if self.is_connected:
            await self._request_and_wait("unsub", data_type)

    async def _send_request(self, req_type: str, data_type: str) -> asyncio.Future:
        req_id = str(uuid.uuid4())
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[req_id] = (data_type, fut)
        await self.send_text(json.dumps({"id": req_id, "reqType": req_type, "dataType": data_type}))
        return fut

    async def _request_and_wait(self, req_type: str, data_type: str) -> None:
        fut = await self._send_request(req_type, data_type)
        await asyncio.wait_for(fut, self._ack_timeout_s)

    def _on_text(self, text: str):
        try:
            frame = parse_market_frame(text)
        except (msgspec.DecodeError, ValueError):
            self._bad("not a JSON frame", text)
            return None
        if frame.id and frame.id in self._pending:
            self._ack(frame)
            return None
        if frame.code != 0:
            self.stats.venue_errors += 1
            log.warning(
                "bingx-market venue error code=%s msg=%s",
                frame.code,
                frame.msg,
                extra={"event": "stream_venue_error", "code": Code.VENUE_STREAM_FAULT},
            )
            return None
        if not frame.data_type:
            self.stats.ignored += 1
            return None
        try:
            payload = decode_payload(frame.data_type, bytes(frame.data))
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            self._bad(f"{frame.data_type}: {exc}", text)
            return None
        symbol = frame.s or frame.data_type.split("@", 1)[0]
        return call_handler(self._handler, MarketUpdate(frame.data_type, symbol, payload, frame.ts))

    def _ack(self, frame: WsFrame) -> None:
        data_type, fut = self._pending.pop(frame.id)
        if fut.done():
            return
        if frame.code == 0:
            fut.set_result(None)
        else:
            self.stats.venue_errors += 1
            log.warning(
                "bingx-market subscription %s refused: code=%s %s",
                data_type,
                frame.code,
                frame.msg,
                extra={"event": "subscription_refused", "code": Code.VENUE_STREAM_FAULT},
            )
            fut.set_exception(BingXSubscriptionError(data_type, frame.code, frame.msg))
            fut.exception()  # mark retrieved: resubscribe paths do not await their futures
