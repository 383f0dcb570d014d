"""The back-fill plan: every order and fill of our client-order prefix in the venue's own history that
ClickHouse lacks, and the entries, exit legs, closed trades and slot snapshots they imply (docs/design.md §11).
Pure: plain venue rows in (`VenueHistory`, built by the adapter from its order and fill history), facts out; the
caller writes them through the journal.

Row ids (how a back-fill never duplicates):

* `fills`: the back-filled `FillFact` is the live one, field by field (same origin, the venue's fill time,
  the same Decimal forms Nautilus hands the strategy: `live_decimal`), so its content-derived `row_id` is the
  one the live write had or would have had. A fill already in ClickHouse (by venue trade id) is skipped; one
  the live path writes while a back-fill runs collapses into the same row.
* everything else (`orders`, `trade_entries`, `trade_exit_legs`, `trades`, `position_state`): the live row
  carries what the venue cannot know (the decision's price and reason, the local clock, bars held), so these
  are written only when ClickHouse holds no row for their venue key (order: client order id + event; entry and
  closed trade: trade id; leg: trade id + venue trade id; snapshot: only when the latest one is OPEN and the
  venue fills change it), with `origin="backfill"` and times from the venue. Built from venue data and what
  ClickHouse held alone, they are deterministic: a back-fill repeated over the same history yields the same
  row ids, and after the first one has been written the next finds every key present and writes nothing.

A trade keeps its id: it is read back from the client order id (`identifiers.parse_client_order_id`), so a
position whose entry fill was back-filled is restored as the trade it was, never as an external slot.
Exit legs never account for more than the entry: an exit fill whose quantity a reconcile leg already took
(the venue answered flat before the fill was back-filled) gets its `fills` row only, and is named in
`BackfillPlan.unaccounted`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec

from dolphin_nautilus.domain.facts import (
    Fact,
    FillFact,
    OrderEvent,
    PositionState,
    TradeClosed,
    TradeEntry,
    TradeExitLeg,
)
from dolphin_nautilus.domain.identifiers import ParsedClientOrderId, coid_token, parse_client_order_id
from dolphin_nautilus.journal.venue_history import Precision, VenueFill, VenueHistory, VenueOrder

ZERO = Decimal(0)
NS_PER_MS = 1_000_000
LIVE_ORIGIN = "kernel"  # the strategy's book writes its facts with this origin (domain.book.TradeBook default)
BACKFILL_ORIGIN = "backfill"
BACKFILL_REASON = "BACKFILL"
FEE_PLACES = 8  # USDT's precision in Nautilus: the live fee is Money(commission, USDT).as_decimal()
ENDED_EVENTS = {"CANCELED": "CANCELED", "CANCELLED": "CANCELED", "EXPIRED": "EXPIRED", "FILLED": "FILLED"}


class StoredTrade(msgspec.Struct, kw_only=True):
    """What ClickHouse holds of one trade (only the parts a back-fill needs)."""

    trade_id: str
    entry: dict[str, Any] | None = None  # trade_entries row
    legs: list[dict[str, Any]] = msgspec.field(default_factory=list)  # trade_exit_legs rows
    closed: bool = False  # a trades row exists
    latest: dict[str, Any] | None = None  # position_state_latest row


class StoredFacts(msgspec.Struct, kw_only=True):
    fill_ids: set[str]  # venue trade ids with a fills row
    order_events: dict[str, dict[str, str]]  # client order id -> {event: reason}
    trades: dict[str, StoredTrade]
    known_trade_ids: list[str]  # for client order ids whose token is a digest (legacy trade ids)


class BackfillPlan(msgspec.Struct, kw_only=True):
    facts: list[Fact]
    ours_orders: int
    ours_fills: int
    missing_fills: list[str]  # venue trade ids
    unaccounted: list[str]  # exit fills a reconcile leg had already accounted for (fills row only)
    trades_touched: list[str]

    @property
    def empty(self) -> bool:
        return not self.facts


def live_decimal(value: Decimal, places: int) -> Decimal:
    """`value` on `places` decimals in the form Nautilus's `as_decimal()` gives it (trailing zeros dropped,
    integers without exponent), so a back-filled fact matches the live one byte for byte."""
    rounded = value.quantize(Decimal(1).scaleb(-places)).normalize()
    if rounded == ZERO:
        return ZERO
    return rounded.quantize(Decimal(1)) if rounded.as_tuple().exponent > 0 else rounded  # type: ignore[operator]


def _side_of_entry(order_side: str) -> str:
    return "LONG" if order_side == "BUY" else "SHORT"


def _pnl(side: str, avg: Decimal, px: Decimal, qty: Decimal) -> Decimal:
    return (px - avg) * qty if side == "LONG" else (avg - px) * qty


class _Ours(msgspec.Struct, kw_only=True):
    order: VenueOrder
    parsed: ParsedClientOrderId
    trade_id: str


def select_ours(history: VenueHistory, prefix: str, known_trade_ids: Iterable[str] = ()) -> dict[str, _Ours]:
    """Our orders (by client-order prefix), keyed by venue order id, each with its trade id."""
    by_token = {coid_token(t): t for t in known_trade_ids}
    out = {}
    for order in history.orders:
        parsed = parse_client_order_id(order.client_order_id, prefix)
        if parsed is None or parsed.letter == "s":
            continue
        trade_id = by_token.get(parsed.token) or parsed.trade_id
        out[order.venue_order_id] = _Ours(order=order, parsed=parsed, trade_id=trade_id)
    return out


def plan_backfill(
    history: VenueHistory,
    stored: StoredFacts,
    *,
    prefix: str,
    precisions: dict[str, Precision],
) -> BackfillPlan:
    """The facts ClickHouse lacks, given the venue's history and what ClickHouse holds (module docstring)."""
    ours = select_ours(history, prefix, stored.known_trade_ids)
    fills = sorted(
        (f for f in history.fills if f.venue_order_id in ours and f.instrument_id in precisions),
        key=lambda f: (f.ts_ms, f.venue_trade_id),
    )
    facts: list[Fact] = []
    missing = [f for f in fills if f.venue_trade_id not in stored.fill_ids]
    for fill in missing:
        facts.append(_fill_fact(fill, ours[fill.venue_order_id], precisions[fill.instrument_id]))
    for own in ours.values():
        facts += _order_events(own, fills, stored.order_events.get(own.order.client_order_id, {}))
    touched = sorted({ours[f.venue_order_id].trade_id for f in missing})
    unaccounted: list[str] = []
    fills_by_trade: dict[str, list[tuple[VenueFill, _Ours]]] = defaultdict(list)
    for fill in fills:
        own = ours[fill.venue_order_id]
        fills_by_trade[own.trade_id].append((fill, own))
    for trade_id in touched:
        stored_trade = stored.trades.get(trade_id) or StoredTrade(trade_id=trade_id)
        facts += _trade_facts(stored_trade, fills_by_trade[trade_id], stored.order_events, precisions, unaccounted)
    return BackfillPlan(
        facts=facts,
        ours_orders=len(ours),
        ours_fills=len(fills),
        missing_fills=[f.venue_trade_id for f in missing],
        unaccounted=unaccounted,
        trades_touched=touched,
    )


