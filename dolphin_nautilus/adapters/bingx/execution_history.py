"""The venue's own history for the back-fill (journal.backfill, actors.backfill): beside Nautilus's mass status
at start, and on request over the message bus (with the cancel of a previous life's working orders).
"""

from __future__ import annotations

import logging

from msgspec.structs import replace as msgspec_replace
from nautilus_trader.execution.reports import ExecutionMassStatus

from dolphin_nautilus.adapters.bingx.errors import BingXError
from dolphin_nautilus.adapters.bingx.execution_events import NS_PER_MS, BingXOrderEvents
from dolphin_nautilus.adapters.bingx.history import fetch_venue_history
from dolphin_nautilus.adapters.bingx.symbols import to_venue_symbol
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.journal.backfill import (
    VENUE_HISTORY_CACHE_KEY,
    VENUE_HISTORY_REPLY_TOPIC,
    VenueHistoryReply,
    VenueHistoryRequest,
    encode_reply,
)
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.exec")  # fault lines go to the node's JSON log with their code


class BingXVenueHistory(BingXOrderEvents):
    """The venue-history side of `BingXExecutionClient`."""

    async def generate_mass_status(self, lookback_mins: int | None = None) -> ExecutionMassStatus | None:
        """Nautilus's start-up reports, and beside them the venue's history over the same lookback (at most the
        venue's 7 days) in the cache, so the back-fill actor can write what the last life lost before restore
        runs. A failed history read leaves an error reply; it never fails the reconciliation."""
        mass_status = await super().generate_mass_status(lookback_mins)
        end_ms = self._clock.timestamp_ns() // NS_PER_MS
        lookback_ms = (lookback_mins or 7 * 24 * 60) * 60_000
        reply = await self._history_reply(0, end_ms, lookback_ms)
        self._cache.add(VENUE_HISTORY_CACHE_KEY, encode_reply(reply))
        return mass_status

    def _on_history_request(self, request: VenueHistoryRequest) -> None:
        self.create_task(self._serve_history(request), log_msg=f"bingx_history_{request.request_id}")

    async def _serve_history(self, request: VenueHistoryRequest) -> None:
        canceled, failed = [], []
        for working in request.cancel:
            try:
                await self._trade.cancel_order(
                    to_venue_symbol(working.instrument_id), client_order_id=working.client_order_id
                )
                canceled.append(working.client_order_id)
            except BingXError as exc:  # already filled or gone: the history read below says what it did
                failed.append(working.client_order_id)
                self._log.warning(f"cancel of previous life's {working.client_order_id} failed: {exc}")
        reply = await self._history_reply(request.request_id, request.end_ms, request.lookback_ms)
        self._msgbus.publish(
            VENUE_HISTORY_REPLY_TOPIC,
            msgspec_replace(reply, canceled=canceled, cancel_failed=failed),
        )

    async def _history_reply(self, request_id: int, end_ms: int, lookback_ms: int) -> VenueHistoryReply:
        instrument_ids = [i.id.value for i in self._instruments(None)]
        try:
            history = await fetch_venue_history(self._trade, instrument_ids, end_ms - lookback_ms, end_ms)
        except Exception as exc:  # noqa: BLE001 - any failure is reported to the back-fill, which retries
            log_event(
                log,
                logging.WARNING,
                "venue_read_failed",
                f"venue history read for the back-fill failed: {exc}",
                code=Code.VENUE_READ_FAILED,
            )
            return VenueHistoryReply(request_id=request_id, error=f"{type(exc).__name__}: {exc}")
        return VenueHistoryReply(request_id=request_id, history=history)
