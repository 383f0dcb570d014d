"""The venue's net position as the truth for size: reconciling a slot against the position the Nautilus cache
holds (the execution client keeps it current), the venue's late answer after a failed start-up query, and
exiting at once what restore or the operator asks to flatten.

A part of `DolphinStrategy` (strategy.py), built on `OrderSubmission`.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.data import BarType

from dolphin_nautilus.contracts.control import FLATTEN_REASON, FlattenRequest
from dolphin_nautilus.contracts.restore import VenueReconciled
from dolphin_nautilus.domain.signal_policy import TargetBoard
from dolphin_nautilus.strategy.order_submission import OrderSubmission


class NetPosition(OrderSubmission):
    """Reconcile and flatten against the venue's (one-way mode: one net) position per instrument."""

    # Set up by DolphinStrategy.__init__.
    _board: TargetBoard
    _bar_type_of: dict[str, BarType]
    _reconcile_tried: dict[str, int]  # instrument -> bars since the last reconcile attempt

    def _reconcile_with_venue(self, iid: str, ts: int) -> None:
        """The book is reconciling the instrument: apply the venue's position as the Nautilus cache holds it
        (one-way mode: one net position per instrument). Tried at once, then every `reconcile_retry_bars`
        bars while the venue position does not settle it (e.g. a venue position no trade owns)."""
        tried = self._reconcile_tried.get(iid)
        if tried is not None and tried < self.config.reconcile_retry_bars:
            self._reconcile_tried[iid] = tried + 1
            return
        signed, avg_px = self._venue_position(iid)
        self.diagnostics["venue_reconciles"] += 1  # a count, not a fault code
        self._act(self.book.resolve_reconcile(iid, signed, avg_px, ts))
        self._board.reopen(iid)  # the venue's position may differ from what the target asked: decide again
        if self.book.is_reconciling(iid):
            self._reconcile_tried[iid] = 0
        else:
            self._reconcile_tried.pop(iid, None)

    def _venue_position(self, iid: str) -> tuple[Decimal, Decimal]:
        signed, avg_px = Decimal(0), Decimal(0)
        for position in self.cache.positions_open(instrument_id=self._instrument_ids[iid]):
            qty = position.signed_decimal_qty()
            signed += qty
            if qty:
                avg_px = Decimal(str(position.avg_px_open))
        return signed, avg_px

    def _on_venue_reconciled(self, message: VenueReconciled) -> None:
        """The venue answered after a failed start-up query: the venue is the truth for size."""
        ts = self.clock.timestamp_ns()
        adopted = set()
        for snapshot in message.adopt:
            self._act(self.book.restore_slot(snapshot, ts=ts))
            adopted.add(snapshot.instrument_id)
        for iid, (qty, avg_px) in message.positions.items():
            if iid in adopted or (self.book.live_slot(iid) is None and Decimal(qty) == 0):
                continue
            self._act(self.book.begin_reconcile(iid, "venue answered after restore", ts))
            self._act(self.book.resolve_reconcile(iid, Decimal(qty), Decimal(avg_px), ts))
        self._flatten(message.flatten)
        if message.safe_mode:
            self.book.block_entries(message.safe_mode)
        else:
            self.book.allow_entries()
        self._publish_facts()

    def _flatten(self, instrument_ids: list[str]) -> None:
        """Exit at once the slots restore adopted from venue positions no trade owned (config: flatten)."""
        for iid in instrument_ids:
            slot = self.book.slot(iid)
            if slot is not None:
                self._act(
                    self.book.exit(iid, price=slot.entry_price, ts=self.clock.timestamp_ns(), reason="RESTORE_FLATTEN")
                )

    def _on_flatten_request(self, request: FlattenRequest) -> None:
        """The operator's `dolphin-ctl flatten --apply` (via the node-control actor): exit each live slot now,
        reduce-only, priced at the last bar close (the entry price before any bar)."""
        book, ts = self.book, self.clock.timestamp_ns()
        if book is None:
            return  # not started: nothing is held
        for iid in request.instrument_ids:
            slot = book.live_slot(iid)
            if slot is not None:
                bar = self.cache.bar(self._bar_type_of[iid])
                price = bar.close.as_decimal() if bar is not None else slot.entry_price
                self._act(book.exit(iid, price=price, ts=ts, reason=FLATTEN_REASON))
        self._publish_facts()