def _fill_fact(fill: VenueFill, own: _Ours, precision: Precision) -> FillFact:
    """The fact the live path writes for this execution (book_facts.fill_fact via the execution client)."""
    order = own.order
    return FillFact(
        ts=fill.ts_ms * NS_PER_MS,
        origin=LIVE_ORIGIN,
        venue_trade_id=fill.venue_trade_id,
        client_order_id=order.client_order_id,
        venue_order_id=order.venue_order_id,
        trade_id=own.trade_id,
        instrument_id=order.instrument_id,
        side=order.side,
        quantity=live_decimal(fill.quantity, precision.size),
        price=live_decimal(fill.price, precision.price),
        fee=live_decimal(fill.fee, FEE_PLACES),
        liquidity="TAKER" if order.type == "MARKET" else "MAKER",  # the execution client's rule for streamed fills
    )


def _order_event(own: _Ours, event: str, ts: int) -> OrderEvent:
    order = own.order
    return OrderEvent(
        ts=ts,
        origin=BACKFILL_ORIGIN,
        client_order_id=order.client_order_id,
        venue_order_id=order.venue_order_id,
        trade_id=own.trade_id,
        instrument_id=order.instrument_id,
        side=order.side,
        type=order.type,
        quantity=order.quantity,
        price=order.price,
        reduce_only=order.reduce_only,
        event=event,
        reason=BACKFILL_REASON,
    )


