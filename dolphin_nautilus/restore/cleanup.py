"""Cleaning history restore rejects (docs/design.md §5.8): find it, then tombstone it. Never deletes a row.

For `dolphin-ctl`:

    found = find_rejected_history(stores, specs=specs)     # what restore would reject, with reasons
    result = write_tombstones(stores, [t.trade_id for t in found])             # dry run: the plan only
    result = write_tombstones(stores, [t.trade_id for t in found], dry_run=False)  # journal TOMBSTONED rows

A tombstone is a `PositionState` with status TOMBSTONED, seq and ts above every record of the trade in any
source, so the next restore reads it as the latest record and the live-state sink drops the slot entry.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from dolphin_nautilus.domain.facts import PositionState
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.restore.candidates import Candidate, parse_position_state_rows
from dolphin_nautilus.restore.plan import latest_open_somewhere, tombstone_for
from dolphin_nautilus.restore.reading import exact_ts, read_sources, store_legacy_reader
from dolphin_nautilus.restore.venue_rules import decide_with_dust

OPS_ORIGIN = "ops"


class RejectedTrade(msgspec.Struct, frozen=True, kw_only=True):
    trade_id: str
    instrument_id: str
    kinds: tuple[str, ...]  # e.g. ("retracted",), ("superseded", "dust")
    reasons: tuple[str, ...]  # "<source>: <reason>" per rejection
    still_open_somewhere: bool  # some source's latest record is OPEN: the next start would read it again


class TombstoneResult(msgspec.Struct, frozen=True, kw_only=True):
    dry_run: bool
    planned: tuple[PositionState, ...]
    unknown: tuple[str, ...]  # trade ids no source holds: nothing to tombstone
    written: int  # facts handed to the journal (0 in a dry run)


def _sources(stores: Any, legacy_database: str | None, legacy_table: str | None):
    restore = getattr(getattr(stores, "config", None), "restore", None)
    database = legacy_database if legacy_database is not None else getattr(restore, "legacy_database", "")
    configured_table: str = getattr(restore, "legacy_table", "position_state")
    table = legacy_table or configured_table
    reader = store_legacy_reader(stores, database, table) if database else None
    return read_sources(stores, legacy_reader=reader)


def find_rejected_history(
    stores: Any,
    *,
    specs: Mapping[str, InstrumentSpec],
    max_bars_held: int | None = None,
    legacy_database: str | None = None,
    legacy_table: str | None = None,
) -> list[RejectedTrade]:
    """The trades restore rejects today, with every reason, read exactly as the RestoreActor reads them.
    `specs`: the venue's specs of the instruments (an instrument without one is rejected as unknown)."""
    max_bars = max_bars_held if max_bars_held is not None else stores.config.strategy.max_hold_bars
    batches = _sources(stores, legacy_database, legacy_table)
    decision = decide_with_dust(batches, specs, max_bars, time.time_ns())
    restored = {s.trade_id for s in decision.slots}
    by_trade: dict[str, list] = {}
    for rejection in decision.rejections:
        if rejection.trade_id and rejection.trade_id not in restored:
            by_trade.setdefault(rejection.trade_id, []).append(rejection)
    records = _records_by_trade(batches)
    return [
        RejectedTrade(
            trade_id=trade_id,
            instrument_id=next((r.instrument_id for r in rejections if r.instrument_id), "")
            or next((c.instrument_id for c in records.get(trade_id, ())), ""),
            kinds=tuple(dict.fromkeys(r.kind for r in rejections)),
            reasons=tuple(f"{r.source}: {r.reason}" for r in rejections),
            still_open_somewhere=latest_open_somewhere(records.get(trade_id, [])),
        )
        for trade_id, rejections in sorted(by_trade.items())
    ]


def write_tombstones(
    stores: Any,
    trade_ids: Iterable[str],
    *,
    dry_run: bool = True,
    legacy_database: str | None = None,
    legacy_table: str | None = None,
    now_ns: int | None = None,
    flush_timeout_s: float = 30.0,
) -> TombstoneResult:
    """Plan (dry run, the default) or journal a TOMBSTONED row for each trade. Deletes nothing."""
    wanted = list(dict.fromkeys(trade_ids))
    records = _records_by_trade(_sources(stores, legacy_database, legacy_table))
    extra = [t for t in wanted if t not in records]
    if extra:  # trades only our history knows (already closed, or never in live state)
        for row in stores.clickhouse.latest_position_states(trade_ids=extra):
            for c in parse_position_state_rows([exact_ts(row)]).candidates:
                records.setdefault(c.trade_id, []).append(c)
    now = now_ns if now_ns is not None else time.time_ns()
    planned = tuple(tombstone_for(records[t], now, origin=OPS_ORIGIN) for t in wanted if t in records)
    unknown = tuple(t for t in wanted if t not in records)
    if dry_run:
        return TombstoneResult(dry_run=True, planned=planned, unknown=unknown, written=0)
    for fact in planned:
        stores.journal.append(fact)
    stores.journal.flush(flush_timeout_s)
    return TombstoneResult(dry_run=False, planned=planned, unknown=unknown, written=len(planned))


def _records_by_trade(batches) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {}
    for batch in batches:
        for c in batch.candidates:
            out.setdefault(c.trade_id, []).append(c)
    return out
