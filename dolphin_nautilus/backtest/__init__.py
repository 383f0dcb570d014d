"""Backtest launcher: a Nautilus BacktestEngine with a simulated BINGX venue and the full dolphin stack."""
