"""The node assembly: the TOML `Config` -> the Nautilus configs of the strategy and every actor, in one place.

Launchers (live node, backtest), benchmarks and tests build their components from these mappings, so a
setting means the same thing wherever the node runs.
"""

from __future__ import annotations

from pathlib import Path

from dolphin_nautilus.actors.restore import RestoreActorConfig
from dolphin_nautilus.config import Config
from dolphin_nautilus.strategy.strategy import DolphinStrategyConfig

LEGACY_LEDGER_FILE = "capital_update_ledger.json"  # a legacy deployment's capital ledger, dropped in the state dir


def strategy_config(config: Config, *, seed_restored: bool, trade_from_ns: int = 0,
                    snapshot_every_bars: int | None = None) -> DolphinStrategyConfig:
    s, ref = config.strategy, config.strategy.reference
    extra = {} if snapshot_every_bars is None else {"snapshot_every_bars": snapshot_every_bars}
    return DolphinStrategyConfig(
        strategy_id="DolphinStrategy",
        order_id_tag=config.node.namespace.upper(),
        instrument_ids=list(s.instruments),
        namespace=config.node.namespace,
        client_order_prefix=config.node.client_order_prefix,
        bar_minutes=s.bar_minutes,
        trade_notional_usdt=str(s.trade_notional_usdt),
        max_hold_bars=s.max_hold_bars,
        signal_source=s.signal_source,
        fast_bars=ref.fast_bars,
        slow_bars=ref.slow_bars,
        full_exposure_spread=ref.full_exposure_spread,
        emit_step=ref.emit_step,
        enter_above=ref.enter_above,
        retract_step=ref.retract_step,
        min_hold_bars=ref.min_hold_bars,
        rate_limit_cooldown_s=s.rate_limit_cooldown_s,
        persistent_rate_limit_count=s.persistent_rate_limit_count,
        external_order_claims=[*s.instruments],
        seed_restored_positions=seed_restored,
        trade_from_ns=trade_from_ns,
        log_events=False,  # every event is journaled as a fact; logging each one again costs throughput
        log_commands=False,
        **extra,
    )


def restore_actor_config(config: Config, state_dir: str | Path, **overrides: object) -> RestoreActorConfig:
    r = config.restore
    values: dict[str, object] = dict(
        component_id="RestoreActor", namespace=config.node.namespace,
        instrument_ids=list(config.strategy.instruments), max_bars_held=config.strategy.max_hold_bars,
        timeout_s=r.timeout_s, restart_window_s=r.restart_window_s, restart_max=r.restart_max,
        unclaimed_venue_position=r.unclaimed_venue_position, legacy_database=r.legacy_database,
        legacy_table=r.legacy_table, state_dir=str(state_dir),
    )
    ledger = Path(state_dir) / LEGACY_LEDGER_FILE
    if ledger.exists():
        values["capital_ledger_path"] = str(ledger)
    values.update(overrides)
    return RestoreActorConfig(**values)
