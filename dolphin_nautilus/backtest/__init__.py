"""The backtest's simulated pieces: the BINGX venue, its contract catalogue, bar loading, reports, progress.
The runner and `dolphin-backtest` are in `dolphin_nautilus.launch.backtest`."""
