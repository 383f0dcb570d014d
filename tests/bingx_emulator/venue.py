"""A plain aiohttp caller that signs like the documented venue expects (not our adapter's client)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from dolphin_nautilus.bingx_emulator import EmulatorHandle


def signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class Reply:
    def __init__(self, status: int, headers: Any, text: str) -> None:
        self.status, self.headers, self.text = status, headers, text
        try:
            self.json = json.loads(text) if text else None
        except ValueError:
            self.json = None

    @property
    def code(self) -> int | None:
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def data(self) -> Any:
        return self.json["data"]


class Venue:
    def __init__(self, handle: EmulatorHandle, session: aiohttp.ClientSession) -> None:
        self.handle, self.session = handle, session

    async def public(self, path: str, **params: Any) -> Reply:
        async with self.session.get(self.handle.rest_url + path, params=params) as resp:
            return Reply(resp.status, resp.headers, await resp.text())

    async def signed(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        sign: bool = True,
        form_body: bool = False,
        timeout: float | None = None,
    ) -> Reply:
        """All params in the query string, sorted a-z, the decoded string signed (docs/reference/bingx_api.md §2.2)."""
        items = {k: _text(v) for k, v in (params or {}).items()}
        items["timestamp"] = str(timestamp if timestamp is not None else int(time.time() * 1000))
        ordered = sorted(items.items())
        payload = "&".join(f"{k}={v}" for k, v in ordered)
        encoded = "&".join(f"{k}={quote(v, safe='')}" for k, v in ordered)
        if sign:
            encoded += "&signature=" + signature(secret or self.handle.api_secret, payload)
        headers = {"X-BX-APIKEY": api_key if api_key is not None else self.handle.api_key}
        url, data = f"{self.handle.rest_url}{path}?{encoded}", None
        if form_body:
            url, data = f"{self.handle.rest_url}{path}", encoded
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else None
        async with self.session.request(method, url, headers=headers, data=data, timeout=client_timeout) as resp:
            return Reply(resp.status, resp.headers, await resp.text())

    async def order(self, *, timestamp: int | None = None, **params: Any) -> Reply:
        return await self.signed("POST", "/openApi/swap/v2/trade/order", params, timestamp=timestamp)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run(handle: EmulatorHandle, scenario: Callable[[Venue], Awaitable[Any]]) -> Any:
    """Run an async scenario against the emulator with a fresh client session."""

    async def main() -> Any:
        async with aiohttp.ClientSession() as session:
            return await scenario(Venue(handle, session))

    return asyncio.run(main())


async def next_event(ws: aiohttp.ClientWebSocketResponse, timeout: float = 3.0, skip: tuple[str, ...] = ()) -> Any:
    """The next decoded frame (gunzipped JSON, or the text 'Ping'), skipping heartbeats/listed event types."""
    deadline = time.monotonic() + timeout
    while True:
        msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        if msg.type == aiohttp.WSMsgType.BINARY:
            text = gzip.decompress(msg.data).decode()
        elif msg.type == aiohttp.WSMsgType.TEXT:
            text = msg.data
        else:
            return msg.type
        if text == "Ping":
            await ws.send_str("Pong")
            if "Ping" in skip:
                continue
            return text
        event = json.loads(text)
        if event.get("e") in skip:
            continue
        return event
