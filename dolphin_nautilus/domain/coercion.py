"""Input coercion at the book's edge: every number an intent or venue event carries becomes a finite Decimal
(or the call is refused with INVALID_INPUT) before any state is touched."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)


class InvalidBookInput(ValueError):
    """A malformed number in an intent or event; the book turns it into an INVALID_INPUT outcome."""


def to_decimal(name: str, value: Any, *, positive: bool = True) -> Decimal:
    """Coerce to a finite Decimal (floats via repr, so 0.1 stays 0.1); positive unless told otherwise."""
    if isinstance(value, Decimal):
        d = value
    else:
        try:
            d = Decimal(repr(value) if isinstance(value, float) else str(value))
        except (InvalidOperation, ValueError):
            raise InvalidBookInput(f"{name} is not a number: {value!r}") from None
    if not d.is_finite():
        raise InvalidBookInput(f"{name} must be finite, got {value!r}")
    if positive and d <= ZERO:
        raise InvalidBookInput(f"{name} must be > 0, got {value!r}")
    return d
