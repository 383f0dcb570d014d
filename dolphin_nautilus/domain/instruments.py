"""What the domain needs to know about an instrument: precisions and venue minimums."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import msgspec


class InstrumentSpec(msgspec.Struct, frozen=True, kw_only=True):
    instrument_id: str  # e.g. "BTC-USDT-PERP.BINGX"
    price_precision: int
    size_precision: int
    price_increment: Decimal
    size_increment: Decimal
    min_quantity: Decimal
    min_notional: Decimal  # in quote currency (USDT)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")

    def round_qty_down(self, qty: Decimal) -> Decimal:
        """Truncate to the size increment (venues truncate, never round up, so we never oversell)."""
        steps = (qty / self.size_increment).to_integral_value(rounding=ROUND_DOWN)
        return (steps * self.size_increment).quantize(Decimal(1).scaleb(-self.size_precision))

    def round_price(self, price: Decimal) -> Decimal:
        return price.quantize(Decimal(1).scaleb(-self.price_precision))
