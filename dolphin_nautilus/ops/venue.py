"""The venue side of `dolphin-ctl positions | orders | flatten`, through the adapter's plain HTTP client.

No Nautilus here: the operator must be able to see and close positions when the node is down or wedged.
The book side comes from the live-state store (the node's open slots), which `dolphin-ctl` may read while
the node runs. Each row says where the two differ.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.enums import BingXOrderSide, BingXOrderType
from dolphin_nautilus.adapters.bingx.http.account import BingXAccountHttpAPI
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id, to_venue_symbol

ZERO = Decimal(0)


class VenueSnapshot(msgspec.Struct, kw_only=True):
    positions: dict[str, Decimal]  # instrument id -> signed quantity (non-zero only)
    avg_prices: dict[str, Decimal]
    orders: list[dict[str, Any]]  # open orders, plain values


class FlattenResult(msgspec.Struct, kw_only=True):
    instrument_id: str
    position: str  # signed venue quantity before the close
    side: str  # the close's side
    quantity: str
    client_order_id: str
    sent: bool
    outcome: str  # "dry run", "accepted order <id>", or the venue's refusal


async def read_venue(rest_url: str, credentials: BingXCredentials, recv_window_ms: int) -> VenueSnapshot:
    async with BingXHttpClient(rest_url, credentials, recv_window_ms=recv_window_ms) as client:
        positions = await BingXAccountHttpAPI(client).positions()
        orders = await BingXTradeHttpAPI(client).open_orders()
    signed = {to_instrument_id(p.symbol): Decimal(p.signed_amount) for p in positions}
    return VenueSnapshot(
        positions={iid: q for iid, q in signed.items() if q != 0},
        avg_prices={to_instrument_id(p.symbol): Decimal(p.avg_price) for p in positions},
        orders=[
            {
                "instrument_id": to_instrument_id(o.symbol),
                "client_order_id": o.client_order_id,
                "order_id": str(o.order_id),
                "side": o.side,
                "type": o.type,
                "quantity": str(o.orig_qty),
                "price": str(o.price),
                "filled": str(o.executed_qty),
                "reduce_only": o.reduce_only,
                "status": o.status,
            }
            for o in orders
        ],
    )


def signed_slot_quantities(slots: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """instrument id -> the book's net signed quantity over its open slots (one per instrument in NETTING)."""
    net: dict[str, Decimal] = {}
    for slot in slots:
        qty = Decimal(str(slot.get("quantity") or 0))
        sign = -1 if slot.get("side") == "SHORT" else 1
        iid = str(slot.get("instrument_id", ""))
        net[iid] = net.get(iid, ZERO) + sign * qty
    return net


def compare_positions(
    venue: VenueSnapshot, slots: Sequence[Mapping[str, Any]], instruments: Iterable[str]
) -> list[dict[str, Any]]:
    """One row per instrument that is configured, held at the venue, or held in the book."""
    book = signed_slot_quantities(slots)
    trade_ids: dict[str, list[str]] = {}
    for slot in slots:
        trade_ids.setdefault(str(slot.get("instrument_id", "")), []).append(str(slot.get("trade_id", "")))
    configured = set(instruments)
    rows = []
    for iid in sorted(configured | set(venue.positions) | set(book)):
        at_venue, in_book = venue.positions.get(iid, ZERO), book.get(iid, ZERO)
        if at_venue == in_book:
            diff = ""
        elif in_book == 0:
            diff = "VENUE ONLY: no slot of this namespace owns it"
        elif at_venue == 0:
            diff = "BOOK ONLY: the venue is flat"
        else:
            diff = f"DIFFERS by {at_venue - in_book}"
        if iid not in configured:
            diff = (diff + "; " if diff else "") + "not a configured instrument"
        rows.append(
            {
                "instrument_id": iid,
                "venue": str(at_venue),
                "avg_price": str(venue.avg_prices.get(iid, "")),
                "book": str(in_book),
                "trade_ids": trade_ids.get(iid, []),
                "diff": diff,
            }
        )
    return rows


def compare_orders(venue: VenueSnapshot, slots: Sequence[Mapping[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The venue's open orders, each marked: ours with an open slot, ours without one, or foreign."""
    held = {str(s.get("instrument_id", "")) for s in slots}
    rows = []
    for order in venue.orders:
        ours = order["client_order_id"].startswith(f"{prefix}-")
        if not ours:
            diff = f"FOREIGN: not this namespace's client order id prefix '{prefix}-'"
        elif order["instrument_id"] not in held:
            diff = "NO SLOT: the book holds no open slot on this instrument"
        else:
            diff = ""
        rows.append({**order, "ours": ours, "diff": diff})
    return rows


def flatten_plan(
    venue: VenueSnapshot, instruments: Iterable[str], prefix: str, now_ms: int | None = None
) -> list[FlattenResult]:
    """A reduce-only market close for each named instrument the venue holds a position in."""
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    plan = []
    for n, iid in enumerate(sorted(set(instruments))):
        qty = venue.positions.get(iid, ZERO)
        if qty == 0:
            continue
        plan.append(
            FlattenResult(
                instrument_id=iid,
                position=str(qty),
                side="SELL" if qty > 0 else "BUY",
                quantity=str(abs(qty)),
                client_order_id=f"{prefix}-flat-{stamp}{n}",
                sent=False,
                outcome="dry run",
            )
        )
    return plan


async def send_flatten(
    rest_url: str, credentials: BingXCredentials, recv_window_ms: int, plan: list[FlattenResult]
) -> list[FlattenResult]:
    """Send each close; one refusal does not stop the others (each outcome is reported)."""
    done = []
    async with BingXHttpClient(rest_url, credentials, recv_window_ms=recv_window_ms) as client:
        trade = BingXTradeHttpAPI(client)
        for item in plan:
            try:
                ack = await trade.place_order(
                    symbol=to_venue_symbol(item.instrument_id),
                    side=BingXOrderSide(item.side),
                    order_type=BingXOrderType.MARKET,
                    quantity=Decimal(item.quantity),
                    reduce_only=True,
                    client_order_id=item.client_order_id,
                )
            except Exception as exc:  # noqa: BLE001 - reported per instrument; the operator sees each one
                done.append(msgspec.structs.replace(item, sent=True, outcome=f"FAILED: {type(exc).__name__}: {exc}"))
            else:
                done.append(msgspec.structs.replace(item, sent=True, outcome=f"accepted order {ack.order_id}"))
    return done


def run(coro: Any) -> Any:
    return asyncio.run(coro)
