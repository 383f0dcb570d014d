"""BingX-like perpetual contracts for the simulated venue: precisions, minimums and fees as BingX lists them
(swap v2 contracts: quantityPrecision, pricePrecision, tradeMinQuantity, tradeMinUSDT; VIP0 fees 0.02% maker,
0.05% taker). The start prices seed the sample data generator only."""

from __future__ import annotations

from decimal import Decimal

from dolphin_nautilus.domain.instruments import InstrumentSpec


def _spec(symbol: str, price_precision: int, size_precision: int, min_qty: str, min_notional: str) -> InstrumentSpec:
    return InstrumentSpec(
        instrument_id=f"{symbol}-PERP.BINGX",
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Decimal(1).scaleb(-price_precision),
        size_increment=Decimal(1).scaleb(-size_precision),
        min_quantity=Decimal(min_qty),
        min_notional=Decimal(min_notional),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0005"),
    )


BINGX_SPECS: dict[str, InstrumentSpec] = {
    s.instrument_id: s
    for s in (
        _spec("BTC-USDT", 1, 4, "0.0001", "5"),
        _spec("ETH-USDT", 2, 2, "0.01", "5"),
        _spec("SOL-USDT", 3, 1, "0.1", "5"),
        _spec("DOGE-USDT", 5, 0, "1", "5"),
        _spec("XRP-USDT", 4, 0, "1", "5"),
        _spec("ATOM-USDT", 3, 2, "0.01", "5"),
    )
}

# (start price, annualised volatility) for the sample generator.
SAMPLE_START: dict[str, tuple[float, float]] = {
    "BTC-USDT-PERP.BINGX": (64000.0, 0.55),
    "ETH-USDT-PERP.BINGX": (3100.0, 0.70),
    "SOL-USDT-PERP.BINGX": (145.0, 0.95),
    "DOGE-USDT-PERP.BINGX": (0.125, 1.10),
}


def spec_for(instrument_id: str) -> InstrumentSpec:
    try:
        return BINGX_SPECS[instrument_id]
    except KeyError:
        known = ", ".join(sorted(BINGX_SPECS))
        raise KeyError(f"no contract spec for {instrument_id!r}; known: {known}") from None
