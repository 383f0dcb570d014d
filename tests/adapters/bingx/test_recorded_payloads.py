"""Recorded venue payloads (tests/fixtures/bingx) decode into the adapter's schemas with the right values:
64-bit ids exact, numbers from strings/numbers/"", timestamps in the right zone (filledTm is UTC+8
mislabelled Z; filledTime is right), bid/ask fields the right way round."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderStatus
from dolphin_nautilus.adapters.bingx.schemas.account import (
    BingXBalance,
    BingXCommissionRateData,
    BingXListenKey,
    BingXPosition,
    BingXPositionModeData,
)
from dolphin_nautilus.adapters.bingx.schemas.common import ENVELOPE_DECODER, decoder
from dolphin_nautilus.adapters.bingx.schemas.market import (
    BingXBookTickerData,
    BingXContract,
    BingXDepth,
    BingXKline,
    BingXServerTime,
    BingXTicker,
)
from dolphin_nautilus.adapters.bingx.schemas.trade import (
    BingXCancelAllResult,
    BingXFillHistoryData,
    BingXFillOrdersData,
    BingXOrderAckData,
    BingXOrderData,
    BingXOrdersData,
)
from dolphin_nautilus.adapters.bingx.schemas.ws import (
    AccountConfigUpdate,
    AccountUpdate,
    ListenKeyExpired,
    OrderTradeUpdate,
    WsBookTicker,
    WsDepth,
    WsKline,
    WsPrice,
    WsTicker,
    WsTrade,
)
from dolphin_nautilus.adapters.bingx.websocket.market import decode_payload, parse_market_frame
from dolphin_nautilus.adapters.bingx.websocket.user import parse_user_event
from tests.bingx_emulator.recorded import FIXTURES, load_fixture, payload_bytes


def _utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_every_fixture_names_its_source_and_what_it_records():
    names = sorted(p.stem for p in FIXTURES.glob("*.json"))
    assert len(names) >= 30
    for name in names:
        doc = load_fixture(name)
        assert doc["source"].get("repo") or doc["source"].get("url") or doc["source"].get("note")
        assert doc.get("endpoint") or doc.get("stream"), name


def test_contracts_precisions_and_minimums():
    env = ENVELOPE_DECODER.decode(payload_bytes("rest_contracts"))
    btc, eth = decoder(list[BingXContract]).decode(env.data)
    assert (btc.symbol, btc.price_precision, btc.quantity_precision) == ("BTC-USDT", 1, 4)
    assert btc.price_increment == Decimal("0.1") and btc.size_increment == Decimal("0.0001")
    assert btc.trade_min_quantity == Decimal("0.0001") and btc.trade_min_usdt == 2
    assert btc.taker_fee_rate == Decimal("0.0005") and btc.maker_fee_rate == Decimal("0.0002")
    assert btc.api_state_open is True and btc.is_tradable and eth.size_increment == Decimal("0.01")


def test_depth_asks_come_best_last_and_are_sorted_by_the_schema():
    depth = decoder(BingXDepth).decode(payload_bytes("rest_depth", "data"))
    bids, asks = depth.best_first()
    assert depth.ts == 1702719083983
    assert bids[0] == (Decimal("0.000009854"), Decimal("483909"))
    assert asks[0] == (Decimal("0.000009856"), Decimal("687669"))  # the venue's LAST ask row
    assert bids[0][0] < asks[0][0]


def test_klines_and_server_time():
    [bar] = decoder(list[BingXKline]).decode(payload_bytes("rest_klines_v3", "data"))
    assert bar.time == 1702717200000 and bar.open == Decimal("0.7034") and bar.volume == Decimal("635494.00")
    assert decoder(BingXServerTime).decode(payload_bytes("rest_server_time", "data")).server_time == 1672025091160


def test_book_ticker_and_ticker_bid_ask_the_right_way_round():
    book = decoder(BingXBookTickerData).decode(payload_bytes("rest_book_ticker", "data")).book_ticker
    assert (book.bid_price, book.bid_qty, book.ask_price, book.ask_qty) == (
        Decimal("42211.1"),
        Decimal("12663"),
        Decimal("42211.8"),
        Decimal("128854"),
    )
    ticker = decoder(BingXTicker).decode(payload_bytes("rest_ticker", "data"))
    assert ticker.bid_price < ticker.ask_price and (ticker.bid_qty, ticker.ask_qty) == (Decimal("84"), Decimal("99"))
    assert ticker.open_time == 1702719833853 and ticker.price_change_percent == Decimal("4.15")


def test_live_place_order_echo_keeps_the_64_bit_id_exact():
    ack = decoder(BingXOrderAckData).decode(payload_bytes("rest_place_order_live", "data")).order
    assert ack.order_id == 1745839584339562496 and isinstance(ack.order_id, int) and ack.order_id > 2**53
    assert ack.quantity == Decimal("0.1") and ack.price == 0 and ack.position_side == "LONG"
    assert ack.client_order_id == "" and ack.time_in_force == "GTC" and ack.reduce_only is False


@pytest.mark.parametrize("name", ["rest_cancel_order", "rest_query_order"])
def test_order_objects(name):
    order = decoder(BingXOrderData).decode(payload_bytes(name, "data")).order
    assert order.order_id == 1736012449498123500  # rounded by the docs build, but an exact int here
    assert order.order_status is BingXOrderStatus.NEW  # REST says PENDING for a resting order
    assert order.stop_price == 0 and order.price == Decimal("2.1710") and order.client_order_id == "l*****e"
    assert order.time == 1702732596168 and order.update_time == 1702732596188


def test_order_lists_cancel_all_and_history():
    opened = decoder(BingXOrdersData).decode(payload_bytes("rest_open_orders", "data")).orders
    assert [o.price for o in opened] == [Decimal("44459.6"), Decimal("44454.6")] and not opened[0].post_only
    [done] = decoder(BingXOrdersData).decode(payload_bytes("rest_all_orders", "data")).orders
    assert done.order_status is BingXOrderStatus.FILLED and done.cum_quote == 13
    assert done.commission == Decimal("-0.002585") and done.avg_price == Decimal("0.3916")
    result = decoder(BingXCancelAllResult).decode(payload_bytes("rest_cancel_all", "data"))
    assert result.failed is None and {o.order_status for o in result.success or []} == {BingXOrderStatus.CANCELED}


def test_fill_times_use_filled_time_not_the_utc8_filled_tm():
    data = decoder(BingXFillOrdersData).decode(payload_bytes("rest_all_fill_orders", "data"))
    [row] = data.fill_orders or []
    raw = load_fixture("rest_all_fill_orders")["payload"]["data"]["fill_orders"][0]
    assert row.order_id == 1736007768311123456  # a string on the wire, an exact int here
    assert row.ts_ms == _utc_ms("2023-12-16T12:58:36")  # 20:58:36+08:00
    assert _utc_ms(raw["filledTm"].rstrip("Z")) - row.ts_ms == 8 * 3_600_000  # the mislabelled field
    # the order's snowflake id embeds its creation time: 36 s before the fill, not 8 h after it
    created = (row.order_id >> 22) + 1288834974657
    assert 0 <= row.ts_ms - created < 60_000
    [fill] = decoder(BingXFillHistoryData).decode(payload_bytes("rest_fill_history", "data")).fill_history_orders or []
    assert fill.trade_id == "241512" and fill.ts_ms == row.ts_ms and fill.is_maker and fill.side == "buy"


def test_positions_balance_modes_fees_listen_key():
    [iso] = decoder(list[BingXPosition]).decode(payload_bytes("rest_positions_isolated", "data"))
    assert iso.signed_amount == Decimal("-0.20") and iso.isolated and iso.leverage == 5
    assert iso.liquidation_price == Decimal("294.16914617776246")  # a JSON float, read from its text
    [live] = decoder(list[BingXPosition]).decode(payload_bytes("rest_positions_live", "data"))
    assert (
        live.position_id == "1792480725958881280"
        and iso.position_id == "1735*****52"
        and live.signed_amount == Decimal("0.1")
        and live.only_one_position
    )
    usdt, usdc = decoder(list[BingXBalance]).decode(payload_bytes("rest_balance_v3", "data"))
    assert (usdt.asset, usdt.available_margin, usdc.asset) == ("USDT", Decimal("19.9003"), "USDC")
    assert decoder(BingXPositionModeData).decode(payload_bytes("rest_position_mode", "data")).dual_side_position is True
    fees = decoder(BingXCommissionRateData).decode(payload_bytes("rest_commission_rate", "data")).commission
    assert (fees.taker_commission_rate, fees.maker_commission_rate) == (Decimal("0.0005"), Decimal("0.0002"))
    key = decoder(BingXListenKey).decode(payload_bytes("rest_listen_key")).listen_key
    assert len(key) == 64


def test_error_envelopes():
    assert ENVELOPE_DECODER.decode(payload_bytes("rest_error_signature")).code == 100001
    assert ENVELOPE_DECODER.decode(payload_bytes("rest_error_business")).code == 80014
    assert ENVELOPE_DECODER.decode(payload_bytes("rest_income_funding_live")).code == 0  # "0" as a string


def _market(name: str) -> object:
    frame = parse_market_frame(payload_bytes(name).decode())
    return decode_payload(frame.data_type, frame.data)


def test_ws_ticker_prices_in_upper_case_sizes_in_lower_case():
    ticker = _market("ws_ticker")
    assert isinstance(ticker, WsTicker)
    assert (ticker.bid_price, ticker.bid_qty) == (Decimal("2986.15"), Decimal("2.53"))
    assert (ticker.ask_price, ticker.ask_qty) == (Decimal("2986.17"), Decimal("4.11"))
    assert ticker.bid_price < ticker.ask_price < ticker.bid_price + 1  # prices, not sizes
    book = _market("ws_book_ticker")
    assert isinstance(book, WsBookTicker) and book.update_id == 309869207
    assert (book.bid_price, book.bid_qty, book.ask_price, book.ask_qty) == (
        Decimal("2993.59"),
        Decimal("13.24"),
        Decimal("2993.67"),
        Decimal("9.78"),
    )


def test_ws_trades_klines_depth_prices():
    trades = _market("ws_trade")
    assert isinstance(trades, list) and isinstance(trades[0], WsTrade)
    assert trades[0].price == Decimal("2983.48") and trades[0].ts == 1714650253104 and not trades[0].buyer_is_maker
    [kline] = _market("ws_kline")
    assert isinstance(kline, WsKline) and kline.open_time == 1714650540000 and kline.close == Decimal("2989.57")
    depth = _market("ws_depth")
    assert isinstance(depth, WsDepth)
    bids, asks = depth.best_first()
    assert bids[0][0] == Decimal("2990.64") and asks[0][0] == Decimal("2990.71") and bids[0][0] < asks[0][0]
    mark, last = _market("ws_mark_price"), _market("ws_last_price")
    assert isinstance(mark, WsPrice) and mark.mark_price == Decimal("2999.63")
    assert isinstance(last, WsPrice) and last.last_price == Decimal("2988.90")


@pytest.mark.parametrize("name", ["ws_order_trade_update_2023", "ws_order_trade_update_2025"])
def test_ws_order_trade_update(name):
    event = parse_user_event(payload_bytes(name).decode())
    assert isinstance(event, OrderTradeUpdate) and event.order.is_fill
    raw = load_fixture(name)["payload"]["o"]
    assert event.order.order_id == raw["i"] and event.order.fee == Decimal(raw["n"]) < 0
    assert event.order.position_side == "SHORT" and event.order.order_status is BingXOrderStatus.FILLED
    if name.endswith("2025"):
        assert event.order.trade_id == 511178071 and event.transaction_time == 1758608899316
    else:
        assert event.order.last_qty is None and event.order.trade_id == 0  # absent in 2023: derive from z


@pytest.mark.parametrize("name", ["ws_account_update_2023", "ws_account_update_2025"])
def test_ws_account_update(name):
    event = parse_user_event(payload_bytes(name).decode())
    assert isinstance(event, AccountUpdate) and event.account.reason == "ORDER"
    [bal] = event.account.balances
    [pos] = event.account.positions
    assert bal.asset == "USDT" and bal.wallet_balance > bal.cross_wallet_balance
    assert pos.position_side == "SHORT" and pos.position_amt > 0 and pos.margin_type in ("cross", "isolated")


def test_ws_config_and_listen_key_expired():
    config = parse_user_event(payload_bytes("ws_account_config_update").decode())
    assert isinstance(config, AccountConfigUpdate)
    assert (config.config.long_leverage, config.config.short_leverage, config.config.margin_type) == (12, 9, "cross")
    expired = parse_user_event(payload_bytes("ws_listen_key_expired").decode())
    assert isinstance(expired, ListenKeyExpired) and expired.event_time == 1676964520421
