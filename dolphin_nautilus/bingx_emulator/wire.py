"""How the venue spells things on the wire: order objects, fills, positions, user-stream events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from .engine import Engine
from .model import AccountEvent, ConfigEvent, Fill, Order, OrderEvent, Position, VenueEvent

REST_STATUS = {"NEW": "PENDING", "CANCELED": "CANCELLED"}  # WS says NEW / CANCELED
UTC8 = timezone(timedelta(hours=8))
EMPTY_TPSL = {"type": "", "quantity": 0, "stopPrice": 0, "price": 0, "workingType": "", "StopGuaranteed": ""}


def dec(value: Decimal, places: int | None = None) -> str:
    """Decimal as the venue's fixed-point string."""
    if places is not None:
        return f"{value:.{places}f}"
    text = format(value.normalize(), "f")
    return text if "." in text or "e" in text else text + ".0"


def num(value: Decimal) -> int | float:
    """Decimal as a bare JSON number (the place-order echo and a few other fields)."""
    return int(value) if value == value.to_integral_value() else float(value)


def order_object(order: Order) -> dict:
    """The full order object of query/cancel/openOrders/allOrders (docs/reference/bingx_api.md §5.4)."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "side": order.side,
        "positionSide": order.position_side,
        "type": order.type,
        "origQty": dec(order.orig_qty, order.qty_places),
        "price": dec(order.price, order.price_places),
        "executedQty": dec(order.executed_qty, order.qty_places),
        "avgPrice": dec(order.avg_price, order.price_places),
        "cumQuote": dec(order.cum_quote, 4),
        "stopPrice": dec(order.stop_price, order.price_places) if order.stop_price else "",
        "profit": dec(order.profit, 4),
        "commission": dec(order.commission, 6),
        "status": REST_STATUS.get(order.status, order.status),
        "time": order.time,
        "updateTime": order.update_time,
        "clientOrderId": order.client_order_id,
        "leverage": f"{order.leverage}X",
        "takeProfit": dict(EMPTY_TPSL),
        "stopLoss": dict(EMPTY_TPSL),
        "advanceAttr": 0,
        "positionID": 0,
        "takeProfitEntrustPrice": 0,
        "stopLossEntrustPrice": 0,
        "orderType": "",
        "workingType": order.working_type,
        "onlyOnePosition": order.position_side == "BOTH",
        "reduceOnly": order.reduce_only,
        "postOnly": order.time_in_force == "PostOnly",
        "trailingStopRate": 0,
        "trailingStopDistance": 0,
        "stopGuaranteed": False,
        "triggerOrderId": 0,
    }


def order_echo(order: Order) -> dict:
    """The place-order response: numbers not strings, `clientOrderID` with capital ID
    (docs/reference/bingx_api.md §5.1)."""
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "positionSide": order.position_side,
        "side": order.side,
        "type": order.type,
        "price": num(order.price),
        "quantity": num(order.orig_qty),
        "stopPrice": num(order.stop_price),
        "workingType": order.working_type,
        "clientOrderID": order.client_order_id,
        "timeInForce": order.time_in_force,
        "priceRate": 0,
        "stopLoss": "",
        "takeProfit": "",
        "reduceOnly": order.reduce_only,
        "status": REST_STATUS.get(order.status, order.status),
        "avgPrice": dec(order.avg_price, order.price_places),
        "executedQty": dec(order.executed_qty, order.qty_places),
        "stopGuaranteed": "false",
    }


def _filled_tm(ms: int) -> tuple[str, str]:
    """(filledTm, filledTime): filledTm is the documented UTC+8 wall clock mislabelled 'Z'."""
    at = datetime.fromtimestamp(ms / 1000, UTC8)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ"), at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0800"


def fill_order_row(fill: Fill) -> dict:
    """allFillOrders row: ids as strings, no trade id (docs/reference/bingx_api.md §5.9)."""
    filled_tm, filled_time = _filled_tm(fill.time)
    return {
        "filledTm": filled_tm,
        "volume": dec(fill.qty, fill.qty_places),
        "price": dec(fill.price, fill.price_places),
        "amount": dec(fill.qty * fill.price, 4),
        "commission": dec(fill.commission, 6),
        "currency": "USDT",
        "orderId": str(fill.order_id),
        "liquidatedPrice": dec(fill.price, fill.price_places) if fill.liquidation_margin_ratio is not None else "",
        "liquidatedMarginRatio": dec(fill.liquidation_margin_ratio, 4)
        if fill.liquidation_margin_ratio is not None
        else "",
        "filledTime": filled_time,
        "clientOrderID": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "positionSide": fill.position_side,
        "onlyOnePosition": fill.position_side == "BOTH",
    }


def fill_history_row(fill: Fill) -> dict:
    """fillHistory row: has a string tradeId, lowercase side/positionSide (docs/reference/bingx_api.md §5.9)."""
    filled_tm, filled_time = _filled_tm(fill.time)
    return {
        "filledTm": filled_tm,
        "volume": dec(fill.qty, fill.qty_places),
        "price": dec(fill.price, fill.price_places),
        "qty": dec(fill.qty, fill.qty_places),
        "quoteQty": dec(fill.qty * fill.price, 4),
        "commission": dec(fill.commission, 6),
        "commissionAsset": "USDT",
        "orderId": str(fill.order_id),
        "tradeId": str(fill.trade_id),
        "filledTime": filled_time,
        "symbol": fill.symbol,
        "role": fill.role,
        "side": fill.side.lower(),
        "positionSide": fill.position_side.lower(),
    }


def position_object(engine: Engine, pos: Position) -> dict:
    """REST position (docs/reference/bingx_api.md §6.2): positive amount; BOTH positions report LONG/SHORT by sign."""
    contract = engine.contracts[pos.symbol]
    mark, places = contract.price, contract.spec.quantity_precision
    margin = engine.position_margin(pos)
    upnl = pos.unrealized(mark)
    side = pos.side if pos.side != "BOTH" else ("LONG" if pos.qty > 0 else "SHORT")
    return {
        "positionId": str(pos.position_id),
        "symbol": pos.symbol,
        "currency": "USDT",
        "positionAmt": dec(abs(pos.qty), places),
        "availableAmt": dec(abs(pos.qty), places),
        "positionSide": side,
        "isolated": engine.margin_type(pos.symbol) != "CROSSED",
        "avgPrice": dec(pos.entry_price, 8),
        "initialMargin": dec(margin, 4),
        "margin": dec(margin, 4),
        "leverage": engine.leverage(pos.symbol, pos.side),
        "unrealizedProfit": dec(upnl, 4),
        "realisedProfit": dec(pos.realized_pnl, 4),
        "liquidationPrice": float(round(engine.liquidation_price(pos), contract.spec.price_precision)),
        "pnlRatio": dec(upnl / margin if margin else Decimal(0), 4),
        "maxMarginReduction": "0.0000",
        "riskRate": dec(engine.risk_rate(pos), 4),
        "markPrice": dec(mark, contract.spec.price_precision),
        "positionValue": dec(abs(pos.qty) * mark, 4),
        "onlyOnePosition": pos.side == "BOTH",
        "updateTime": pos.update_time,
    }


def balance_object(engine: Engine) -> dict:
    account = engine.account
    return {
        "userId": "116000001",
        "asset": "USDT",
        "balance": dec(account.balance, 4),
        "equity": dec(engine.equity(), 4),
        "unrealizedProfit": dec(engine.unrealized(), 4),
        "realisedProfit": dec(account.realised_total, 4),
        "availableMargin": dec(engine.available_margin(), 4),
        "usedMargin": dec(engine.used_margin(), 4),
        "freezedMargin": dec(engine.frozen_margin(), 4),
        "shortUid": "12851936",
    }


# ------------------------------------------------------------------ user stream events
def order_trade_update(order: Order, execution: str, fill: Fill | None) -> dict:
    ms = fill.time if fill else order.update_time
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": ms,
        "T": order.update_time,
        "o": {
            "s": order.symbol,
            "c": order.client_order_id,
            "i": order.order_id,
            "S": order.side,
            "o": order.type,
            "q": dec(order.orig_qty, 8),
            "p": dec(
                order.price if order.type in ("LIMIT", "LIQUIDATION") else (fill.price if fill else order.price), 8
            ),
            "sp": dec(order.stop_price, 8),
            "ap": dec(order.avg_price, 8),
            "x": execution,
            "X": order.status,
            "N": "USDT",
            "n": dec(fill.commission if fill else Decimal(0), 8),  # per fill
            "T": fill.time if fill else 0,
            "wt": order.working_type,
            "ps": order.position_side,
            "rp": dec(fill.realized_pnl if fill else Decimal(0), 8),
            "z": dec(order.executed_qty, 8),
            "l": dec(fill.qty if fill else Decimal(0), 8),
            "L": dec(fill.price if fill else Decimal(0), 8),
            "sg": "false",
            "ti": 0,
            "ro": order.reduce_only,
            "td": fill.trade_id if fill else 0,
            "tv": dec(fill.qty * fill.price if fill else Decimal(0), 4),
        },
    }


def account_update(
    engine: Engine,
    positions: tuple[Position, ...] | list[Position],
    reason: str = "ORDER",
    balance_change: Decimal = Decimal(0),
) -> dict:
    account = engine.account
    isolated = Decimal(0)
    isolated_total = sum(
        (engine.position_margin(p) for p in engine.positions() if engine.margin_type(p.symbol) != "CROSSED"), Decimal(0)
    )
    rows = []
    for pos in positions:
        mark = engine.contracts[pos.symbol].price
        rows.append(
            {
                "s": pos.symbol,
                "pa": dec(pos.qty, 8),  # signed for BOTH, positive for LONG/SHORT
                "ep": dec(pos.entry_price, 8),
                "up": dec(pos.unrealized(mark), 8),
                "mt": "cross" if engine.margin_type(pos.symbol) == "CROSSED" else "isolated",
                "iw": dec(engine.position_margin(pos) if engine.margin_type(pos.symbol) != "CROSSED" else isolated, 8),
                "ps": pos.side,
                "cr": dec(pos.realized_pnl, 8),
            }
        )
    return {
        "e": "ACCOUNT_UPDATE",
        "E": engine.now_ms(),
        "a": {
            "m": reason,
            "B": [
                {
                    "a": "USDT",
                    "wb": dec(account.balance, 8),
                    "cw": dec(account.balance - isolated_total, 8),
                    "bc": dec(balance_change, 8),
                }
            ],
            "P": rows,
        },
    }


def account_config_update(engine: Engine, symbol: str) -> dict:
    long_side, short_side = ("LONG", "SHORT") if engine.account.dual_side else ("BOTH", "BOTH")
    return {
        "e": "ACCOUNT_CONFIG_UPDATE",
        "E": engine.now_ms(),
        "ac": {
            "s": symbol,
            "l": engine.leverage(symbol, long_side),
            "S": engine.leverage(symbol, short_side),
            "mt": "cross" if engine.margin_type(symbol) == "CROSSED" else "isolated",
        },
    }


def user_event(engine: Engine, event: VenueEvent) -> dict:
    """An engine event as the user stream frame the venue pushes."""
    if isinstance(event, OrderEvent):
        return order_trade_update(order=event.order, execution=event.execution, fill=event.fill)
    if isinstance(event, AccountEvent):
        return account_update(engine, event.positions, event.reason, event.balance_change)
    if isinstance(event, ConfigEvent):
        return account_config_update(engine, event.symbol)
    raise TypeError(f"not a venue event: {event!r}")
