"""A restored trade continues exactly (docs/design.md §5.3): its fill ledger comes from its persisted `fills` and
`trade_exit_legs` rows, position_state being the index of open trades.

`read_trade_fills` reads those rows through the store surface (`stores.clickhouse.query`, in-process or in the
store service alike); `attach_fills` gives each decided slot its fills when they fold to its snapshot
(`domain.restored.fold_disagreements`), and otherwise keeps the snapshot and records why
(RESTORE_LEDGER_MISMATCH). Nothing here raises: an unreadable table is the same recorded fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from dolphin_nautilus.domain.facts import Anomaly, canonical_json
from dolphin_nautilus.domain.restored import RestoredFill, RestoredSlot, fold_disagreements
from dolphin_nautilus.restore.report import ORIGIN

LEDGER_MISMATCH = "RESTORE_LEDGER_MISMATCH"
TradeFills = dict[str, list[RestoredFill]]
FillReader = Callable[[list[str]], TradeFills]  # trade ids -> their fills in ledger order (raises if unreadable)


def store_fill_reader(clickhouse: Any, database: str) -> FillReader:
    """Fills and exit legs of the given trades, read with two SELECTs through the store's read-only `query`."""

    def read(trade_ids: list[str]) -> TradeFills:
        if not trade_ids:
            return {}
        ids = {"ids": sorted(trade_ids)}
        fills = clickhouse.query(
            "SELECT trade_id, venue_trade_id, client_order_id, side, quantity, price, fee, "
            f"toUnixTimestamp64Nano(ts) AS ts_ns FROM `{database}`.`fills` FINAL "
            "WHERE trade_id IN {ids:Array(String)} ORDER BY trade_id, ts, row_id",
            ids,
        )
        legs = clickhouse.query(
            "SELECT trade_id, venue_trade_id, leg_no, reason, quantity, realized_pnl "
            f"FROM `{database}`.`trade_exit_legs` FINAL WHERE trade_id IN {{ids:Array(String)}} ORDER BY leg_no",
            ids,
        )
        return fills_from_rows(_dicts(fills), _dicts(legs))

    return read


def _dicts(result: Any) -> list[dict[str, Any]]:
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def fills_from_rows(fill_rows: Sequence[Mapping[str, Any]], leg_rows: Sequence[Mapping[str, Any]]) -> TradeFills:
    """Fill rows (ledger order) joined with their exit legs by venue trade id: a fill with a leg is an EXIT
    (the leg's applied quantity, PnL and reason), one without is an ENTRY."""
    legs = {(str(r["trade_id"]), str(r["venue_trade_id"])): r for r in leg_rows}
    out: TradeFills = {}
    for row in fill_rows:
        trade_id, key = str(row["trade_id"]), str(row["venue_trade_id"])
        leg = legs.get((trade_id, key))
        out.setdefault(trade_id, []).append(
            RestoredFill(
                key=key,
                kind="EXIT" if leg is not None else "ENTRY",
                quantity=_trim(leg["quantity"] if leg is not None else row["quantity"]),
                price=_trim(row["price"]),
                fee=_trim(row["fee"]),
                ts=int(row["ts_ns"]),
                client_order_id=str(row["client_order_id"]),
                realized_pnl=_trim(leg["realized_pnl"]) if leg is not None else Decimal(0),
                reason=str(leg["reason"]) if leg is not None else "",
            )
        )
    return out


def _trim(value: Any) -> Decimal:
    """A Decimal(38,18) read back without its padding zeros (0.002000000000000000 -> 0.002); exact, with no
    decimal context involved (Decimal.normalize would round to the context's 28 digits)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        return number
    text = format(number, "f")
    return Decimal(text.rstrip("0").rstrip(".")) if "." in text else number


def attach_fills(
    slots: list[RestoredSlot], reader: FillReader, *, namespace: str, now_ns: int
) -> tuple[list[RestoredSlot], list[Anomaly]]:
    """Each slot with its fills when they fold to its snapshot; otherwise the slot as it is, with an anomaly
    naming the fields that differ (or why the fills could not be read). External (venue) slots have none."""
    own = [s for s in slots if s.source != "venue"]
    try:
        by_trade = reader([s.trade_id for s in own])
        unreadable = ""
    except Exception as exc:  # noqa: BLE001 - unreadable fills: every slot restores from its snapshot
        by_trade, unreadable = {}, f"{type(exc).__name__}: {exc}"
    out: list[RestoredSlot] = []
    anomalies: list[Anomaly] = []
    for slot in slots:
        if slot.source == "venue":
            out.append(slot)
            continue
        fills = by_trade.get(slot.trade_id, [])
        differ = {"fills": f"unreadable: {unreadable}"} if unreadable else fold_disagreements(slot, fills)
        if not differ:
            entry_quantity = sum((f.quantity for f in fills if f.kind == "ENTRY"), Decimal(0))
            out.append(msgspec.structs.replace(slot, fills=fills, entry_quantity=entry_quantity))
            continue
        out.append(slot)
        anomalies.append(_mismatch(slot, differ, namespace, now_ns))
    return out, anomalies


def _mismatch(slot: RestoredSlot, differ: dict[str, str], namespace: str, now_ns: int) -> Anomaly:
    return Anomaly(
        ts=now_ns,
        origin=ORIGIN,
        code=LEDGER_MISMATCH,
        severity="WARNING",
        trade_id=slot.trade_id,
        instrument_id=slot.instrument_id,
        message=(
            f"{slot.trade_id}: fills do not fold to its snapshot ("
            + "; ".join(f"{k}: {v}" for k, v in differ.items())
            + "); restored from the snapshot"
        ),
        details=canonical_json({"namespace": namespace, "differ": differ, "source": slot.source}),
    )
