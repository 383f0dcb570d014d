"""Reports of the BingX execution client for Nautilus's start-up and periodic reconciliation and its in-flight
checks: order status (one or many), fills, positions (with the venue verdict restore relies on).
"""

from __future__ import annotations

import logging

from nautilus_trader.execution.messages import (
    GenerateFillReports,
    GenerateOrderStatusReport,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
)
from nautilus_trader.execution.reports import FillReport, OrderStatusReport, PositionStatusReport
from nautilus_trader.model.identifiers import ClientOrderId

from dolphin_nautilus.adapters.bingx.errors import BingXError, BingXOrderNotFoundError
from dolphin_nautilus.adapters.bingx.execution_events import NS_PER_MS, BingXOrderEvents
from dolphin_nautilus.adapters.bingx.parsing import fill_to_report, order_to_status_report, position_to_report
from dolphin_nautilus.adapters.bingx.schemas.trade import BingXOrder
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id, to_venue_symbol
from dolphin_nautilus.contracts.venue import (
    VENUE_POSITIONS_VERDICT_CACHE_KEY,
    VenuePositionsVerdict,
    encode_venue_verdict,
)
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.exec")  # fault lines go to the node's JSON log with their code


class BingXExecutionReports(BingXOrderEvents):
    """The report queries of `BingXExecutionClient`."""

    def _coid_for(self, venue_client_id: str) -> ClientOrderId | None:
        if not venue_client_id:
            return None
        return self._coids.get(venue_client_id.lower(), ClientOrderId(venue_client_id.lower()))

    async def generate_order_status_report(self, command: GenerateOrderStatusReport) -> OrderStatusReport | None:
        """By client order id alone (the in-flight check has nothing else) or by venue order id."""
        instrument_id = command.instrument_id
        if instrument_id is None and command.client_order_id is not None:
            order = self._cache.order(command.client_order_id)
            instrument_id = order.instrument_id if order else None
        if instrument_id is None:
            log_event(
                log,
                logging.WARNING,
                "query_unknown_order",
                f"cannot query an order without its instrument: {command}",
                code=Code.UNKNOWN_CLIENT_ORDER,
            )
            return None
        instrument = self._cache.instrument(instrument_id)
        symbol = to_venue_symbol(instrument_id.value)
        try:
            if command.venue_order_id is not None:
                venue = await self._trade.query_order(symbol, order_id=int(command.venue_order_id.value))
            elif command.client_order_id is not None:
                venue = await self._trade.query_order(symbol, client_order_id=command.client_order_id.value)
            else:
                return None
        except BingXOrderNotFoundError:
            return None
        except BingXError as exc:
            log_event(
                log,
                logging.WARNING,
                "venue_read_failed",
                f"order status query failed: {exc}",
                code=Code.VENUE_READ_FAILED,
            )
            return None
        return order_to_status_report(
            venue,
            instrument,
            self.account_id,
            self._clock.timestamp_ns(),
            command.client_order_id or self._coid_for(venue.client_order_id),
        )

    async def generate_order_status_reports(self, command: GenerateOrderStatusReports) -> list[OrderStatusReport]:
        instruments = {i.id.value: i for i in self._instruments(command.instrument_id)}
        single = to_venue_symbol(command.instrument_id.value) if command.instrument_id is not None else None
        venue_orders: dict[int, BingXOrder] = {o.order_id: o for o in await self._trade.open_orders(single)}
        if not command.open_only:
            start_ms = self._window_start_ms(command.start)
            for iid in instruments:
                for venue in await self._trade.order_history(to_venue_symbol(iid), start_ms=start_ms, limit=500):
                    venue_orders.setdefault(venue.order_id, venue)
        ts = self._clock.timestamp_ns()
        reports = []
        for venue in venue_orders.values():
            instrument = instruments.get(to_instrument_id(venue.symbol))
            if instrument is None:
                continue
            reports.append(
                order_to_status_report(venue, instrument, self.account_id, ts, self._coid_for(venue.client_order_id))
            )
        return reports

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        start_ms = self._window_start_ms(command.start)
        end_ms = int(command.end.timestamp() * 1000) if command.end is not None else None
        if start_ms is not None and end_ms is None:
            end_ms = self._clock.timestamp_ns() // NS_PER_MS
        order_id = int(command.venue_order_id.value) if command.venue_order_id is not None else None
        ts = self._clock.timestamp_ns()
        reports = []
        for instrument in self._instruments(command.instrument_id):
            fills = await self._trade.fill_history(
                to_venue_symbol(instrument.id.value), order_id=order_id, start_ms=start_ms, end_ms=end_ms
            )
            for fill in fills:
                reports.append(
                    fill_to_report(fill, instrument, self.account_id, ts, self._coid_by_venue_id.get(fill.order_id))
                )
        return reports

    async def generate_position_status_reports(
        self,
        command: GeneratePositionStatusReports,
    ) -> list[PositionStatusReport]:
        """Every open position, and an explicit flat for each queried instrument without one."""
        instruments = self._instruments(command.instrument_id)
        single = to_venue_symbol(command.instrument_id.value) if command.instrument_id is not None else None
        try:
            positions = await self._account_api.positions(single)
        except Exception as exc:
            # Restore must never read a failed query as "flat": it stays in safe mode until this says ok.
            self._record_venue_verdict(ok=False, reason=f"{type(exc).__name__}: {exc}")
            raise
        if command.instrument_id is None:
            self._record_venue_verdict(ok=True)
        ts = self._clock.timestamp_ns()
        by_id = {i.id.value: i for i in instruments}
        reports = []
        for position in positions:
            instrument = by_id.pop(to_instrument_id(position.symbol), None)
            if instrument is None:
                if command.instrument_id is None:
                    log_event(
                        log,
                        logging.WARNING,
                        "unconfigured_position",
                        f"BingX position in {position.symbol} is not a loaded instrument; not reported",
                        code=Code.RESTORE_VENUE_UNKNOWN_INSTRUMENT,
                    )
                continue
            reports.append(position_to_report(position, instrument, self.account_id, ts))
        for instrument in by_id.values():
            reports.append(
                PositionStatusReport.create_flat(self.account_id, instrument.id, instrument.size_precision, ts)
            )
        return reports

    def _window_start_ms(self, start) -> int | None:
        """allOrders serves at most 7 days back; a longer lookback is clamped."""
        if start is None:
            return None
        floor = self._clock.timestamp_ns() // NS_PER_MS - 7 * 86_400_000 + 60_000
        return max(int(start.timestamp() * 1000), floor)

    def _record_venue_verdict(self, *, ok: bool, reason: str = "") -> None:
        """Vouch (or not) for the cache's positions as the venue's truth (contracts.venue)."""
        verdict = VenuePositionsVerdict(ok=ok, reason=reason, ts=self._clock.timestamp_ns())
        self._cache.add(VENUE_POSITIONS_VERDICT_CACHE_KEY, encode_venue_verdict(verdict))
