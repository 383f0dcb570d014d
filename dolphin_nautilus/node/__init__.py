"""Node launchers (live TradingNode) and the store wiring shared by backtests and live nodes."""
