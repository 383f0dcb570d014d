"""What the domain needs to know about an instrument: precisions and venue minimums."""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, ROUND_DOWN, Context, Decimal

import msgspec

MAX_ROUNDABLE_EXPONENT = 300


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
        """Truncate to the size increment (venues truncate, never round up, so we never oversell).

        Exact for any finite quantity up to 1e300 whatever its size: the arithmetic runs in a context
        with the precision the result needs, so no size can overflow the thread's decimal context.
        ValueError for NaN, infinities and magnitudes beyond 1e300.
        """
        if not qty.is_finite() or qty.adjusted() > MAX_ROUNDABLE_EXPONENT:
            raise ValueError(f"quantity {str(qty)[:40]} is not a finite size within 1e{MAX_ROUNDABLE_EXPONENT}")
        unit = Decimal(1).scaleb(-self.size_precision)
        digits = max(qty.adjusted(), 0) + self.size_precision - min(self.size_increment.adjusted(), 0) + 4
        exact = Context(prec=max(digits, 28), rounding=ROUND_DOWN, Emax=MAX_EMAX, Emin=MIN_EMIN)
        steps = exact.divide_int(qty, self.size_increment)
        return exact.multiply(steps, self.size_increment).quantize(unit, context=exact)

    def round_price(self, price: Decimal) -> Decimal:
        return price.quantize(Decimal(1).scaleb(-self.price_precision))
