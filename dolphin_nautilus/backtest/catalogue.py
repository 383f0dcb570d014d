"""Contract specs for backtests, from the bundled snapshot of BingX's contract list (`contracts_snapshot`).

`spec_for` serves any USDT-M perpetual the snapshot lists; an unknown id is an `UnknownInstrument` naming the
nearest listed ids. `SAMPLE_START` seeds the sample data generator only.
"""

from __future__ import annotations

from dolphin_nautilus.backtest.contracts_snapshot import UnknownInstrument, load_contracts_snapshot
from dolphin_nautilus.domain.instruments import InstrumentSpec

# (start price, annualised volatility) for the sample generator.
SAMPLE_START: dict[str, tuple[float, float]] = {
    "BTC-USDT-PERP.BINGX": (64000.0, 0.55),
    "ETH-USDT-PERP.BINGX": (3100.0, 0.70),
    "SOL-USDT-PERP.BINGX": (145.0, 0.95),
    "DOGE-USDT-PERP.BINGX": (0.125, 1.10),
}

# The ids the sample, the benches and the tests use; their specs come from the snapshot like any other.
WELL_KNOWN_IDS = (*SAMPLE_START, "XRP-USDT-PERP.BINGX", "ATOM-USDT-PERP.BINGX")


def spec_for(instrument_id: str) -> InstrumentSpec:
    return load_contracts_snapshot().spec(instrument_id)


BINGX_SPECS: dict[str, InstrumentSpec] = {iid: spec_for(iid) for iid in WELL_KNOWN_IDS}

__all__ = ["BINGX_SPECS", "SAMPLE_START", "WELL_KNOWN_IDS", "UnknownInstrument", "spec_for"]
