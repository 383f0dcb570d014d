"""The node assembly: TOML config -> Nautilus configs (`assembly`), and the store wiring shared by backtests
and live nodes (`stores`, `signal_map`)."""
