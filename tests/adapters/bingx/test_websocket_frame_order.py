"""A burst of frames does not hold the loop: what is scheduled before a frame's handler runs first.

The venue sends a fill as NEW + TRADE + ACCOUNT_UPDATE together. They sit in the socket buffer together and
aiohttp hands them over without suspending, so without a yield between frames a REST reply's OrderAccepted
(queued by NautilusTrader for the next loop turn) waited for the whole burst to be parsed."""

import asyncio
import gzip

from aiohttp import web

from dolphin_nautilus.adapters.bingx.websocket.client import ReconnectingWebSocket
from tests.adapters.bingx.conftest import run

BURST = ["one", "two", "three"]


class BurstReader(ReconnectingWebSocket):
    def __init__(self, url: str) -> None:
        super().__init__(name="burst", backoff_initial_s=0.05, backoff_max_s=0.1)
        self.url = url
        self.seen: list[str] = []

    async def _url(self) -> str:
        return self.url

    async def _on_connected(self, attempt: int) -> None:
        await asyncio.sleep(0.2)  # the whole burst is in the socket buffer before the first read

    def _on_text(self, text: str) -> None:
        self.seen.append(text)
        if text == BURST[0]:
            asyncio.get_running_loop().call_soon(self.seen.append, "scheduled by the first frame")


async def _serve_burst(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    for text in BURST:
        await ws.send_bytes(gzip.compress(text.encode()))
    async for _ in ws:  # keep the connection open until the client leaves
        pass
    return ws


def test_a_callback_scheduled_by_a_frame_handler_runs_before_the_next_buffered_frame():
    async def body() -> list[str]:
        app = web.Application()
        app.router.add_get("/ws", _serve_burst)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS picked
        reader = BurstReader(f"http://127.0.0.1:{port}/ws")
        try:
            await reader.start()
            async with asyncio.timeout(5):
                while len(reader.seen) < len(BURST) + 1:
                    await asyncio.sleep(0.01)
            return reader.seen
        finally:
            await reader.close()
            await runner.cleanup()

    assert run(body()) == ["one", "scheduled by the first frame", "two", "three"]
