"""One back-fill round (flush, read ClickHouse, append what it lacks, flush) and how the back-fill actor and
the execution client meet (in-process message bus and cache). The plan itself (row ids, what is written when)
is `journal.backfill_plan`; the ClickHouse reads and the lost-facts check are `journal.backfill_reads`; the
venue's rows are `journal.venue_history` (docs/design.md §11)."""

from __future__ import annotations

from typing import Protocol

import msgspec

from dolphin_nautilus.domain.facts import Fact
from dolphin_nautilus.domain.identifiers import parse_client_order_id
from dolphin_nautilus.journal.backfill_plan import BackfillPlan, plan_backfill
from dolphin_nautilus.journal.backfill_reads import Reader, read_stored
from dolphin_nautilus.journal.venue_history import Precision, VenueHistory


class FactJournal(Protocol):
    def append(self, fact: Fact) -> None: ...
    def flush(self, timeout: float | None = None) -> bool: ...


class BackfillDeferred(Exception):
    """The journal has facts not yet in ClickHouse: reading ClickHouse now could take a fact on its way there
    for a lost one, so the round is skipped (the next one runs when the journal has caught up)."""


def run_backfill(
    history: VenueHistory,
    reader: Reader,
    journal: FactJournal,
    *,
    namespace: str,
    prefix: str,
    precisions: dict[str, Precision],
    flush_timeout_s: float = 30.0,
) -> BackfillPlan:
    """Flush the journal, read what ClickHouse holds, append what it lacks, flush again. Raises BackfillDeferred
    when the journal cannot reach ClickHouse first."""
    if not journal.flush(flush_timeout_s):
        raise BackfillDeferred(f"journal not in ClickHouse within {flush_timeout_s}s")
    plan = plan_backfill(history, read_stored(reader, namespace, history, prefix), prefix=prefix, precisions=precisions)
    for fact in plan.facts:
        journal.append(fact)
    if plan.facts and not journal.flush(flush_timeout_s):
        raise BackfillDeferred(f"back-filled facts not in ClickHouse within {flush_timeout_s}s (safe in the WAL)")
    return plan


# ---- how the back-fill actor and the execution client meet (in-process message bus and cache) -----------
VENUE_HISTORY_CACHE_KEY = "dolphin.venue_history.startup"  # msgpack VenueHistoryReply, from start-up reconciliation
VENUE_HISTORY_REQUEST_TOPIC = "dolphin.venue_history.request"
VENUE_HISTORY_REPLY_TOPIC = "dolphin.venue_history.reply"


class WorkingOrder(msgspec.Struct, frozen=True):
    client_order_id: str
    instrument_id: str


class VenueHistoryRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Ask the execution client for the venue's history over (end_ms - lookback_ms, end_ms], after cancelling
    `cancel` (a previous life's orders still working at the venue: see docs/design.md)."""

    request_id: int
    end_ms: int
    lookback_ms: int
    cancel: list[WorkingOrder] = []


class VenueHistoryReply(msgspec.Struct, frozen=True, kw_only=True):
    request_id: int  # 0: the start-up read made during Nautilus's reconciliation
    history: VenueHistory | None = None
    error: str = ""
    canceled: list[str] = []  # client order ids the venue confirmed cancelled
    cancel_failed: list[str] = []


_reply_encoder = msgspec.msgpack.Encoder()
_reply_decoder = msgspec.msgpack.Decoder(VenueHistoryReply)


def encode_reply(reply: VenueHistoryReply) -> bytes:
    return _reply_encoder.encode(reply)


def decode_reply(raw: bytes) -> VenueHistoryReply:
    return _reply_decoder.decode(raw)


def previous_life_orders(history: VenueHistory, prefix: str, epoch: int) -> list[WorkingOrder]:
    """Our orders still working at the venue that a life before `epoch` minted (the rule: cancel them)."""
    working = {"NEW", "PENDING", "PARTIALLY_FILLED"}
    out = []
    for order in history.orders:
        parsed = parse_client_order_id(order.client_order_id, prefix)
        if parsed is not None and parsed.epoch < epoch and order.status.upper() in working:
            out.append(WorkingOrder(order.client_order_id, order.instrument_id))
    return out
