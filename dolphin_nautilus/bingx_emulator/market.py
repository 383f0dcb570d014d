"""Market data views derived from the price feed: depth, klines, tickers (REST and WS share them)."""

from __future__ import annotations

from decimal import Decimal

from . import book
from . import errors as E
from .engine import Engine
from .errors import VenueReject
from .model import Contract, PublicTrade
from .wire import dec

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
_MINUTE = 60_000
INTERVAL_MS = {
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": 60 * _MINUTE,
    "2h": 120 * _MINUTE,
    "4h": 240 * _MINUTE,
    "6h": 360 * _MINUTE,
    "8h": 480 * _MINUTE,
    "12h": 720 * _MINUTE,
    "1d": 1440 * _MINUTE,
    "3d": 3 * 1440 * _MINUTE,
    "1w": 7 * 1440 * _MINUTE,
    "1M": 30 * 1440 * _MINUTE,  # 1M approximated as 30 days
}
_MONDAY_OFFSET = 4 * 1440 * _MINUTE  # the epoch was a Thursday


def depth_levels(contract: Contract, limit: int) -> tuple[list[list[str]], list[list[str]]]:
    """(bids best-first, asks high->low i.e. best LAST, as the venue sends them): the book takers walk."""
    places = contract.spec.price_precision
    bids = [[dec(p, places), dec(q)] for p, q in book.bids(contract, limit)]
    asks = [[dec(p, places), dec(q)] for p, q in book.asks(contract, limit)]
    return bids, asks[::-1]


def check_depth_limit(raw: str | None) -> int:
    limit = int(raw or 20)
    if limit not in DEPTH_LIMITS:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:limit must be one of {DEPTH_LIMITS}")
    return limit


def bucket_start(ms: int, interval: str) -> int:
    size = INTERVAL_MS[interval]
    offset = _MONDAY_OFFSET if interval == "1w" else 0
    return (ms - offset) // size * size + offset


def klines(trades: list[PublicTrade], interval: str, start: int | None, end: int | None, limit: int) -> list[dict]:
    """Bars (ascending) aggregated from the trade prints; a bar's `time` is its open time."""
    if interval not in INTERVAL_MS:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:interval {interval!r}")
    bars: dict[int, dict] = {}
    for trade in trades:
        key = bucket_start(trade.time, interval)
        if (start is not None and key < bucket_start(start, interval)) or (end is not None and key > end):
            continue
        bar = bars.get(key)
        if bar is None:
            bars[key] = {"o": trade.price, "h": trade.price, "l": trade.price, "c": trade.price, "v": trade.qty}
        else:
            bar["h"], bar["l"] = max(bar["h"], trade.price), min(bar["l"], trade.price)
            bar["c"], bar["v"] = trade.price, bar["v"] + trade.qty
    keys = sorted(bars)
    keys = keys[:limit] if start is not None and end is None else keys[-limit:]
    return [{"time": k, **bars[k]} for k in keys]


def rest_kline(bar: dict) -> dict:
    return {
        "open": dec(bar["o"]),
        "close": dec(bar["c"]),
        "high": dec(bar["h"]),
        "low": dec(bar["l"]),
        "volume": dec(bar["v"]),
        "time": bar["time"],
    }


def ws_kline(bar: dict) -> dict:
    return {
        "c": dec(bar["c"]),
        "o": dec(bar["o"]),
        "h": dec(bar["h"]),
        "l": dec(bar["l"]),
        "v": dec(bar["v"]),
        "T": bar["time"],
    }


def ticker(engine: Engine, contract: Contract) -> dict:
    ms = engine.now_ms()
    day = [t for t in engine.public_trades[contract.symbol] if t.time >= ms - 86_400_000]
    last = contract.price
    open_ = day[0].price if day else last
    change = last - open_
    (bid, bid_qty), (ask, ask_qty) = book.best_bid_ask(contract)
    return {
        "symbol": contract.symbol,
        "priceChange": dec(change),
        "priceChangePercent": dec(change / open_ * 100 if open_ else Decimal(0), 2),
        "lastPrice": dec(last),
        "lastQty": dec(day[-1].qty if day else Decimal(0)),
        "highPrice": dec(max((t.price for t in day), default=last)),
        "lowPrice": dec(min((t.price for t in day), default=last)),
        "volume": dec(sum((t.qty for t in day), Decimal(0))),
        "quoteVolume": dec(sum((t.qty * t.price for t in day), Decimal(0)), 2),
        "openPrice": dec(open_),
        "openTime": day[0].time if day else ms,
        "closeTime": ms,
        "askPrice": dec(ask),
        "askQty": dec(ask_qty),
        "bidPrice": dec(bid),
        "bidQty": dec(bid_qty),
    }


def contract_object(contract: Contract) -> dict:
    spec = contract.spec
    base, quote = spec.symbol.split("-", 1)
    return {
        "contractId": str(contract.contract_id),
        "symbol": spec.symbol,
        "size": "0",
        "quantityPrecision": spec.quantity_precision,
        "pricePrecision": spec.price_precision,
        "feeRate": float(spec.taker_fee),
        "makerFeeRate": float(spec.maker_fee),
        "takerFeeRate": float(spec.taker_fee),
        "tradeMinLimit": 0,
        "tradeMinQuantity": float(spec.min_qty),
        "tradeMinUSDT": float(spec.min_notional),
        "maxLongLeverage": spec.max_leverage,
        "maxShortLeverage": spec.max_leverage,
        "currency": quote,
        "asset": base,
        "status": 1,
        "apiStateOpen": "true",
        "apiStateClose": "true",
        "brokerState": "true",
        "ensureTrigger": False,
        "triggerFeeRate": "0.00020000",
        "displayName": spec.symbol,
        "launchTime": 1586275200000,
        "maintainTime": 0,
        "offTime": 0,
    }


def trading_rules_object(contract: Contract) -> dict:
    spec = contract.spec
    return {
        "symbol": spec.symbol,
        "minSizeCoin": spec.min_qty,
        "minSizeUsd": spec.min_notional,
        "maxMumOrder": "200",
        "protectionThreshold": "0.05",
        "buyMaxPrice": "1.05",
        "buyMinPrice": "0.5",
        "sellMaxPrice": "1.5",
        "sellMinPrice": "0.95",
        "marketRatio": "0.05",
    }
