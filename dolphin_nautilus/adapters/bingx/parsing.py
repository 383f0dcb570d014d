"""Nautilus-facing conversions for BingX: our plain InstrumentSpec <-> Nautilus CryptoPerpetual.

Venue payloads are decoded elsewhere (schemas/) into plain structs; this is the only place that knows how a
BingX perpetual looks as a Nautilus instrument, shared by the instrument provider and the backtest.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

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


def perpetual_to_spec(instrument: CryptoPerpetual) -> InstrumentSpec:
    return InstrumentSpec(
        instrument_id=str(instrument.id),
        price_precision=instrument.price_precision,
        size_precision=instrument.size_precision,
        price_increment=instrument.price_increment.as_decimal(),
        size_increment=instrument.size_increment.as_decimal(),
        min_quantity=instrument.min_quantity.as_decimal() if instrument.min_quantity else instrument.size_increment.as_decimal(),
        min_notional=instrument.min_notional.as_decimal() if instrument.min_notional else Decimal(0),
        maker_fee=instrument.maker_fee,
        taker_fee=instrument.taker_fee,
    )
