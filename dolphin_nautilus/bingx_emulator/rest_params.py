"""What the emulator's REST handlers share: parsing of the request parameters (with the venue's own error
messages for a bad value), the order request built from them, and `Raw`, a result sent without the envelope.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import overload

from . import errors as E
from .errors import VenueReject
from .model import OrderRequest


class Raw:
    """A handler result sent as-is (not wrapped in the {code,msg,data} envelope)."""

    def __init__(self, body: dict | None, status: int = 200) -> None:
        self.body, self.status = body, status


def param_decimal(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name, "")
    if raw == "":
        return None
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:Mismatch type float64 with value {name}") from exc


@overload
def param_int(params: dict[str, str], name: str) -> int | None: ...
@overload
def param_int(params: dict[str, str], name: str, default: int) -> int: ...
def param_int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:Mismatch type int64 with value {name}") from exc


def param_bool(params: dict[str, str], name: str) -> bool | None:
    raw = params.get(name, "")
    if raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:{name} must be true or false")
    return raw.lower() == "true"


def required_param(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:{name} is required")
    return value


def client_order_id_param(params: dict[str, str]) -> str:
    return params.get("clientOrderId") or params.get("clientOrderID") or ""


def order_request(params: dict[str, str]) -> OrderRequest:
    return OrderRequest(
        symbol=required_param(params, "symbol"),
        side=required_param(params, "side"),
        position_side=params.get("positionSide", ""),
        type=required_param(params, "type"),
        quantity=param_decimal(params, "quantity"),
        price=param_decimal(params, "price"),
        stop_price=param_decimal(params, "stopPrice"),
        time_in_force=params.get("timeInForce") or "GTC",
        reduce_only=param_bool(params, "reduceOnly"),
        client_order_id=client_order_id_param(params),
        working_type=params.get("workingType") or "MARK_PRICE",
        quote_order_qty=param_decimal(params, "quoteOrderQty"),
    )


def wire_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
