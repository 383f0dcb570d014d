"""Nautilus-facing conversions for BingX: InstrumentSpec <-> CryptoPerpetual, and venue structs -> Nautilus
(instruments, bars, ticks, order/fill/position reports, account balances).

Venue payloads are decoded elsewhere (schemas/) into plain structs; this is the only place that knows how a
BingX perpetual looks as a Nautilus instrument, shared by the instrument provider and the backtest.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport, OrderStatusReport, PositionStatusReport
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar, BarType, QuoteTick, TradeTick
from nautilus_trader.model.enums import (
    AggressorSide,
    BarAggregation,
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PriceType,
    TimeInForce,
)
from nautilus_trader.model.identifiers import AccountId, ClientOrderId, InstrumentId, Symbol, TradeId, VenueOrderId
from nautilus_trader.model.instruments import CryptoPerpetual, Instrument
from nautilus_trader.model.objects import AccountBalance, Currency, Money, Price, Quantity

from dolphin_nautilus.adapters.bingx.common.enums import (
    BingXOrderSide,
    BingXOrderStatus,
    BingXOrderType,
    parse_order_side,
)
from dolphin_nautilus.adapters.bingx.constants import KLINE_INTERVALS
from dolphin_nautilus.adapters.bingx.schemas.account import BingXBalance, BingXPosition
from dolphin_nautilus.adapters.bingx.schemas.market import BingXContract, BingXKline
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXFill, BingXOrder
from dolphin_nautilus.adapters.bingx.schemas.ws import WsBookTicker, WsKline, WsTrade
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id
from dolphin_nautilus.domain.instruments import InstrumentSpec


def venue_symbol(instrument_id: str) -> str:
    """'BTC-USDT-PERP.BINGX' -> 'BTC-USDT' (BingX's swap symbol)."""
    return instrument_id.split(".", 1)[0].removesuffix("-PERP")


def spec_to_perpetual(spec: InstrumentSpec, ts: int = 0) -> CryptoPerpetual:
    symbol = venue_symbol(spec.instrument_id)
    base = symbol.split("-", 1)[0]
    return CryptoPerpetual(
        instrument_id=InstrumentId.from_str(spec.instrument_id),
        raw_symbol=Symbol(symbol),
        base_currency=Currency.from_str(base),
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=spec.price_precision,
        size_precision=spec.size_precision,
        price_increment=Price(spec.price_increment, spec.price_precision),
        size_increment=Quantity(spec.size_increment, spec.size_precision),
        ts_event=ts,
        ts_init=ts,
        min_quantity=Quantity(spec.min_quantity, spec.size_precision),
        min_notional=Money(spec.min_notional, USDT),
        margin_init=Decimal("0.05"),
        margin_maint=Decimal("0.025"),
        maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee,
    )


# ---- venue structs -> Nautilus objects (used by the provider, data and execution clients) -----------------

DEFAULT_MAKER_FEE = Decimal("0.0002")
DEFAULT_TAKER_FEE = Decimal("0.0005")

_BAR_STEP_UNITS = {
    BarAggregation.MINUTE: "m",
    BarAggregation.HOUR: "h",
    BarAggregation.DAY: "d",
    BarAggregation.WEEK: "w",
    BarAggregation.MONTH: "M",
}
_NS_PER_MS = 1_000_000


def contract_to_spec(
    contract: BingXContract, maker_fee: Decimal | None = None, taker_fee: Decimal | None = None
) -> InstrumentSpec:
    """A `quote/contracts` row as our InstrumentSpec. Fees: the given (account commissionRate) ones, else the
    contract's own non-zero rates, else the venue's documented defaults."""
    maker = maker_fee if maker_fee is not None else (contract.maker_fee_rate or DEFAULT_MAKER_FEE)
    taker = taker_fee if taker_fee is not None else (contract.taker_fee_rate or DEFAULT_TAKER_FEE)
    size_increment = contract.size_increment
    return InstrumentSpec(
        instrument_id=to_instrument_id(contract.symbol),
        price_precision=contract.price_precision,
        size_precision=contract.quantity_precision,
        price_increment=contract.price_increment,
        size_increment=size_increment,
        min_quantity=max(Decimal(contract.trade_min_quantity), size_increment),
        min_notional=Decimal(contract.trade_min_usdt),
        maker_fee=Decimal(maker),
        taker_fee=Decimal(taker),
    )


def kline_interval(bar_type: BarType) -> str:
    """`BTC-USDT-PERP.BINGX-1-MINUTE-LAST-EXTERNAL` -> `1m`. ValueError for what BingX has no klines for."""
    spec = bar_type.spec
    unit = _BAR_STEP_UNITS.get(spec.aggregation)
    interval = f"{spec.step}{unit}" if unit else ""
    if spec.price_type != PriceType.LAST or interval not in KLINE_INTERVALS:
        raise ValueError(f"BingX has no klines for {bar_type} (intervals: {', '.join(KLINE_INTERVALS)}, LAST only)")
    return interval


def interval_ms(interval: str) -> int:
    unit_ms = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000, "M": 30 * 86_400_000}
    return int(interval[:-1]) * unit_ms[interval[-1]]


