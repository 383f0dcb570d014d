"""Tolerant number decoding and the REST envelope.

BingX sends decimals as strings, as JSON numbers, or as "" when absent (docs/reference/bingx_api.md §3.2), and ids as
numbers
above 2^53 or as strings (docs/reference/bingx_api.md §3.3). Every price/quantity field is typed `Num` (a Decimal):
decoded from the
exact JSON text (never via float), "" meaning 0, the venue's own "absent". Ids are `int` decoded in
non-strict mode, which accepts both `123` and `"123"` and keeps 64-bit values exact.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec


class Num(Decimal):
    """A venue decimal. Behaves as Decimal; exists so the decoder can accept number, string or ""."""

    __slots__ = ()


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is Num:
        if isinstance(obj, bool):
            raise ValueError(f"expected a decimal, got {obj!r}")
        if isinstance(obj, (Decimal, int)):
            return Num(obj)
        if isinstance(obj, str):
            if obj.strip() == "":
                return Num(0)
            try:
                value = Num(obj.strip())
            except InvalidOperation:
                raise ValueError(f"invalid decimal {obj!r}") from None
            if not value.is_finite():
                raise ValueError(f"non-finite decimal {obj!r}")
            return value
        raise ValueError(f"expected a decimal, got {type(obj).__name__}")
    raise NotImplementedError(f"no decoder for {tp}")


def decoder[T](tp: type[T]) -> msgspec.json.Decoder[T]:
    """A JSON decoder with the venue's tolerances (numbers or strings for numbers/ids/bools)."""
    return msgspec.json.Decoder(tp, strict=False, dec_hook=_dec_hook, float_hook=Decimal)


def convert[T](obj: Any, tp: type[T]) -> T:
    return msgspec.convert(obj, tp, strict=False, dec_hook=_dec_hook)


class Envelope(msgspec.Struct):
    """`{"code":0,"msg":"","data":...}`; `code` may be a string ("0")."""

    code: int = 0
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


ENVELOPE_DECODER = decoder(Envelope)


def fmt_decimal(value: Decimal) -> str:
    """Plain notation for request params (no exponent, no trailing zeros): Decimal('1E-7') -> '0.0000001'."""
    if not value.is_finite():
        raise ValueError(f"non-finite decimal parameter: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
