"""`BingXDataClient`: BingX market data for Nautilus (instruments, closed klines as EXTERNAL bars, trades,
bookTicker quotes, historical bars). The venue I/O is `BingXMarketStreamClient` / `BingXMarketHttpAPI`."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.data.messages import (
    RequestBars,
    SubscribeBars,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    UnsubscribeBars,
    UnsubscribeQuoteTicks,
    UnsubscribeTradeTicks,
)
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.data import BarType
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Venue
from nautilus_trader.model.instruments import Instrument

from dolphin_nautilus.adapters.bingx.config import BingXDataClientConfig
from dolphin_nautilus.adapters.bingx.constants import BINGX, KLINE_MAX_LIMIT
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.market import BingXMarketHttpAPI
from dolphin_nautilus.adapters.bingx.order_flow import KlineCloser
from dolphin_nautilus.adapters.bingx.parsing import (
    book_ticker_to_quote,
    interval_ms,
    kline_interval,
    kline_to_bar,
    ws_trade_to_tick,
)
from dolphin_nautilus.adapters.bingx.providers import BingXInstrumentProvider
from dolphin_nautilus.adapters.bingx.refusals import record_refusal
from dolphin_nautilus.adapters.bingx.schemas.market import BingXKline
from dolphin_nautilus.adapters.bingx.schemas.ws import MarketUpdate, WsBookTicker, WsKline, WsTrade
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id, to_venue_symbol
from dolphin_nautilus.adapters.bingx.websocket.market import BingXMarketStreamClient
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.data")  # fault lines go to the node's JSON log with their code


class BingXDataClient(LiveMarketDataClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: BingXHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: BingXInstrumentProvider,
        config: BingXDataClientConfig,
        name: str | None = None,
        on_disconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name or BINGX),
            venue=Venue(BINGX),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
            config=config,
        )
        self._http = client
        self._on_disconnect = on_disconnect  # releases the shared HTTP client (factories)
        self._market = BingXMarketHttpAPI(client)
        self._stream = BingXMarketStreamClient(config.urls().ws_market, self._on_update)
        self._bar_types: dict[str, set[BarType]] = {}  # kline topic -> subscribed bar types
        self._closer = KlineCloser()
        self._warmup_bars = config.warmup_bars
        self._warm_until: dict[str, int] = {}  # kline topic -> open time (ms) of the last warm-up kline handed on
        self._trade_seq = itertools.count(1)
        self.bad_payloads = 0  # venue payloads that could not become Nautilus data (logged, never raised)

    @property
    def stream(self) -> BingXMarketStreamClient:
        return self._stream

    async def _connect(self) -> None:
        try:
            await self._instrument_provider.initialize()
        except Exception as exc:
            # Nautilus logs and swallows a connect failure; one a restart cannot fix goes to the launcher typed.
            record_refusal(self._cache, exc, self._clock.timestamp_ns(), str(self.id))
            raise
        for currency in self._instrument_provider.currencies().values():
            self._cache.add_currency(currency)
        for instrument in self._instrument_provider.list_all():
            self._handle_data(instrument)
        await self._stream.start()

    async def _disconnect(self) -> None:
        await self._stream.close()
        if self._on_disconnect is not None:
            await self._on_disconnect()

    # ---- subscriptions ---------------------------------------------------------------------------------
    async def _subscribe_bars(self, command: SubscribeBars) -> None:
        bar_type = command.bar_type
        topic = f"{to_venue_symbol(str(bar_type.instrument_id))}@kline_{kline_interval(bar_type)}"
        # History first, then the stream: the bars reach subscribers in time order.
        if self._warmup_bars > 0 and topic not in self._bar_types:
            await self._warm_up(topic, bar_type)
        self._bar_types.setdefault(topic, set()).add(bar_type)
        await self._stream.subscribe(topic)

    async def _warm_up(self, topic: str, bar_type: BarType) -> None:
        """Hand the last `warmup_bars` closed klines on as bars, so a model fed by bars can decide on the first
        live one. Their ts_event lies before the node started: a strategy that trades only bars after its start
        (DolphinStrategy's trade_from_ns) only warms up on them. A venue that cannot answer is logged and the
        subscription goes on (the model then warms on live bars)."""
        wanted = self._warmup_bars
        try:
            klines = await self._closed_klines(bar_type, wanted)
        except Exception as exc:  # noqa: BLE001 - any read failure: trade on, warm up on the live stream
            log_event(
                log,
                logging.WARNING,
                "warm_up_failed",
                f"warm-up klines for {bar_type} unavailable ({type(exc).__name__}: {exc}); "
                "the signal model warms up on live bars",
                code=Code.VENUE_READ_FAILED,
                bar_type=str(bar_type),
            )
            return
        instrument = self._instrument(bar_type.instrument_id)
        interval = kline_interval(bar_type)
        ts_init = self._clock.timestamp_ns()
        for kline in klines:
            self._handle_data(kline_to_bar(bar_type, instrument, kline, interval, ts_init))
        if klines:
            self._warm_until[topic] = klines[-1].time
        log_event(
            log,
            logging.INFO,
            "warm_up",
            f"{len(klines)} of {wanted} warm-up bar(s) for {bar_type} from the venue's klines",
            bar_type=str(bar_type),
            bars=len(klines),
            wanted=wanted,
        )

    async def _closed_klines(self, bar_type: BarType, count: int) -> list[BingXKline]:
        """The newest `count` closed klines, oldest first, in pages of at most KLINE_MAX_LIMIT."""
        symbol, interval = to_venue_symbol(str(bar_type.instrument_id)), kline_interval(bar_type)
        step = interval_ms(interval)
        now_ms = self._clock.timestamp_ns() // 1_000_000
        end_ms = now_ms // step * step - 1  # before the running candle
        found: list[BingXKline] = []
        while len(found) < count:
            page = await self._market.klines(
                symbol, interval, end_ms=end_ms, limit=min(count - len(found) + 1, KLINE_MAX_LIMIT)
            )
            page = [k for k in page if k.time + step <= now_ms and (not found or k.time < found[0].time)]
            if not page:
                break  # the venue has no older history
            found = page + found
            end_ms = page[0].time - 1
        return found[-count:]

    async def _unsubscribe_bars(self, command: UnsubscribeBars) -> None:
        topic = f"{to_venue_symbol(str(command.bar_type.instrument_id))}@kline_{kline_interval(command.bar_type)}"
        types = self._bar_types.get(topic, set())
        types.discard(command.bar_type)
        if not types:
            self._bar_types.pop(topic, None)
            self._closer.forget(topic)
            self._warm_until.pop(topic, None)
            await self._stream.unsubscribe(topic)

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        await self._stream.subscribe(f"{to_venue_symbol(str(command.instrument_id))}@bookTicker")

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        await self._stream.unsubscribe(f"{to_venue_symbol(str(command.instrument_id))}@bookTicker")

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        await self._stream.subscribe(f"{to_venue_symbol(str(command.instrument_id))}@trade")

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        await self._stream.unsubscribe(f"{to_venue_symbol(str(command.instrument_id))}@trade")

    # ---- historical ------------------------------------------------------------------------------------
    async def _request_bars(self, request: RequestBars) -> None:
        bar_type = request.bar_type
        instrument = self._instrument(bar_type.instrument_id)
        interval = kline_interval(bar_type)
        start_ms = int(request.start.timestamp() * 1000) if request.start is not None else None
        end_ms = int(request.end.timestamp() * 1000) if request.end is not None else None
        limit = min(request.limit or KLINE_MAX_LIMIT, KLINE_MAX_LIMIT)
        klines = await self._market.klines(
            to_venue_symbol(str(bar_type.instrument_id)), interval, start_ms=start_ms, end_ms=end_ms, limit=limit
        )
        now_ms = self._clock.timestamp_ns() // 1_000_000
        step = interval_ms(interval)
        # The newest kline is usually the running candle: only closed candles are bars.
        closed = [k for k in klines if k.time + step <= now_ms]
        ts_init = self._clock.timestamp_ns()
        bars = [kline_to_bar(bar_type, instrument, k, interval, ts_init) for k in closed]
        self._handle_bars(bar_type, bars, request.id, request.start, request.end, request.params)

    # ---- stream ----------------------------------------------------------------------------------------
    def _instrument(self, instrument_id: InstrumentId) -> Instrument:
        instrument = self._cache.instrument(instrument_id) or self._instrument_provider.find(instrument_id)
        if instrument is None:
            raise ValueError(f"instrument {instrument_id} not loaded")
        return instrument

    def _on_update(self, update: MarketUpdate) -> None:
        try:
            self._dispatch(update)
        except Exception as exc:  # noqa: BLE001 - a bad payload is counted and logged; the stream goes on
            self.bad_payloads += 1
            log_event(
                log,
                logging.WARNING,
                "bad_market_payload",
                f"bad BingX market payload on {update.data_type}: {type(exc).__name__}: {exc}",
                code=Code.VENUE_STREAM_FAULT,
            )

    def _dispatch(self, update: MarketUpdate) -> None:
        kind = update.data_type.split("@", 1)[1] if "@" in update.data_type else ""
        if kind.startswith("kline_"):
            self._on_klines(update.data_type, update.payload)
            return
        instrument = self._instrument(InstrumentId.from_str(to_instrument_id(update.symbol)))
        ts_init = self._clock.timestamp_ns()
        if kind == "bookTicker" and isinstance(update.payload, WsBookTicker):
            self._handle_data(book_ticker_to_quote(instrument, update.payload, ts_init))
        elif kind == "trade" and isinstance(update.payload, list):
            for trade in update.payload:
                if not isinstance(trade, WsTrade):
                    raise TypeError(f"unexpected trade row {trade!r}")
                self._handle_data(ws_trade_to_tick(instrument, trade, f"{trade.ts}-{next(self._trade_seq)}", ts_init))

    def _on_klines(self, topic: str, payload: object) -> None:
        bar_types = self._bar_types.get(topic)
        if not bar_types or not isinstance(payload, list):
            if not isinstance(payload, list):
                raise TypeError(f"kline payload is {type(payload).__name__}, expected a list")
            return
        interval = topic.rsplit("_", 1)[1]
        for kline in payload:
            if not isinstance(kline, WsKline):
                raise TypeError(f"unexpected kline row {kline!r}")
            closed = self._closer.update(topic, kline.open_time, kline)
            if not isinstance(closed, WsKline) or closed.open_time <= self._warm_until.get(topic, -1):
                continue  # still running, or a candle the warm-up already handed on
            ts_init = self._clock.timestamp_ns()
            for bar_type in bar_types:
                instrument = self._instrument(bar_type.instrument_id)
                self._handle_data(kline_to_bar(bar_type, instrument, closed, interval, ts_init))