def kline_to_bar(
    bar_type: BarType, instrument: Instrument, kline: BingXKline | WsKline, interval: str, ts_init: int
) -> Bar:
    """ts_event = the candle's CLOSE time (Nautilus convention); the venue stamps its open."""
    open_ms = kline.time if isinstance(kline, BingXKline) else kline.open_time
    ts_event = (open_ms + interval_ms(interval)) * _NS_PER_MS
    return Bar(
        bar_type=bar_type,
        open=instrument.make_price(kline.open),
        high=instrument.make_price(kline.high),
        low=instrument.make_price(kline.low),
        close=instrument.make_price(kline.close),
        volume=instrument.make_qty(kline.volume),
        ts_event=ts_event,
        ts_init=max(ts_init, ts_event),
    )


def book_ticker_to_quote(instrument: Instrument, ticker: WsBookTicker, ts_init: int) -> QuoteTick:
    ts_event = (ticker.ts or ticker.event_time) * _NS_PER_MS or ts_init
    return QuoteTick(
        instrument_id=instrument.id,
        bid_price=instrument.make_price(ticker.bid_price),
        ask_price=instrument.make_price(ticker.ask_price),
        bid_size=instrument.make_qty(ticker.bid_qty),
        ask_size=instrument.make_qty(ticker.ask_qty),
        ts_event=ts_event,
        ts_init=ts_init,
    )


def ws_trade_to_tick(instrument: Instrument, trade: WsTrade, trade_id: str, ts_init: int) -> TradeTick:
    """The public stream has no trade id (docs/reference/bingx_api.md §11.9): the caller makes one unique per stream."""
    return TradeTick(
        instrument_id=instrument.id,
        price=instrument.make_price(trade.price),
        size=instrument.make_qty(trade.quantity),
        aggressor_side=AggressorSide.SELLER if trade.buyer_is_maker else AggressorSide.BUYER,
        trade_id=TradeId(trade_id),
        ts_event=trade.ts * _NS_PER_MS,
        ts_init=ts_init,
    )


_ORDER_STATUS = {
    BingXOrderStatus.NEW: OrderStatus.ACCEPTED,
    BingXOrderStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    BingXOrderStatus.FILLED: OrderStatus.FILLED,
    BingXOrderStatus.CANCELED: OrderStatus.CANCELED,
    BingXOrderStatus.EXPIRED: OrderStatus.EXPIRED,
    BingXOrderStatus.FAILED: OrderStatus.REJECTED,
}
_ORDER_TYPE = {
    BingXOrderType.MARKET: OrderType.MARKET,
    BingXOrderType.LIMIT: OrderType.LIMIT,
    BingXOrderType.STOP_MARKET: OrderType.STOP_MARKET,
    BingXOrderType.STOP: OrderType.STOP_LIMIT,
    BingXOrderType.TAKE_PROFIT_MARKET: OrderType.MARKET_IF_TOUCHED,
    BingXOrderType.TAKE_PROFIT: OrderType.LIMIT_IF_TOUCHED,
}
_TIME_IN_FORCE = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "POSTONLY": TimeInForce.GTC}


