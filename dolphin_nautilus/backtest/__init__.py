"""The backtest's simulated pieces: the BINGX venue, its contract catalogue, bar loading, reports, progress.
The runner is `dolphin_nautilus.launch.backtest_run`; `dolphin-backtest` is `dolphin_nautilus.launch.backtest`."""
