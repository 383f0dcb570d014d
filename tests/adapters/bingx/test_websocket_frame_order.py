"""The stream client's read loop: a burst of frames does not hold the loop (what is scheduled before a frame's
handler runs first), and a link silent for the idle timeout is dropped and reconnected.

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


class SilentLinkReader(ReconnectingWebSocket):
    def __init__(self, url: str) -> None:
        super().__init__(name="silent", backoff_initial_s=0.05, backoff_max_s=0.1, idle_timeout_s=0.3)
        self.url = url
        self.frames: list[str] = []

    async def _url(self) -> str:
        return self.url

    def _on_text(self, text: str) -> None:
        self.frames.append(text)


async def _serve_then_fall_silent(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=False)
    await ws.prepare(request)
    await ws.send_bytes(gzip.compress(b"hello"))
    await asyncio.sleep(30)  # then nothing, and no close: a dead link as the client sees it
    return ws


def test_a_link_silent_for_the_idle_timeout_is_dropped_and_reconnected(caplog):
    async def body() -> tuple[SilentLinkReader, float]:
        app = web.Application()
        app.router.add_get("/ws", _serve_then_fall_silent)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS picked
        reader = SilentLinkReader(f"http://127.0.0.1:{port}/ws")
        try:
            started = asyncio.get_running_loop().time()
            await reader.start()
            async with asyncio.timeout(5):
                while reader.stats.reconnects < 2:
                    await asyncio.sleep(0.01)
            return reader, asyncio.get_running_loop().time() - started
        finally:
            await reader.close()
            await runner.cleanup()

    reader, elapsed = run(body())
    assert reader.frames[:2] == ["hello", "hello"]  # each connection's frame was read before it fell silent
    assert elapsed >= 2 * 0.3  # not dropped before the link was silent that long
    silent = [r for r in caplog.records if getattr(r, "event", None) == "stream_silent"]
    assert len(silent) >= 2 and "silent for" in silent[0].getMessage()


class SlowHandlerReader(SilentLinkReader):
    """Its handler of the frame "slow" takes longer than the idle timeout."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.connects_at_frame: list[int] = []

    def _on_text(self, text: str):
        self.frames.append(text)
        self.connects_at_frame.append(self.stats.connects)
        return asyncio.sleep(0.6) if text == "slow" else None


async def _serve_slow_then_after(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=False)
    await ws.prepare(request)
    await ws.send_bytes(gzip.compress(b"slow"))
    await asyncio.sleep(0.1)
    await ws.send_bytes(gzip.compress(b"after"))
    await asyncio.sleep(30)
    return ws


def test_a_handler_slower_than_the_idle_timeout_is_not_silence():
    async def body() -> SlowHandlerReader:
        app = web.Application()
        app.router.add_get("/ws", _serve_slow_then_after)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS picked
        reader = SlowHandlerReader(f"http://127.0.0.1:{port}/ws")
        try:
            await reader.start()
            async with asyncio.timeout(5):
                while len(reader.frames) < 2:
                    await asyncio.sleep(0.01)
            return reader
        finally:
            await reader.close()
            await runner.cleanup()

    reader = run(body())
    # the slow handler finished and the next frame came on the same connection: nothing was cut or dropped
    assert reader.frames[:2] == ["slow", "after"] and reader.connects_at_frame[:2] == [1, 1]
