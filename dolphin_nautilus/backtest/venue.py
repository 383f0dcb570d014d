"""The simulated BINGX venue: NETTING, margin account, BingX maker/taker fees, and venue-side rejects.

The engine's portfolio analyzer keeps its per-trade records in lists (`portfolio_records.DeferredTradeRecords`),
as the live node's does.

BingX rejects orders for reasons a backtest never sees (risk limits, maintenance, "position being
liquidated"). To exercise the strategy's reject handling on the same code path as live, the simulated venue
can reject every n-th reduce-only (exit) order with a venue reason, exactly as the live adapter reports a
business reject: OrderSubmitted, then OrderRejected.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import FillModel, MakerTakerFeeModel
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import ClientId, Venue
from nautilus_trader.model.objects import Money

from dolphin_nautilus.portfolio_records import DeferredTradeRecords

BINGX_VENUE = Venue("BINGX")
# Says what it is: a reject the backtest injects on purpose (backtest.reject_exit_every), not a venue answer.
SIMULATED_REJECT_REASON = (
    "SIMULATED exit reject injected by the backtest (backtest.reject_exit_every) to exercise "
    "the strategy's reject handling; not a venue response"
)


class ExitRejecter:
    """Sits on the "ExecEngine.execute" endpoint and rejects every `every`-th exit (reduce-only) order the
    way a venue does, through the venue's own execution client; everything else passes through unchanged."""

    ENDPOINT = "ExecEngine.execute"

    def __init__(self, engine: BacktestEngine, every: int) -> None:
        self._exec_engine = engine.kernel.exec_engine
        # Nautilus has no public lookup of a registered execution client by its id.
        self._client = self._exec_engine._clients[ClientId(BINGX_VENUE.value)]  # noqa: SLF001
        self._clock = engine.kernel.clock
        self._every = every
        self._exit_orders_seen = 0
        self.rejected_exits = 0
        msgbus = engine.kernel.msgbus
        msgbus.deregister(self.ENDPOINT, self._exec_engine.execute)
        msgbus.register(self.ENDPOINT, self.execute)

    def execute(self, command) -> None:
        if isinstance(command, SubmitOrder) and command.order.is_reduce_only and self._should_reject():
            order, now = command.order, self._clock.timestamp_ns()
            self._client.generate_order_submitted(
                command.strategy_id, command.instrument_id, order.client_order_id, now
            )
            self._client.generate_order_rejected(
                command.strategy_id, command.instrument_id, order.client_order_id, SIMULATED_REJECT_REASON, now
            )
            self.rejected_exits += 1
            return
        self._exec_engine.execute(command)

    def _should_reject(self) -> bool:
        self._exit_orders_seen += 1
        return self._exit_orders_seen % self._every == 0


def add_bingx_venue(
    engine: BacktestEngine, *, starting_balance: Decimal, leverage: Decimal, reject_exit_every: int
) -> ExitRejecter | None:
    engine.add_venue(
        venue=BINGX_VENUE,
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        starting_balances=[Money(starting_balance, USDT)],
        base_currency=None,
        default_leverage=leverage,
        fill_model=FillModel(prob_fill_on_limit=1.0, prob_slippage=0.0, random_seed=1),
        fee_model=MakerTakerFeeModel(),
        use_reduce_only=True,
    )
    DeferredTradeRecords.adopt(engine.portfolio.analyzer)
    return ExitRejecter(engine, reject_exit_every) if reject_exit_every else None
