"""Decoding venue payloads: big ids, numbers as strings/numbers/"", both client-id spellings, WS events."""

from decimal import Decimal

import msgspec
import pytest

from dolphin_nautilus.adapters.bingx.common.enums import BingXExecutionType, BingXOrderStatus
from dolphin_nautilus.adapters.bingx.schemas.account import BingXPosition, BingXPositionModeData
from dolphin_nautilus.adapters.bingx.schemas.common import ENVELOPE_DECODER, decoder
from dolphin_nautilus.adapters.bingx.schemas.market import BingXContract, BingXDepth
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXFill, BingXOrderAckData, BingXOrderData
from dolphin_nautilus.adapters.bingx.schemas.ws import AccountUpdate, OrderTradeUpdate
from dolphin_nautilus.adapters.bingx.websocket.market import decode_payload, parse_market_frame
from dolphin_nautilus.adapters.bingx.websocket.user import parse_user_event

BIG = 1970374651259388123  # > 2**53: a float would turn it into ...388000


def test_envelope_code_as_string_and_number():
    assert ENVELOPE_DECODER.decode(b'{"code":"0","msg":"","data":[]}').code == 0
    assert ENVELOPE_DECODER.decode(b'{"code":109400,"msg":"bad"}').code == 109400


def test_order_object_with_string_numbers_empty_strings_and_big_id():
    raw = (
        b'{"order":{"symbol":"OP-USDT","orderId":%d,"side":"SELL","positionSide":"LONG","type":"LIMIT",'
        b'"origQty":"1.0","price":"2.1710","executedQty":"0.0","avgPrice":"0.0000","cumQuote":"0",'
        b'"stopPrice":"","profit":"0.0000","commission":"-0.000100","status":"CANCELLED","time":1702732596168,'
        b'"updateTime":1702732596188,"clientOrderId":"MyId","leverage":"15X","workingType":"MARK_PRICE"}}'
    ) % BIG
    order = decoder(BingXOrderData).decode(raw).order
    assert order.order_id == BIG
    assert order.price == Decimal("2.1710") and order.stop_price == 0 and order.commission == Decimal("-0.0001")
    assert order.order_status is BingXOrderStatus.CANCELED and order.client_order_id == "myid"


def test_place_echo_numbers_and_capital_id_spelling():
    raw = (
        b'{"order":{"orderId":"%d","symbol":"LTC-USDT","positionSide":"BOTH","side":"BUY","type":"MARKET",'
        b'"price":0,"quantity":0.1,"clientOrderID":"abc","reduceOnly":false}}'
    ) % BIG
    ack = decoder(BingXOrderAckData).decode(raw).order
    assert ack.order_id == BIG and ack.quantity == Decimal("0.1") and ack.client_order_id == "abc"


def test_float_text_is_kept_exactly():
    raw = (
        b'{"symbol":"BTC-USDT","pricePrecision":1,"quantityPrecision":4,"tradeMinQuantity":0.0001,'
        b'"tradeMinUSDT":2,"takerFeeRate":0.0005,"apiStateOpen":"true","apiStateClose":"false","status":1}'
    )
    c = decoder(BingXContract).decode(raw)
    assert c.trade_min_quantity == Decimal("0.0001") and c.taker_fee_rate == Decimal("0.0005")
    assert c.price_increment == Decimal("0.1") and not c.is_tradable  # apiStateClose "false"


def test_positions_signed_amount_and_mode_string_bool():
    pos = decoder(BingXPosition).decode(
        b'{"positionId":"1792480725958881280","symbol":"LTC-USDT","positionAmt":"0.1","positionSide":"SHORT",'
        b'"leverage":6,"liquidationPrice":0,"avgPrice":"83.53"}'
    )
    assert pos.position_id == "1792480725958881280" and pos.signed_amount == Decimal("-0.1")
    assert decoder(BingXPositionModeData).decode(b'{"dualSidePosition":"true"}').dual_side_position is True


def test_depth_asks_reordered_best_first():
    d = decoder(BingXDepth).decode(b'{"T":1,"bids":[["10","1"],["9","2"]],"asks":[["12","1"],["11","3"]]}')
    bids, asks = d.best_first()
    assert bids[0] == (Decimal(10), Decimal(1)) and asks[0] == (Decimal(11), Decimal(3))