def nautilus_order_status(order: BingXOrder) -> OrderStatus:
    status = _ORDER_STATUS.get(order.order_status, OrderStatus.ACCEPTED)
    if status is OrderStatus.CANCELED and order.executed_qty > 0:
        return OrderStatus.CANCELED  # partially filled then canceled: Nautilus keeps filled_qty on the report
    return status


def nautilus_order_side(side: str) -> OrderSide:
    return OrderSide.BUY if parse_order_side(side) is BingXOrderSide.BUY else OrderSide.SELL


def order_to_status_report(
    order: BingXOrder,
    instrument: Instrument,
    account_id: AccountId,
    ts_init: int,
    client_order_id: ClientOrderId | None = None,
) -> OrderStatusReport:
    """`client_order_id` defaults to the venue's (lower-case) one; avg_px is set whenever anything filled."""
    order_type = _ORDER_TYPE.get(order.order_type, OrderType.MARKET)
    filled = Decimal(order.executed_qty)
    coid = client_order_id or (ClientOrderId(order.client_order_id) if order.client_order_id else None)
    price = instrument.make_price(order.price) if order_type is OrderType.LIMIT and order.price > 0 else None
    return OrderStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        client_order_id=coid,
        venue_order_id=VenueOrderId(str(order.order_id)),
        order_side=nautilus_order_side(order.side),
        order_type=order_type,
        time_in_force=_TIME_IN_FORCE.get(order.time_in_force.upper(), TimeInForce.GTC)
        if order_type is OrderType.LIMIT
        else TimeInForce.IOC
        if order_type is OrderType.MARKET
        else TimeInForce.GTC,
        order_status=nautilus_order_status(order),
        price=price,
        quantity=instrument.make_qty(order.orig_qty),
        filled_qty=instrument.make_qty(filled),
        avg_px=Decimal(order.avg_price) if filled > 0 else None,
        reduce_only=order.reduce_only,
        post_only=order.post_only,
        report_id=UUID4(),
        ts_accepted=(order.time or order.update_time) * _NS_PER_MS,
        ts_last=(order.update_time or order.time) * _NS_PER_MS,
        ts_init=ts_init,
    )


def fill_to_report(
    fill: BingXFill,
    instrument: Instrument,
    account_id: AccountId,
    ts_init: int,
    client_order_id: ClientOrderId | None = None,
) -> FillReport:
    """Commission: the venue's is negative when paid; Nautilus wants a positive cost."""
    return FillReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(str(fill.order_id)),
        client_order_id=client_order_id,
        trade_id=TradeId(fill.trade_id),
        order_side=nautilus_order_side(fill.side),
        last_qty=instrument.make_qty(fill.volume),
        last_px=instrument.make_price(fill.price),
        commission=Money(-Decimal(fill.commission), instrument.quote_currency),
        liquidity_side=LiquiditySide.MAKER if fill.is_maker else LiquiditySide.TAKER,
        report_id=UUID4(),
        ts_event=fill.ts_ms * _NS_PER_MS,
        ts_init=ts_init,
    )


def position_to_report(
    position: BingXPosition, instrument: Instrument, account_id: AccountId, ts_init: int
) -> PositionStatusReport:
    """NETTING: no venue position id, so Nautilus reconciles the net quantity per instrument."""
    amount = position.signed_amount
    if amount == 0:
        return PositionStatusReport.create_flat(account_id, instrument.id, instrument.size_precision, ts_init)
    return PositionStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        position_side=PositionSide.LONG if amount > 0 else PositionSide.SHORT,
        quantity=instrument.make_qty(abs(amount)),
        avg_px_open=Decimal(position.avg_price),
        report_id=UUID4(),
        ts_last=(position.update_time * _NS_PER_MS) or ts_init,
        ts_init=ts_init,
    )


def balances_to_account(balances: list[BingXBalance]) -> list[AccountBalance]:
    """total = wallet balance, free = available margin (capped at total), locked = the rest."""
    out: list[AccountBalance] = []
    for row in balances:
        currency = Currency.from_str(row.asset)
        total = Decimal(row.balance)
        free = min(max(Decimal(row.available_margin), Decimal(0)), total) if total > 0 else Decimal(0)
        out.append(AccountBalance(Money(total, currency), Money(total - free, currency), Money(free, currency)))
    return out
