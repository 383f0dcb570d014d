"""Launchers: `dolphin-node` (live TradingNode, `launch.node`) and `dolphin-backtest` (`launch.backtest`)."""
