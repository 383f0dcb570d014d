"""Instrument provider and data client against the emulator (bars close on the next minute's kline)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pandas as pd
from nautilus_trader.config import InstrumentProviderConfig, StrategyConfig
from nautilus_trader.model.data import BarType
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.providers import BingXInstrumentProvider
from dolphin_nautilus.adapters.bingx.schemas.ws import MarketUpdate

from .conftest import BTC, ETH, node_config, run_node, wait_for
from .test_end_to_end import SimClock

BAR_TYPE = BarType.from_str(f"{BTC}-1-MINUTE-LAST-EXTERNAL")


def test_provider_loads_contracts_with_precisions_minimums_and_account_fees(bingx_emulator):
    async def load():
        client = BingXHttpClient(
            bingx_emulator.rest_url, BingXCredentials(bingx_emulator.api_key, bingx_emulator.api_secret)
        )
        try:
            provider = BingXInstrumentProvider(client, InstrumentProviderConfig(load_all=True))
            await provider.initialize()
            return provider
        finally:
            await client.close()

    provider = asyncio.run(load())
    btc, eth = provider.find(BTC), provider.find(ETH)
    assert (btc.price_precision, btc.size_precision) == (1, 4)
    assert btc.min_quantity.as_decimal() == Decimal("0.0001") and eth.min_quantity.as_decimal() == Decimal("0.01")
    assert btc.min_notional.as_decimal() == Decimal("2")
    assert (btc.maker_fee, btc.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))
    assert {str(i.id) for i in provider.list_all()} == {str(BTC), str(ETH)}


class DataRecorder(Strategy):
    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="Data-001"))
        self.bars, self.quotes, self.trades, self.history = [], [], [], []

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)
        self.subscribe_quote_ticks(BTC)
        self.subscribe_trade_ticks(BTC)

    def on_bar(self, bar) -> None:
        self.bars.append(bar)

    def on_quote_tick(self, tick) -> None:
        self.quotes.append(tick)

    def on_trade_tick(self, tick) -> None:
        self.trades.append(tick)

    def on_historical_data(self, data) -> None:
        self.history.append(data)


def test_data_client_bars_close_quotes_trades_history_and_bad_payloads(bingx_env, monkeypatch):
    emulator = bingx_env()
    clock = SimClock(monkeypatch)
    strategy = DataRecorder()

    async def scenario(node):
        await wait_for(lambda: node.kernel.data_engine.subscribed_bars(), what="bar subscription")
        await asyncio.sleep(0.3)  # the venue acks the kline topic
        for k, price in enumerate(["60000.0", "60100.0", "60050.0", "60200.0"]):
            clock.step(emulator, k, price)
            clock.step(emulator, k, str(Decimal(price) + 10), later_ms=100)  # a second print in the same minute
            await asyncio.sleep(0.1)
        await wait_for(lambda: len(strategy.bars) >= 3 and strategy.quotes and strategy.trades, what="market data")
        strategy.request_bars(BAR_TYPE, start=pd.Timestamp.now(tz="UTC") - timedelta(hours=1))
        await wait_for(lambda: strategy.history, what="historical bars")
        client = next(iter(node.kernel.data_engine._clients.values()))  # noqa: SLF001
        client._on_update(MarketUpdate("BTC-USDT@kline_1m", "BTC-USDT", "not a kline list"))  # noqa: SLF001
        client._on_update(MarketUpdate("NOPE-USDT@bookTicker", "NOPE-USDT", None))  # noqa: SLF001
        return client.bad_payloads

    bad = run_node(node_config(emulator), strategies=[strategy], scenario=scenario)
    assert bad == 2
    first = strategy.bars[0]
    assert first.ts_event == clock.bar_close(0)  # stamped at the candle's close
    assert first.open.as_decimal() == Decimal("60000.0") and first.close.as_decimal() == Decimal("60010.0")
    assert first.high.as_decimal() == Decimal("60010.0")
    assert [b.ts_event for b in strategy.bars[:3]] == [clock.bar_close(k) for k in range(3)]
    assert strategy.quotes[-1].bid_price < strategy.quotes[-1].ask_price
    assert strategy.history and all(b.ts_event <= pd.Timestamp.now(tz="UTC").value for b in strategy.history)
