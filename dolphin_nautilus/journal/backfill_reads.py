"""What ClickHouse holds for a back-fill (`read_stored`, read-only SELECTs) and the invariant a chaos run
checks against the venue's own history (`lost_facts`: nothing of ours missing or doubled)."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from dolphin_nautilus.journal.backfill_plan import StoredFacts, StoredTrade, select_ours
from dolphin_nautilus.journal.schema import LATEST_TABLE, database_name
from dolphin_nautilus.journal.venue_history import VenueHistory


class Reader(Protocol):
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Any: ...


def read_stored(reader: Reader, namespace: str, history: VenueHistory, prefix: str) -> StoredFacts:
    """The rows a plan needs, for the orders and fills of `history` that are ours (read-only SELECTs)."""
    db = database_name(namespace)
    legacy = _rows(reader, f"SELECT DISTINCT trade_id FROM `{db}`.`{LATEST_TABLE}`")
    known = [str(r["trade_id"]) for r in legacy if not _is_hex12(str(r["trade_id"]))]
    ours = select_ours(history, prefix, known)
    coids = sorted({o.order.client_order_id for o in ours.values()})
    trade_ids = sorted({o.trade_id for o in ours.values()})
    fill_ids = sorted({f.venue_trade_id for f in history.fills if f.venue_order_id in ours})
    stored = StoredFacts(fill_ids=set(), order_events={}, trades={}, known_trade_ids=known)
    if not coids:
        return stored
    params = {"coids": coids, "tids": trade_ids, "fids": fill_ids}
    for row in _rows(
        reader, f"SELECT venue_trade_id FROM `{db}`.`fills` WHERE venue_trade_id IN {{fids:Array(String)}}", params
    ):
        stored.fill_ids.add(str(row["venue_trade_id"]))
    for row in _rows(
        reader,
        f"SELECT client_order_id, event, reason FROM `{db}`.`orders` WHERE client_order_id IN {{coids:Array(String)}}",
        params,
    ):
        stored.order_events.setdefault(str(row["client_order_id"]), {})[str(row["event"])] = str(row["reason"])
    trades = {t: StoredTrade(trade_id=t) for t in trade_ids}
    for row in _rows(
        reader,
        f"SELECT trade_id, instrument_id, side, quantity, price, fee FROM `{db}`.`trade_entries` "
        "WHERE trade_id IN {tids:Array(String)} ORDER BY ts LIMIT 1 BY trade_id",
        params,
    ):
        trades[str(row["trade_id"])].entry = row
    for row in _rows(
        reader,
        f"SELECT DISTINCT trade_id, leg_no, venue_trade_id, quantity, price, realized_pnl, fee, reason "
        f"FROM `{db}`.`trade_exit_legs` WHERE trade_id IN {{tids:Array(String)}}",
        params,
    ):
        trades[str(row["trade_id"])].legs.append(row)
    for row in _rows(
        reader, f"SELECT DISTINCT trade_id FROM `{db}`.`trades` WHERE trade_id IN {{tids:Array(String)}}", params
    ):
        trades[str(row["trade_id"])].closed = True
    for row in _rows(
        reader,
        f"SELECT trade_id, status, seq, bars_held, legs, order_seq, toUnixTimestamp64Nano(opened_ts) AS opened_ts_ns "
        f"FROM `{db}`.`{LATEST_TABLE}` WHERE trade_id IN {{tids:Array(String)}} "
        "ORDER BY trade_id, seq DESC, ts DESC LIMIT 1 BY trade_id",
        params,
    ):
        trades[str(row["trade_id"])].latest = row
    stored.trades = trades
    return stored


def _rows(reader: Reader, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    result = reader.query(sql, parameters or {})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _is_hex12(text: str) -> bool:
    return len(text) == 12 and all(c in "0123456789abcdef" for c in text)


class LostFacts(msgspec.Struct, kw_only=True):
    """Venue facts of ours that ClickHouse lacks (should be empty after a back-fill), and duplicates."""

    missing_fills: list[str]  # venue trade ids of our fills without a fills row
    missing_orders: list[str]  # client order ids of our venue orders without any orders row
    missing_legs: list[str]  # venue trade ids of our exit fills without a trade_exit_legs row (nor unaccounted)
    duplicated_fills: list[str]  # venue trade ids with more than one distinct fills row

    @property
    def ok(self) -> bool:
        return not (self.missing_fills or self.missing_orders or self.missing_legs or self.duplicated_fills)


def lost_facts(reader: Reader, namespace: str, history: VenueHistory, prefix: str) -> LostFacts:
    """Check, against the venue's own history, that no fact of ours is missing or doubled in ClickHouse."""
    db = database_name(namespace)
    ours = select_ours(history, prefix)
    our_fills = [f for f in history.fills if f.venue_order_id in ours]
    fids = sorted({f.venue_trade_id for f in our_fills})
    coids = sorted({o.order.client_order_id for o in ours.values()})
    params = {"fids": fids, "coids": coids}
    fill_counts = {
        str(r["venue_trade_id"]): int(r["n"])
        for r in _rows(
            reader,
            f"SELECT venue_trade_id, uniqExact(row_id) AS n FROM `{db}`.`fills` "
            "WHERE venue_trade_id IN {fids:Array(String)} GROUP BY venue_trade_id",
            params,
        )
    }
    with_orders = {
        str(r["client_order_id"])
        for r in _rows(
            reader,
            f"SELECT DISTINCT client_order_id FROM `{db}`.`orders` WHERE client_order_id IN {{coids:Array(String)}}",
            params,
        )
    }
    leg_ids = {
        str(r["venue_trade_id"])
        for r in _rows(
            reader,
            f"SELECT DISTINCT venue_trade_id FROM `{db}`.`trade_exit_legs` "
            "WHERE venue_trade_id IN {fids:Array(String)}",
            params,
        )
    }
    exits = [f.venue_trade_id for f in our_fills if not ours[f.venue_order_id].parsed.is_entry]
    return LostFacts(
        missing_fills=[f for f in fids if f not in fill_counts],
        missing_orders=[c for c in coids if c not in with_orders],
        missing_legs=sorted(f for f in exits if f not in leg_ids),
        duplicated_fills=sorted(f for f, n in fill_counts.items() if n > 1),
    )