def test_fill_time_uses_the_offset_field_not_the_mislabelled_one():
    f = decoder(BingXFill).decode(
        b'{"filledTm":"2023-12-16T20:58:36Z","volume":"4.10","price":"3.1088","orderId":"1736007768311123456",'
        b'"tradeId":"241512","filledTime":"2023-12-16T20:58:36.000+0800","symbol":"WLD-USDT","role":"maker"}'
    )
    assert f.ts_ms == 1702731516000  # 12:58:36Z, not 20:58:36Z
    assert f.trade_id == "241512" and f.is_maker


@pytest.mark.parametrize(
    "bad",
    [
        b'{"order":{"orderId":1.5e18}}',
        b'{"order":{"orderId":1,"symbol":"X","side":"BUY","type":"LIMIT","status":"NEW","price":"abc"}}',
        b"not json",
    ],
)
def test_bad_payloads_raise_decode_errors_not_garbage(bad):
    with pytest.raises((msgspec.DecodeError, ValueError)):
        decoder(BingXOrderData).decode(bad)


def test_order_trade_update_partial_fill_with_trade_id():
    text = (
        '{"e":"ORDER_TRADE_UPDATE","E":1758608899350,"T":1758608899316,"o":{"s":"BTC-USDT","c":"Abc",'
        f'"i":{BIG},"S":"SELL","o":"LIMIT","q":"0.003","p":"112848.1","ap":"112848.1","x":"TRADE",'
        '"X":"PARTIALLY_FILLED","N":"USDT","n":"-0.05","T":1758608899316,"ps":"BOTH","z":"0.001",'
        '"l":"0.001","L":"112848.1","td":511178071,"ro":false}}'
    )
    event = parse_user_event(text)
    assert isinstance(event, OrderTradeUpdate)
    o = event.order
    assert o.order_id == BIG and o.client_order_id == "abc" and o.trade_id == 511178071
    assert o.is_fill and o.execution is BingXExecutionType.TRADE and o.order_status is BingXOrderStatus.PARTIALLY_FILLED
    assert (o.cum_filled_qty, o.last_qty, o.last_price) == (Decimal("0.001"), Decimal("0.001"), Decimal("112848.1"))


def test_order_update_without_last_fill_fields():
    text = '{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"s":"BTC-USDT","i":"5","S":"BUY","o":"MARKET","x":"NEW","X":"NEW"}}'
    o = parse_user_event(text).order
    assert o.last_qty is None and o.trade_id == 0 and not o.is_fill


def test_account_update_and_ignored_snapshot_and_error_frame():
    text = (
        '{"e":"ACCOUNT_UPDATE","E":1758608899352,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"117.8","cw":"95.2",'
        '"bc":"0"}],"P":[{"s":"BTC-USDT","pa":"-0.001","ep":"112848.1","up":"-0.00004435","mt":"cross",'
        '"iw":"0","ps":"BOTH","cr":"-0.05"}]}}'
    )
    event = parse_user_event(text)
    assert isinstance(event, AccountUpdate) and event.account.positions[0].position_amt == Decimal("-0.001")
    assert parse_user_event('{"e":"SNAPSHOT","E":1,"ac":{"s":"MTL-USDT","l":1,"S":1,"mt":"isolated"}}') == "SNAPSHOT"
    with pytest.raises(ValueError, match="80014"):
        parse_user_event('{"code":80014,"msg":"invalid params"}')


def test_market_frames_decode_by_topic():
    frame = parse_market_frame(
        '{"code":0,"dataType":"BTC-USDT@trade","data":[{"q":"0.0162","p":"121934.9",'
        '"T":1759994162450,"m":false,"s":"BTC-USDT"}]}'
    )
    [trade] = decode_payload(frame.data_type, bytes(frame.data))
    assert trade.price == Decimal("121934.9") and trade.quantity == Decimal("0.0162")
    kl = decode_payload("BTC-USDT@kline_1m", b'[{"c":"1","o":"2","h":"3","l":"0.5","v":"5","T":1759997460000}]')
    assert kl[0].open_time == 1759997460000 and kl[0].high == 3
