"""Pure domain core: trade slots, the retract policy, diagnostics and the facts they emit.

No I/O and no Nautilus imports here: the strategy adapts Nautilus events to these types.
"""

from .book import TradeBook
from .decisions import OK_DECISION, CancelToSend, Decision, OrderToSend
from .diagnostics import GUIDANCE, BookOutcome, Code, Guidance, Severity, book_outcome, guidance_table
from .identifiers import coid_token, trade_id_for
from .instruments import InstrumentSpec
from .order_records import OrderRecord, OrderSide, OrderStatus, Purpose
from .policy import ExitPlan, is_effectively_zero, plan_exit
from .restored import RestoredSlot, restored_slot_problems
from .slots import FillLedger, LedgerEntry, LedgerKind, Leg, Side, SlotState, TradeSlot

__all__ = [
    "GUIDANCE",
    "OK_DECISION",
    "BookOutcome",
    "CancelToSend",
    "Code",
    "Decision",
    "ExitPlan",
    "FillLedger",
    "Guidance",
    "InstrumentSpec",
    "LedgerEntry",
    "LedgerKind",
    "Leg",
    "OrderRecord",
    "OrderSide",
    "OrderStatus",
    "OrderToSend",
    "Purpose",
    "RestoredSlot",
    "Severity",
    "Side",
    "SlotState",
    "TradeBook",
    "TradeSlot",
    "book_outcome",
    "coid_token",
    "guidance_table",
    "is_effectively_zero",
    "plan_exit",
    "restored_slot_problems",
    "trade_id_for",
]