def _order_events(own: _Ours, fills: list[VenueFill], present: dict[str, str]) -> list[Fact]:
    """ACCEPTED when ClickHouse has no row of the order at all; its end (FILLED, CANCELED, EXPIRED) when the
    venue says it ended and ClickHouse has no such row."""
    order = own.order
    out: list[Fact] = []
    if not present:
        out.append(_order_event(own, "ACCEPTED", order.created_ms * NS_PER_MS))
    end = ENDED_EVENTS.get(order.status.upper())
    if end is not None and end not in present:
        own_fills = [f.ts_ms for f in fills if f.venue_order_id == order.venue_order_id]
        end_ms = max(own_fills) if end == "FILLED" and own_fills else order.updated_ms or order.created_ms
        out.append(_order_event(own, end, end_ms * NS_PER_MS))
    return out


def _trade_facts(
    stored: StoredTrade,
    fills: list[tuple[VenueFill, _Ours]],
    order_events: dict[str, dict[str, str]],
    precisions: dict[str, Precision],
    unaccounted: list[str],
) -> list[Fact]:
    """Entry, legs, closed trade and snapshot of one trade, from ClickHouse's rows plus the venue's fills."""
    entry_fills = [(f, o) for f, o in fills if o.parsed.is_entry]
    exit_fills = [(f, o) for f, o in fills if not o.parsed.is_entry]
    latest = stored.latest or {}
    out: list[Fact] = []
    if stored.entry is not None:
        entry_qty = Decimal(stored.entry["quantity"])
        entry_value = entry_qty * Decimal(stored.entry["price"])
        entry_fee = Decimal(stored.entry["fee"])
        side = str(stored.entry["side"])
        instrument_id = str(stored.entry["instrument_id"])
    elif entry_fills:
        first = entry_fills[0][1].order
        side, instrument_id = _side_of_entry(first.side), first.instrument_id
        precision = precisions[instrument_id]
        entry_qty = sum((live_decimal(f.quantity, precision.size) for f, _ in entry_fills), ZERO)
        entry_value = sum(
            (live_decimal(f.quantity, precision.size) * live_decimal(f.price, precision.price) for f, _ in entry_fills),
            ZERO,
        )
        entry_fee = sum((live_decimal(f.fee, FEE_PLACES) for f, _ in entry_fills), ZERO)
        out.append(
            TradeEntry(
                ts=entry_fills[-1][0].ts_ms * NS_PER_MS,
                origin=BACKFILL_ORIGIN,
                trade_id=stored.trade_id,
                instrument_id=instrument_id,
                side=side,
                quantity=entry_qty,
                price=entry_value / entry_qty,
                notional=entry_value,
                fee=entry_fee,
                client_order_id=first.client_order_id,
            )
        )
    else:
        return []  # the entry is older than the history and not in ClickHouse: nothing to derive PnL from
    avg = entry_value / entry_qty
    precision = precisions[instrument_id]
    legs = sorted(stored.legs, key=lambda r: int(r["leg_no"]))
    seen = {str(r["venue_trade_id"]) for r in legs}
    exited = sum((Decimal(r["quantity"]) for r in legs), ZERO)
    leg_no = max((int(r["leg_no"]) for r in legs), default=int(latest.get("legs") or 0))
    pnl = sum((Decimal(r["realized_pnl"]) for r in legs), ZERO)
    fees = entry_fee + sum((Decimal(r["fee"]) for r in legs), ZERO)
    exit_qty_value = sum((Decimal(r["quantity"]) * Decimal(r["price"]) for r in legs), ZERO)
    final_reason = str(legs[-1]["reason"]) if legs else ""
    last_ts = 0
    changed = False
    for fill, own in exit_fills:
        if fill.venue_trade_id in seen:
            continue
        qty = live_decimal(fill.quantity, precision.size)
        px = live_decimal(fill.price, precision.price)
        fee = live_decimal(fill.fee, FEE_PLACES)
        if exited + qty > entry_qty:
            unaccounted.append(fill.venue_trade_id)
            continue
        exited += qty
        leg_no += 1
        leg_pnl = _pnl(side, avg, px, qty)
        pnl += leg_pnl
        fees += fee
        exit_qty_value += qty * px
        final_reason = order_events.get(own.order.client_order_id, {}).get("SUBMITTED") or BACKFILL_REASON
        last_ts = fill.ts_ms * NS_PER_MS
        changed = True
        remaining = entry_qty - exited
        out.append(
            TradeExitLeg(
                ts=last_ts,
                origin=BACKFILL_ORIGIN,
                trade_id=stored.trade_id,
                instrument_id=instrument_id,
                leg_no=leg_no,
                reason=final_reason,
                quantity=qty,
                price=px,
                notional=qty * px,
                realized_pnl=leg_pnl,
                fee=fee,
                remaining_quantity=remaining,
                is_final=remaining == ZERO,
                client_order_id=own.order.client_order_id,
                venue_trade_id=fill.venue_trade_id,
            )
        )
    remaining = entry_qty - exited
    opened_ts = int(latest.get("opened_ts_ns") or 0) or (entry_fills[0][0].ts_ms * NS_PER_MS if entry_fills else 0)
    last_ts = last_ts or (entry_fills[-1][0].ts_ms * NS_PER_MS if entry_fills else 0)
    if remaining == ZERO and not stored.closed and exited > ZERO:
        out.append(
            TradeClosed(
                ts=last_ts,
                origin=BACKFILL_ORIGIN,
                trade_id=stored.trade_id,
                instrument_id=instrument_id,
                side=side,
                entry_avg_px=avg,
                exit_avg_px=exit_qty_value / exited,
                quantity=entry_qty,
                realized_pnl=pnl,
                fees=fees,
                net_pnl=pnl - fees,
                bars_held=int(latest.get("bars_held") or 0),
                legs=leg_no,
                exit_reason=final_reason or BACKFILL_REASON,
                opened_ts=opened_ts,
            )
        )
    snapshot_due = (not latest and (stored.entry is None)) or (latest.get("status") == "OPEN" and changed)
    if snapshot_due:
        order_seq = max((o.parsed.seq for _, o in fills), default=0)
        out.append(
            PositionState(
                ts=last_ts,
                origin=BACKFILL_ORIGIN,
                trade_id=stored.trade_id,
                instrument_id=instrument_id,
                side=side,
                status="CLOSED" if remaining == ZERO else "OPEN",
                quantity=remaining,
                notional=ZERO if remaining == ZERO else remaining * avg,
                entry_price=avg,
                bars_held=int(latest.get("bars_held") or 0),
                realized_pnl=pnl,
                fees=fees,
                legs=leg_no,
                seq=int(latest.get("seq") or 0) + 1,
                opened_ts=opened_ts,
                order_seq=max(order_seq, int(latest.get("order_seq") or 0)),
            )
        )
    return out
