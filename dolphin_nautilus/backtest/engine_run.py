"""How a backtest engine is configured and run, shared by the backtest runner and the benchmark's bare engine,
so the benchmark's baseline pays exactly the engine costs the full stack pays.

Engine settings that change nothing the backtest reports (issue 16, measured with `bench.backtest`; the sample
digest test holds trades, legs, fills, account states and PnL to the committed ones):
- `run_analysis=False`: Nautilus's post-run statistics cost ~15 ms per position; the report computes its own.
- `PortfolioConfig(bar_updates=False)`: the portfolio subscribes to every external bar only to keep a bar close
  per instrument for unrealized PnL and exposure, which nothing here reads (margins use fills and positions;
  the report marks open positions at the last bar itself). That subscription is ~20 % of the per-bar cost.

`run_engine` runs it with the garbage collector's view of the loaded data frozen (every bar, instrument and
component built before the run is moved out of the generations a collection scans: collections during the run
only look at what the run allocates) and a longer GIL switch interval (the journal's sender thread still gets
the GIL whenever the engine thread releases it, but is no longer handed it every 5 ms mid-bar).
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass
from typing import Any

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import PortfolioConfig

RUN_SWITCH_INTERVAL_S = 0.05


def engine_settings() -> dict[str, Any]:
    """BacktestEngineConfig keyword arguments every backtest engine here shares (see the module docstring)."""
    return {"run_analysis": False, "portfolio": PortfolioConfig(bar_updates=False)}


@dataclass(frozen=True)
class EngineRunTimes:
    wall_s: float
    cpu_s: float  # this process's CPU time during the run: the figure a shared, loaded machine disturbs least


def run_engine(engine: BacktestEngine) -> EngineRunTimes:
    """`engine.run()` with the setup frozen for the collector and a longer switch interval; both are undone
    after the run."""
    gc.collect()
    gc.freeze()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(RUN_SWITCH_INTERVAL_S)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        engine.run()
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        sys.setswitchinterval(interval)
        gc.unfreeze()
    return EngineRunTimes(wall_s=wall, cpu_s=cpu)
