"""The stream client's read loop: a burst of frames does not hold the loop (what is scheduled before a frame's
handler runs first), and a link silent for the idle timeout is dropped and reconnected.

The venue sends a fill as NEW + TRADE + ACCOUNT_UPDATE together. They sit in the socket buffer together and
aiohttp hands them over without suspending, so without a yield between frames a REST reply's OrderAccepted
(queued by NautilusTrader for the next loop turn) waited for the whole burst to be parsed."""

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from dolphin_nautilus.adapters.bingx.websocket.client import ReconnectingWebSocket
from tests.adapters.bingx.conftest import run, wait_for

Handler = Callable[[web.Request], Awaitable[web.WebSocketResponse]]


class LocalReader(ReconnectingWebSocket):
    """A stream client of a local WS server that keeps the frames it is handed."""

    def __init__(self, url: str, **kw) -> None:
        super().__init__(name="local", backoff_initial_s=0.05, backoff_max_s=0.1, **kw)
        self.url = url
        self.frames: list[str] = []

    async def _url(self) -> str:
        return self.url

    def _on_text(self, text: str) -> Awaitable[None] | None:
        self.frames.append(text)
        return None


@asynccontextmanager
async def reading[R: LocalReader](serve: Handler, make_reader: Callable[[str], R]) -> AsyncIterator[R]:
    """A real aiohttp WS server on loopback running `serve`, and a started client of it."""
    app = web.Application()
    app.router.add_get("/ws", serve)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS picked
    reader = make_reader(f"http://127.0.0.1:{port}/ws")
    try:
        await reader.start()
        yield reader
    finally:
        await reader.close()
        await runner.cleanup()


async def _opened(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=False)
    await ws.prepare(request)
    return ws


BURST = ["one", "two", "three"]


class BurstReader(LocalReader):
    async def _on_connected(self, attempt: int) -> None:
        await asyncio.sleep(0.2)  # the whole burst is in the socket buffer before the first read

    def _on_text(self, text: str) -> None:
        self.frames.append(text)
        if text == BURST[0]:
            asyncio.get_running_loop().call_soon(self.frames.append, "scheduled by the first frame")


async def _serve_burst(request: web.Request) -> web.WebSocketResponse:
    ws = await _opened(request)
    for text in BURST:
        await ws.send_bytes(gzip.compress(text.encode()))
    async for _ in ws:  # keep the connection open until the client leaves
        pass
    return ws


def test_a_callback_scheduled_by_a_frame_handler_runs_before_the_next_buffered_frame():
    async def body() -> list[str]:
        async with reading(_serve_burst, BurstReader) as reader:
            await wait_for(lambda: len(reader.frames) == len(BURST) + 1)
            return reader.frames

    assert run(body()) == ["one", "scheduled by the first frame", "two", "three"]


async def _serve_then_fall_silent(request: web.Request) -> web.WebSocketResponse:
    ws = await _opened(request)
    await ws.send_bytes(gzip.compress(b"hello"))
    await asyncio.sleep(30)  # then nothing, and no close: a dead link as the client sees it
    return ws


def test_a_link_silent_for_the_idle_timeout_is_dropped_and_reconnected(caplog):
    async def body() -> tuple[LocalReader, float]:
        started = asyncio.get_running_loop().time()
        async with reading(_serve_then_fall_silent, lambda url: LocalReader(url, idle_timeout_s=0.3)) as reader:
            await wait_for(lambda: reader.stats.reconnects >= 2)
            return reader, asyncio.get_running_loop().time() - started

    reader, elapsed = run(body())
    assert reader.frames[:2] == ["hello", "hello"]  # each connection's frame was read before it fell silent
    assert elapsed >= 2 * 0.3  # not dropped before the link was silent that long
    silent = [r for r in caplog.records if getattr(r, "event", None) == "stream_silent"]
    assert len(silent) >= 2 and "silent for" in silent[0].getMessage()


class SlowHandlerReader(LocalReader):
    """Its handler of the frame "slow" takes longer than the idle timeout."""

    def __init__(self, url: str) -> None:
        super().__init__(url, idle_timeout_s=0.3)
        self.connects_at_frame: list[int] = []

    def _on_text(self, text: str) -> Awaitable[None] | None:
        self.frames.append(text)
        self.connects_at_frame.append(self.stats.connects)
        return asyncio.sleep(0.6) if text == "slow" else None


async def _serve_slow_then_after(request: web.Request) -> web.WebSocketResponse:
    ws = await _opened(request)
    await ws.send_bytes(gzip.compress(b"slow"))
    await asyncio.sleep(0.1)
    await ws.send_bytes(gzip.compress(b"after"))
    await asyncio.sleep(30)
    return ws


def test_a_handler_slower_than_the_idle_timeout_is_not_silence():
    async def body() -> SlowHandlerReader:
        async with reading(_serve_slow_then_after, SlowHandlerReader) as reader:
            await wait_for(lambda: len(reader.frames) >= 2)
            return reader

    reader = run(body())
    # the slow handler finished and the next frame came on the same connection: nothing was cut or dropped
    assert reader.frames[:2] == ["slow", "after"] and reader.connects_at_frame[:2] == [1, 1]
