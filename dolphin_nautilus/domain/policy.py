"""The retract policy as pure functions (docs/design.md §3 rules 1-3).

`is_effectively_zero` decides when a size is dust; `plan_exit` turns an exit/retract request into the
quantity to send (clamped, rounded to the venue's size step, widened to a full close when the remainder
would be dust) or a refusal. The trade book calls these; they are also unit-tested on their own.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from .instruments import InstrumentSpec

ZERO = Decimal(0)
# A remainder whose notional is at or below this is dust whatever the venue minimums say.
NOTIONAL_EPSILON = Decimal("1e-9")


def is_effectively_zero(spec: InstrumentSpec, quantity: Decimal, price: Decimal) -> bool:
    """True when `quantity` cannot be a position or an order on its own at this venue.

    Zero when it rounds down to zero at the size step, is below the venue minimum quantity, has a notional
    below the venue minimum notional, or has a notional at or below 1e-9.
    """
    if quantity <= ZERO:
        return True
    rounded = spec.round_qty_down(quantity)
    if rounded <= ZERO or rounded < spec.min_quantity:
        return True
    notional = quantity * price
    return notional <= NOTIONAL_EPSILON or rounded * price < spec.min_notional


class ExitPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What to send for an exit request. `quantity` is ZERO when `refused` says why nothing is sent."""

    quantity: Decimal
    full_close: bool
    clamped: bool = False  # the request asked for more than remained
    dust_widened: bool = False  # a partial whose remainder would be dust, widened to a full close
    refused: str = ""  # "" or "BELOW_VENUE_MINIMUM"


def plan_exit(spec: InstrumentSpec, remaining: Decimal, requested: Decimal | None, price: Decimal) -> ExitPlan:
    """Plan a reduce-only exit of `requested` (None: everything) from `remaining` at about `price`."""
    if requested is None or requested >= remaining:
        return ExitPlan(
            quantity=remaining,
            full_close=True,
            clamped=requested is not None and requested > remaining,
        )
    quantity = spec.round_qty_down(requested)
    if is_effectively_zero(spec, remaining - quantity, price):
        return ExitPlan(quantity=remaining, full_close=True, dust_widened=True)
    if is_effectively_zero(spec, quantity, price):
        return ExitPlan(quantity=ZERO, full_close=False, refused="BELOW_VENUE_MINIMUM")
    return ExitPlan(quantity=quantity, full_close=False)
