"""Backtest fixtures: small bar files this suite writes itself (never the shared real-candle folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def candles(
    n: int,
    *,
    minutes: int = 1,
    start: str = "2026-01-05T00:00:00Z",
    price: float = 1.2,
    seed: int = 3,
    decimals: int = 4,
) -> pd.DataFrame:
    """A seeded random walk of `n` OHLCV bars (open times), prices rounded to `decimals`."""
    rng = np.random.default_rng(seed)
    close = price * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate([[price], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range(pd.Timestamp(start), periods=n, freq=f"{minutes}min"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.gamma(2.0, 50.0, n),
        }
    )
    for column in ("open", "high", "low", "close"):
        frame[column] = frame[column].round(decimals)
    frame["high"] = frame[["open", "high", "close"]].max(axis=1)
    frame["low"] = frame[["open", "low", "close"]].min(axis=1)
    return frame


def write_config(path: Path, *, instruments: list[str], bar_minutes: int = 1, extra: str = "") -> Path:
    path.write_text(
        f"""
[node]
environment = "backtest"
namespace = "btest"
log_level = "ERROR"
output_dir = "{path.parent / "runs"}"
[strategy]
instruments = {instruments!r}
bar_minutes = {bar_minutes}
trade_notional_usdt = "250"
[strategy.reference]
fast_bars = 10
slow_bars = 40
min_hold_bars = 3
[backtest]
progress = false
{extra}
""".replace("'", '"')
    )
    return path


@pytest.fixture
def xrp_csv(tmp_path: Path) -> Path:
    path = tmp_path / "xrp_5m.csv"
    frame = candles(600, minutes=5)
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.to_csv(path, index=False)
    return path
