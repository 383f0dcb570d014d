"""Generate the committed backtest sample: 1-minute bars for several BingX-like perpetuals.

    .venv/bin/python backtests/generate_sample.py            # writes backtests/data/sample_1m.parquet

Deterministic (seed 20261121): the same file on every machine. Prices follow a regime-switching geometric
Brownian motion: every regime lasts 2-18 hours with its own drift (trend up, trend down or range) so a trend
signal has something to find and also gets whipsawed; volatility clusters (a slow random walk of the vol
multiplier); bars get realistic high/low excursions and volume that rises with the absolute return. Prices are
truncated to the instrument's price precision. Columns: instrument_id, timestamp (UTC, bar OPEN time), open,
high, low, close, volume.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS, SAMPLE_START

SEED = 20261121
START = pd.Timestamp("2026-09-01T00:00:00Z")
DAYS = 30
MINUTES_PER_YEAR = 365 * 24 * 60


def generate(days: int = DAYS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * 24 * 60
    stamps = pd.date_range(START, periods=n, freq="1min")
    frames = []
    for instrument_id, (start_price, annual_vol) in SAMPLE_START.items():
        sigma = annual_vol / np.sqrt(MINUTES_PER_YEAR)
        drift = _regime_drift(rng, n, sigma)
        vol_mult = np.exp(np.cumsum(rng.normal(0, 0.02, n)) * 0.5)
        vol_mult = np.clip(vol_mult / vol_mult.mean(), 0.4, 2.5)
        returns = drift + sigma * vol_mult * rng.standard_t(df=5, size=n) * np.sqrt(3 / 5)
        close = start_price * np.exp(np.cumsum(returns))
        open_ = np.concatenate([[start_price], close[:-1]])
        excursion = np.abs(rng.normal(0, sigma * vol_mult * 0.6, (2, n)))
        high = np.maximum(open_, close) * (1 + excursion[0])
        low = np.minimum(open_, close) * (1 - excursion[1])
        volume = rng.gamma(2.0, 50.0, n) * (1 + 400 * np.abs(returns)) * 1000 / start_price
        decimals = BINGX_SPECS[instrument_id].price_precision
        frames.append(pd.DataFrame({
            "instrument_id": instrument_id,
            "timestamp": stamps,
            "open": _truncate(open_, decimals),
            "high": _truncate(high, decimals),
            "low": _truncate(low, decimals),
            "close": _truncate(close, decimals),
            "volume": np.round(volume, 3),
        }))
    df = pd.concat(frames, ignore_index=True)
    # Truncation can push open/close a tick outside high/low: restore the OHLC invariant.
    df["high"] = df[["open", "high", "close"]].max(axis=1)
    df["low"] = df[["open", "low", "close"]].min(axis=1)
    return df


def _regime_drift(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    drift = np.empty(n)
    i = 0
    while i < n:
        length = int(rng.integers(120, 18 * 60))
        kind = rng.choice(["up", "down", "range"], p=[0.35, 0.35, 0.30])
        per_minute = {"up": 0.08, "down": -0.08, "range": 0.0}[kind] * sigma
        drift[i : i + length] = per_minute
        i += length
    return drift


def _truncate(values: np.ndarray, decimals: int) -> np.ndarray:
    factor = 10.0 ** decimals
    return np.floor(values * factor) / factor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).parent / "data" / "sample_1m.parquet"))
    parser.add_argument("--days", type=int, default=DAYS)
    args = parser.parse_args()
    df = generate(args.days)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(args.out, index=False, compression="zstd")
    print(f"wrote {len(df):,} bars for {df.instrument_id.nunique()} instruments to {args.out}")


if __name__ == "__main__":
    main()
