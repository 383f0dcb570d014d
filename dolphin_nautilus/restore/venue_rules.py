"""Venue rules on a restore decision: the dust rule (a size effectively zero at the venue's precision and
minimums is not restored) and the side of a side-less record completed from the venue's position.
Total like decide(): a slot or candidate these rules cannot handle is rejected on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import msgspec

from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.domain.policy import is_effectively_zero
from dolphin_nautilus.domain.restored import RestoredSlot
from dolphin_nautilus.restore.candidates import Candidate, Rejection, SourceBatch
from dolphin_nautilus.restore.decide import RestoreDecision, RestoreStatus, SourceInput, decide
from dolphin_nautilus.restore.values import SIDE_MISSING, bounded, excerpt


def decide_with_dust(
    batches: Sequence[SourceInput], specs: Mapping[str, InstrumentSpec], max_bars_held: int, now_ns: int
) -> RestoreDecision:
    """decide(), then reject slots whose size is dust at the venue's precision and minimums (docs/design.md §3.1).

    Total like decide(): a slot whose dust check cannot run is rejected on its own (kind `internal`).
    """
    decision = decide(batches, specs.keys(), max_bars_held, now_ns)
    kept: list[RestoredSlot] = []
    dropped: list[Rejection] = []
    for slot in decision.slots:
        spec = specs[slot.instrument_id]
        try:
            dust = is_effectively_zero(spec, slot.quantity, slot.entry_price)
        except Exception as exc:  # noqa: BLE001 - one slot never takes the others down
            dropped.append(_slot_rejection(slot, "internal", f"dust check failed: {exc!r}"))
            continue
        if dust:
            dropped.append(
                _slot_rejection(
                    slot,
                    "dust",
                    (
                        f"quantity {slot.quantity} at {slot.entry_price} is effectively zero (size step "
                        f"{spec.size_increment}, min qty {spec.min_quantity}, min notional {spec.min_notional})"
                    ),
                )
            )
        else:
            kept.append(slot)
    if not dropped:
        return decision
    status = decision.status
    if status is RestoreStatus.RESTORED and not kept:
        status = RestoreStatus.FLAT
    return msgspec.structs.replace(
        decision, slots=tuple(kept), rejections=(*decision.rejections, *dropped), status=status
    )


def _slot_rejection(slot: RestoredSlot, kind: str, reason: str) -> Rejection:
    return Rejection(
        source=slot.source,
        trade_id=slot.trade_id,
        instrument_id=slot.instrument_id,
        kind=kind,
        reason=reason,
        raw_excerpt=excerpt(msgspec.to_builtins(slot)),
    )


def complete_sides_from_venue(
    batches: Sequence[SourceBatch],
    venue_positions: Mapping[str, tuple[Decimal, Decimal]],
    specs: Mapping[str, InstrumentSpec],
) -> list[SourceBatch]:
    """Give a side to every candidate that has none, from the venue's position on the same instrument.

    `venue_positions`: instrument id -> (signed quantity, average price), as the restore actor's venue
    answer. A side-less candidate takes LONG (venue quantity > 0) or SHORT (< 0) when its quantity equals
    the venue's absolute quantity within half a size step of the instrument; otherwise it keeps no side
    and gains a defect saying why, so decide() rejects it with that reason. Call it on the batches before
    `decide_with_dust` when the venue answered (live); never with an unavailable venue. Never raises.
    """
    out = []
    for batch in batches:
        if not any(SIDE_MISSING in c.defects for c in batch.candidates if isinstance(c, Candidate)):
            out.append(batch)
            continue
        completed = tuple(
            _with_venue_side(c, venue_positions, specs) if isinstance(c, Candidate) and SIDE_MISSING in c.defects else c
            for c in batch.candidates
        )
        out.append(msgspec.structs.replace(batch, candidates=completed))
    return out


def _with_venue_side(
    c: Candidate, venue_positions: Mapping[str, tuple[Decimal, Decimal]], specs: Mapping[str, InstrumentSpec]
) -> Candidate:
    try:
        side, why = _venue_side(c, venue_positions, specs)
    except Exception as exc:  # noqa: BLE001 - e.g. a malformed venue answer: the candidate stays side-less
        side, why = "", f"venue position unusable: {exc!r}"
    others = tuple(d for d in c.defects if d != SIDE_MISSING)
    if side:
        return msgspec.structs.replace(c, side=side, defects=others)
    return msgspec.structs.replace(c, defects=(*others, f"{SIDE_MISSING} and not completed from the venue: {why}"))


def _venue_side(
    c: Candidate, venue_positions: Mapping[str, tuple[Decimal, Decimal]], specs: Mapping[str, InstrumentSpec]
) -> tuple[str, str]:
    spec = specs.get(c.instrument_id)
    if spec is None:
        return "", f"instrument {c.instrument_id!r} is not a known instrument"
    if not c.quantity.is_finite() or c.quantity <= 0:
        return "", f"quantity {c.quantity} is not a finite positive number"
    raw, _ = venue_positions.get(c.instrument_id, (Decimal(0), Decimal(0)))
    checked = bounded(raw) if isinstance(raw, Decimal) else None
    if checked is None or not checked.is_finite():
        return "", f"venue quantity {venue_positions.get(c.instrument_id)} is not a sane number"
    if checked == 0:
        return "", f"venue is flat on {c.instrument_id}"
    tolerance = spec.size_increment / 2
    if (checked.copy_abs() - c.quantity).copy_abs() > tolerance:
        return "", (
            f"venue holds {checked.copy_abs()} {c.instrument_id}, not {c.quantity} "
            f"within half a size step ({tolerance})"
        )
    return ("LONG" if checked > 0 else "SHORT"), ""
