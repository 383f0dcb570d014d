"""What the restore actor hands the strategy: restored slots, safe mode, instruments to flatten, reports.

- On start the restore actor writes one `RestoreHandover` under `RESTORE_HANDOVER_CACHE_KEY` (actors start
  before strategies, so the strategy reads it in its own on_start); it re-writes it whenever safe mode changes,
  so status readers (the node-control actor) always see the current one.
- When the venue answers after a failed start-up query, the restore actor publishes `VenueReconciled` on
  `VENUE_RECONCILED_TOPIC` for the running strategy.
- The human-readable and JSON restore reports go under the two report keys (for the node's status file).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

RESTORE_HANDOVER_CACHE_KEY = "dolphin.restore.handover"
RESTORE_REPORT_TEXT_CACHE_KEY = "dolphin.restore.report"
RESTORE_REPORT_JSON_CACHE_KEY = "dolphin.restore.report_json"
VENUE_RECONCILED_TOPIC = "dolphin.restore.venue_reconciled"


class RestoredFill(msgspec.Struct, frozen=True, kw_only=True):
    """One persisted fill of a restored trade (a `fills` row; for an exit, joined with its `trade_exit_legs` row).

    `kind`: ENTRY or EXIT. `key` is the venue trade id (a fill seen again after the restart is recognised).
    For an exit, `quantity` is the applied size, `realized_pnl` the leg's PnL gross of fees, `reason` its reason.
    """

    key: str
    kind: str  # ENTRY | EXIT
    quantity: Decimal
    price: Decimal
    fee: Decimal
    ts: int
    client_order_id: str = ""
    realized_pnl: Decimal = Decimal(0)
    reason: str = ""


class RestoredSlot(msgspec.Struct, frozen=True, kw_only=True):
    """A validated open trade, to be re-established by `TradeBook.restore_slot`.

    `quantity` is the remaining size; `entry_quantity` the trade's original size (None when unknown: the
    book then takes `quantity`); `legs` the number of legs already filled; `order_seq` the highest client
    order sequence any source recorded (client order ids never repeat); `seq` the last PositionState seq
    written for the trade (None for legacy records). `notional`, `source` and `ts` say where the record
    came from (restore reports); the book does not use them. `fills`: the trade's persisted fills, when they
    fold to this snapshot: the book rebuilds its ledger from them, so legs, fees, entry price and PnL continue
    exactly; empty: the book restores from the snapshot's totals.
    """

    trade_id: str
    instrument_id: str
    side: str  # LONG | SHORT
    quantity: Decimal
    entry_price: Decimal
    bars_held: int
    realized_pnl: Decimal
    fees: Decimal
    legs: int
    opened_ts: int
    order_seq: int
    seq: int | None = None
    entry_quantity: Decimal | None = None
    notional: Decimal | None = None
    source: str = ""
    ts: int | None = None
    fills: list[RestoredFill] = []

    def slot_fields(self) -> dict[str, Any]:
        """The trade's own fields, provenance (notional, source, seq, ts, entry_quantity) left out."""
        return {name: getattr(self, name) for name in RESTORED_TRADE_FIELDS}


RESTORED_TRADE_FIELDS = (
    "trade_id",
    "instrument_id",
    "side",
    "quantity",
    "entry_price",
    "bars_held",
    "realized_pnl",
    "fees",
    "legs",
    "opened_ts",
    "order_seq",
)


class RestoreHandover(msgspec.Struct, frozen=True, kw_only=True):
    slots: list[RestoredSlot]
    safe_mode: str  # non-empty: the reason entries are blocked (exits only)
    flatten: list[str]  # instrument ids whose (adopted) slot the strategy exits at once


class VenueReconciled(msgspec.Struct, frozen=True, kw_only=True):
    """Published on VENUE_RECONCILED_TOPIC when the venue answers after a failed start-up query."""

    positions: dict[str, tuple[str, str]]  # every configured instrument: (signed qty, avg px) as text
    adopt: list[RestoredSlot]  # slots for venue positions no trade owns
    flatten: list[str]  # instrument ids to exit at once
    safe_mode: str  # remaining safe-mode reason; "" = entries allowed again


_encoder = msgspec.json.Encoder()
_handover_decoder = msgspec.json.Decoder(RestoreHandover)


def encode_handover(handover: RestoreHandover) -> bytes:
    return _encoder.encode(handover)


def decode_handover(data: bytes) -> RestoreHandover:
    return _handover_decoder.decode(data)
