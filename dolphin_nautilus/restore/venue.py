"""Venue truth for restore (DESIGN.md §5.5): what the venue holds, or an explicit "could not ask".

`VenuePositions` is a callable returning {instrument_id: (signed_qty, avg_px)} for the configured
instruments (an instrument left out is flat), or raising `VenueUnavailable` when the venue could not be
asked. It must not block: the live implementation reads the Nautilus cache, which startup reconciliation
filled before actors start.

Protocol with the execution client (BingX exec client, or any other): after every attempt to query the
venue's positions (startup reconciliation, mass status), the client writes the cache key
`VENUE_POSITIONS_OK_KEY` (`dolphin.venue.positions_ok`):

    cache.add("dolphin.venue.positions_ok", b"ok")                 # the query succeeded: the cache is truth
    cache.add("dolphin.venue.positions_ok", b"failed: <reason>")   # it failed or timed out

`report_position_query(cache, ok, reason)` does exactly that. No key at all means nobody vouched for the
cache, which is NOT flat: restore treats it as unavailable ("missing reports do not mean flat").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import msgspec

from dolphin_nautilus.domain.restored import RestoredSlot

VENUE_POSITIONS_OK_KEY = "dolphin.venue.positions_ok"
RESTORE_FLATTEN_CACHE_KEY = "dolphin.restore.flatten"  # JSON list of instrument ids to exit at once
RESTORE_REPORT_CACHE_KEY = "dolphin.restore.report"  # the restore report, text
RESTORE_REPORT_JSON_CACHE_KEY = "dolphin.restore.report_json"  # the restore report, JSON
VENUE_RECONCILED_TOPIC = "dolphin.restore.venue_reconciled"  # VenueReconciled, after a late venue answer
OK = b"ok"

VenuePositions = Callable[[], dict[str, tuple[Decimal, Decimal]]]


class VenueUnavailable(Exception):
    """The venue's positions are unknown (query failed, timed out, or never reported)."""


def report_position_query(cache: Any, ok: bool, reason: str = "") -> None:
    """For exec clients: record whether the last venue position query succeeded."""
    cache.add(VENUE_POSITIONS_OK_KEY, OK if ok else f"failed: {reason or 'unknown'}".encode())


def cache_venue_positions(cache: Any, instrument_ids: Iterable[str]) -> VenuePositions:
    """The live `VenuePositions`: the open positions in the Nautilus cache, vouched for by the exec client."""
    from nautilus_trader.model.identifiers import InstrumentId

    ids = {iid: InstrumentId.from_str(iid) for iid in instrument_ids}

    def read() -> dict[str, tuple[Decimal, Decimal]]:
        status = cache.get(VENUE_POSITIONS_OK_KEY)
        if status is None:
            raise VenueUnavailable("the execution client has not reported a venue position query yet")
        if bytes(status) != OK:
            raise VenueUnavailable(f"last venue position query {bytes(status).decode(errors='replace')}")
        result = {}
        for iid, instrument_id in ids.items():
            positions = cache.positions_open(instrument_id=instrument_id)
            signed = sum((p.signed_decimal_qty() for p in positions), Decimal(0))
            if signed != 0:
                weights = sum((abs(p.signed_decimal_qty()) for p in positions), Decimal(0))
                avg = sum((abs(p.signed_decimal_qty()) * Decimal(repr(p.avg_px_open)) for p in positions),
                          Decimal(0)) / weights
                result[iid] = (signed, avg)
        return result

    return read


class VenueReconciled(msgspec.Struct, frozen=True, kw_only=True):
    """Published on VENUE_RECONCILED_TOPIC when the venue answers after a failed start-up query."""

    positions: dict[str, tuple[str, str]]  # every configured instrument: (signed qty, avg px) as text
    adopt: list[RestoredSlot]  # slots for venue positions no trade owns
    flatten: list[str]  # instrument ids to exit at once
    safe_mode: str  # remaining safe-mode reason; "" = entries allowed again
