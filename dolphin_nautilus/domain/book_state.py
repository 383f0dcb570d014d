"""The trade book's state and settings, shared by its transition modules (one object, no I/O, no clock).

`TradeBook` (book.py) is the facade; intents.py, order_transitions.py, fill_application.py,
slot_transitions.py and reconcile.py are functions over this state; book_facts.py shapes the rows it queues.
"""

from __future__ import annotations

from .facts import Fact
from .identifiers import MAX_EPOCH, check_client_order_prefix
from .instruments import InstrumentSpec
from .order_records import OrderRecord
from .slots import TradeSlot


class BookState:
    def __init__(
        self,
        specs: dict[str, InstrumentSpec],
        *,
        namespace: str,
        client_order_prefix: str,
        max_hold_bars: int,
        origin: str,
        snapshot_every_bars: int,
        unknown_outcome_timeout_ns: int,
        id_epoch: int = 0,
    ) -> None:
        check_client_order_prefix(client_order_prefix)
        if max_hold_bars < 1 or snapshot_every_bars < 0 or unknown_outcome_timeout_ns < 0:
            raise ValueError("max_hold_bars must be >= 1; snapshot_every_bars, unknown_outcome_timeout_ns >= 0")
        if not 0 <= id_epoch <= MAX_EPOCH:
            raise ValueError(f"id_epoch must be 0..{MAX_EPOCH}, got {id_epoch}")
        for key, spec in specs.items():
            if key != spec.instrument_id:
                raise ValueError(f"spec keyed {key!r} describes {spec.instrument_id!r}")
        self.namespace = namespace
        self.client_order_prefix = client_order_prefix
        # This life's start epoch, in every client order id it mints (identifiers.py): never a previous life's id.
        self.id_epoch = id_epoch
        self.max_hold_bars = max_hold_bars
        self.origin = origin
        # bars_held alone changing writes a snapshot every N bars (0: never), bounding how stale a restored
        # bars_held can be without a PositionState allocation on every bar.
        self.snapshot_every_bars = snapshot_every_bars
        # An order whose outcome stays unknown this long puts its slot into STALE_STATE_RECONCILING.
        self.unknown_outcome_timeout_ns = unknown_outcome_timeout_ns
        self.specs = dict(specs)
        self.live: dict[str, TradeSlot] = {}
        self.last: dict[str, TradeSlot] = {}  # the latest finished (CLOSED / IDLE) slot per instrument
        self.orders: dict[str, OrderRecord] = {}
        # The latest entry withdrawn because it was never placed (rate limited), per instrument: its record is
        # kept so late events for it are recognised, and forgotten with the next one (bounded memory).
        self.withdrawn_entry: dict[str, str] = {}
        # Orders of earlier trades that may still act at the venue (slot_transitions.retire_last), per instrument.
        self.lingering: dict[str, list[str]] = {}
        self.reconciling: dict[str, str] = {}  # instrument -> why it is blocked pending reconcile
        self.retry_not_before: dict[str, int] = {}  # instrument -> ts before which the venue asked us to wait
        self.entries_blocked = ""  # safe mode: non-empty reason blocks new entries
        self.facts: list[Fact] = []
        self.trade_counter = 0
