"""Venue reconciliation of a restore plan (docs/design.md §5.5): the venue is the truth for quantity. A slot the
venue is flat on (or opposite to) is dropped; a different size takes the venue's; a venue position no trade
owns is adopted, flattened or refused (safe mode), by config.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal

import msgspec

from dolphin_nautilus.domain.facts import Anomaly
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.domain.restored import RestoredSlot
from dolphin_nautilus.restore.outcome import VENUE_SOURCE, ZERO, RestorePlan
from dolphin_nautilus.restore.report import UNCLAIMED_ADOPTED, UNCLAIMED_REFUSED, restore_anomaly


def reconcile(
    plan: RestorePlan,
    positions: Mapping[str, tuple[Decimal, Decimal]],
    gone: dict[str, str],
    *,
    namespace: str,
    specs: Mapping[str, InstrumentSpec],
    unclaimed: str,
    now_ns: int,
) -> None:
    kept: list[RestoredSlot] = []
    for slot in plan.slots:
        qty, _ = positions.get(slot.instrument_id, (ZERO, ZERO))
        same_side = (qty > 0) == (slot.side == "LONG")
        if qty == 0 or not same_side:
            why = "venue is flat" if qty == 0 else f"venue holds {qty}, opposite to our {slot.side}"
            gone[slot.trade_id] = why
            plan.notes.append(f"{slot.trade_id} {slot.instrument_id} dropped: {why}")
            continue
        if abs(qty) != slot.quantity:
            plan.anomalies.append(
                restore_anomaly(
                    now_ns,
                    "RESTORE_VENUE_QUANTITY",
                    "WARNING",
                    namespace,
                    f"{slot.trade_id}: quantity {slot.quantity} -> venue {abs(qty)}",
                    slot.trade_id,
                    slot.instrument_id,
                )
            )
            slot = msgspec.structs.replace(slot, quantity=abs(qty), notional=abs(qty) * slot.entry_price)
        kept.append(slot)
    claimed = {s.instrument_id for s in kept}
    for iid, (qty, avg_px) in sorted(positions.items()):
        if qty == 0 or iid in claimed:
            continue
        if iid not in specs:
            plan.anomalies.append(
                restore_anomaly(
                    now_ns,
                    "RESTORE_VENUE_UNKNOWN_INSTRUMENT",
                    "ERROR",
                    namespace,
                    f"venue holds {qty} {iid}, not a configured instrument",
                    "",
                    iid,
                )
            )
            continue
        if unclaimed == "refuse":
            plan.safe_mode.append(refuse_unclaimed(plan.anomalies, iid, qty, avg_px, namespace, now_ns))
            continue
        kept.append(external_slot(iid, qty, avg_px, now_ns))
        if unclaimed == "flatten":
            plan.flatten.append(iid)
        plan.anomalies.append(
            restore_anomaly(
                now_ns,
                UNCLAIMED_ADOPTED,
                "WARNING",
                namespace,
                f"venue holds {qty} {iid} @ {avg_px} that no trade owns: "
                f"{'adopted as an external slot' if unclaimed == 'adopt' else 'flattening'}",
                kept[-1].trade_id,
                iid,
            )
        )
    plan.slots = kept


def refuse_unclaimed(
    anomalies: list[Anomaly], iid: str, qty: Decimal, avg_px: Decimal, namespace: str, now_ns: int
) -> str:
    """restore.unclaimed_venue_position = "refuse": leave the position alone, say so, and return the safe-mode
    reason (entries stay blocked until the operator flattens it or allows adoption)."""
    reason = (
        f"venue holds {qty} {iid} @ {avg_px} that no trade owns; adoption refused by config "
        f"(restore.unclaimed_venue_position = refuse): flatten it (dolphin-ctl flatten) or allow adopt"
    )
    anomalies.append(restore_anomaly(now_ns, UNCLAIMED_REFUSED, "ERROR", namespace, reason, "", iid))
    return reason


def external_slot(iid: str, signed_qty: Decimal, avg_px: Decimal, now_ns: int) -> RestoredSlot:
    """A slot for a venue position no trade owns: a new trade id, side/size/price from the venue."""
    trade_id = "x" + hashlib.blake2b(f"{iid}|{now_ns}".encode(), digest_size=5).hexdigest()
    qty = abs(signed_qty)
    return RestoredSlot(
        trade_id=trade_id,
        instrument_id=iid,
        side="LONG" if signed_qty > 0 else "SHORT",
        quantity=qty,
        entry_price=avg_px,
        bars_held=0,
        realized_pnl=ZERO,
        fees=ZERO,
        legs=0,
        opened_ts=now_ns,
        order_seq=0,
        notional=qty * avg_px,
        source=VENUE_SOURCE,
        seq=None,
        ts=now_ns,
    )
