"""The venue's own history as plain rows for the back-fill (`journal.venue_history.VenueHistory`): every order
(open, and finished from allOrders) and every execution (fillHistory, with venue trade ids) of the given
instruments over a window, paged to the end. Venue I/O only: no Nautilus types.

Windows: allOrders and fillHistory serve at most 7 days back (docs/reference/bingx_api.md §5.8 and the fills
section after it); a longer lookback is clamped to that, and the clamp is reported (`VenueHistory.start_ms`)
so the caller knows what it covered.
"""

from __future__ import annotations

from decimal import Decimal

from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXFill, BingXOrder
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id, to_venue_symbol
from dolphin_nautilus.journal.venue_history import VenueFill, VenueHistory, VenueOrder

MAX_WINDOW_MS = 7 * 86_400_000 - 60_000  # the venue's 7-day limit, less a minute of clock skew
ORDER_PAGE = 1000
FILL_PAGE = 1000
MAX_PAGES = 200  # a bound on one read: 200k rows per instrument


def venue_order(order: BingXOrder) -> VenueOrder:
    return VenueOrder(
        venue_order_id=str(order.order_id),
        client_order_id=order.client_order_id,
        instrument_id=to_instrument_id(order.symbol),
        side=order.order_side.value,
        type=order.type.upper(),
        status=order.order_status.value,
        quantity=Decimal(order.orig_qty),
        price=Decimal(order.price),
        reduce_only=order.reduce_only,
        created_ms=order.time,
        updated_ms=order.update_time,
    )


def venue_fill(fill: BingXFill) -> VenueFill:
    return VenueFill(
        venue_trade_id=fill.trade_id,
        venue_order_id=str(fill.order_id),
        instrument_id=to_instrument_id(fill.symbol),
        quantity=Decimal(fill.volume),
        price=Decimal(fill.price),
        fee=-Decimal(fill.commission),  # the venue's commission is negative when paid; the live path negates it
        ts_ms=fill.ts_ms,
    )


async def fetch_venue_history(
    trade: BingXTradeHttpAPI, instrument_ids: list[str], start_ms: int, end_ms: int
) -> VenueHistory:
    """Orders and fills of `instrument_ids` in (start_ms, end_ms]; raises BingXError when the venue cannot say."""
    start_ms = max(start_ms, end_ms - MAX_WINDOW_MS)
    orders: dict[int, BingXOrder] = {}
    fills: dict[str, BingXFill] = {}
    for iid in instrument_ids:
        symbol = to_venue_symbol(iid)
        for order in await _orders(trade, symbol, start_ms, end_ms):
            orders[order.order_id] = order
        for order in await trade.open_orders(symbol):
            orders.setdefault(order.order_id, order)
        for fill in await _fills(trade, symbol, start_ms, end_ms):
            fills[fill.trade_id] = fill
    return VenueHistory(
        start_ms=start_ms,
        end_ms=end_ms,
        orders=[venue_order(o) for _, o in sorted(orders.items())],
        fills=[venue_fill(f) for f in sorted(fills.values(), key=lambda f: (f.ts_ms, f.trade_id))],
    )


async def _orders(trade: BingXTradeHttpAPI, symbol: str, start_ms: int, end_ms: int) -> list[BingXOrder]:
    out: list[BingXOrder] = []
    after: int | None = None
    for _ in range(MAX_PAGES):
        page = await trade.order_history(
            symbol, start_ms=start_ms, end_ms=end_ms, limit=ORDER_PAGE, from_order_id=after
        )
        out += page
        if len(page) < ORDER_PAGE:
            return out
        after = max(o.order_id for o in page) + 1
    raise RuntimeError(f"allOrders for {symbol}: more than {MAX_PAGES} pages; narrow the lookback")


async def _fills(trade: BingXTradeHttpAPI, symbol: str, start_ms: int, end_ms: int) -> list[BingXFill]:
    out: list[BingXFill] = []
    last: int | None = None
    for _ in range(MAX_PAGES):
        page = await trade.fill_history(
            symbol, start_ms=start_ms, end_ms=end_ms, last_fill_id=last, page_size=FILL_PAGE
        )
        out += page
        if len(page) < FILL_PAGE:
            return out
        last = max(int(f.trade_id) for f in page)
    raise RuntimeError(f"fillHistory for {symbol}: more than {MAX_PAGES} pages; narrow the lookback")
