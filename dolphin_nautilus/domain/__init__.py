"""Pure domain core: trade slots, the retract policy, diagnostics and the facts they emit.

No I/O and no Nautilus imports here: the strategy adapts Nautilus events to these types.
"""

from .book import CancelRequest, Decision, OrderRequest, TradeBook, coid_token, trade_id_for
from .diagnostics import GUIDANCE, Code, Guidance, Outcome, Severity, guidance_table, outcome
from .instruments import InstrumentSpec
from .policy import ExitPlan, is_effectively_zero, plan_exit
from .slots import (
    FillLedger,
    LedgerEntry,
    LedgerKind,
    Leg,
    OrderRecord,
    OrderSide,
    OrderStatus,
    Purpose,
    RestoredSlot,
    Side,
    SlotState,
    TradeSlot,
)

__all__ = [
    "GUIDANCE",
    "CancelRequest",
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
    "OrderRequest",
    "OrderSide",
    "OrderStatus",
    "Outcome",
    "Purpose",
    "RestoredSlot",
    "Severity",
    "Side",
    "SlotState",
    "TradeBook",
    "TradeSlot",
    "coid_token",
    "guidance_table",
    "is_effectively_zero",
    "outcome",
    "plan_exit",
    "trade_id_for",
]
