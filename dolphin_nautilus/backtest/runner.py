"""Assemble and run one backtest: simulated BINGX venue, bars, restore actor, strategy, journal.

The strategy, restore actor and journal actor are the same classes the live node runs; only the venue
(simulated) and the stores (embedded, in the run folder unless told otherwise) differ.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.identifiers import TraderId

from dolphin_nautilus.adapters.bingx.parsing import spec_to_perpetual
from dolphin_nautilus.backtest.facts_export import RunFacts
from dolphin_nautilus.backtest.inputs import RunInputs, prepare_inputs
from dolphin_nautilus.backtest.progress import ProgressActor, ProgressActorConfig
from dolphin_nautilus.backtest.report import RunSummary, collect_engine_outputs, render, summarize, write_reports
from dolphin_nautilus.backtest.venue import BINGX_VENUE, add_bingx_venue
from dolphin_nautilus.config import Config
from dolphin_nautilus.journal.actor import JournalActor, JournalActorConfig
from dolphin_nautilus.node.stores import Stores
from dolphin_nautilus.restore.actor import RestoreActor, RestoreActorConfig
from dolphin_nautilus.strategy.strategy import DolphinStrategy, DolphinStrategyConfig


def new_run_dir(config: Config, label: str = "") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(config.node.output_dir)
    if not base.is_absolute():
        base = Path(config.source).resolve().parent.parent / base if config.source else base.resolve()
    run_dir = base / f"{config.node.environment}-{config.node.namespace}-{stamp}{label}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = run_dir.with_name(f"{run_dir.name.rsplit('~', 1)[0]}~{suffix}")
    run_dir.mkdir(parents=True)
    return run_dir


def strategy_config(config: Config, *, seed_restored: bool, trade_from_ns: int = 0) -> DolphinStrategyConfig:
    s, ref = config.strategy, config.strategy.reference
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
    )


class BacktestRun(msgspec.Struct, kw_only=True):
    summary: RunSummary
    run_dir: Path
    strategy: object
    tally: object


def run_backtest(
    config: Config,
    *,
    data: str | None = None,
    run_dir: Path | None = None,
    stores: Stores,
    until_ns: int | None = None,
    log: Callable[[str], None] = print,
    extra_actors: list | None = None,
    trade_from_ns: int = 0,
    venue_positions=None,
    inputs: RunInputs | None = None,
    html_report: bool = True,
) -> BacktestRun:
    """Run a backtest journaling into `stores`; `until_ns` stops the run early (a split run stops there
    and a second run restarts from the same stores). The RestoreActor restores from `stores` first.
    `trade_from_ns`: earlier bars only warm up the signal models (the second half of a split run).
    `venue_positions`: venue truth for restore (tests of the live rules); None seeds restored positions."""
    # `inputs`: checked before the run folder and stores exist (the CLI does that); bars end at `until_ns`.
    inputs = inputs or prepare_inputs(config, data=data, until_ns=until_ns)
    run_dir = run_dir or new_run_dir(config)
    specs, bars = inputs.specs, inputs.loaded.bars
    all_bars = [bar for series in bars.values() for bar in series]
    start_ns, end_ns = inputs.loaded.first_close_ns, inputs.loaded.last_close_ns

    engine = BacktestEngine(BacktestEngineConfig(
        trader_id=TraderId(config.node.trader_id),
        run_analysis=False,  # Nautilus's post-run statistics cost ~15 ms per position; we summarize ourselves
        logging=LoggingConfig(log_level=config.node.log_level, log_directory=str(run_dir),
                              log_file_name="nautilus", log_level_file="INFO"),
    ))
    rejecter = add_bingx_venue(engine, starting_balance=config.backtest.starting_balance_usdt,
                               leverage=config.backtest.leverage,
                               reject_exit_every=config.backtest.reject_exit_every)
    for spec in specs.values():
        engine.add_instrument(spec_to_perpetual(spec))
    engine.add_data(all_bars, validate=False, sort=True)

    tally = RunFacts()
    engine.add_actor(JournalActor(JournalActorConfig(component_id="JournalActor"), stores.journal,
                                  observers=(tally,)))
    restore_config = RestoreActorConfig.from_config(config, getattr(stores, "state_dir", run_dir))
    engine.add_actor(RestoreActor(restore_config, stores, specs, venue_positions=venue_positions))
    for actor in extra_actors or []:
        engine.add_actor(actor)
    strategy = DolphinStrategy(strategy_config(config, seed_restored=venue_positions is None,
                                               trade_from_ns=trade_from_ns), specs)
    if config.backtest.progress:
        engine.add_actor(ProgressActor(
            ProgressActorConfig(component_id="ProgressActor", start_ns=start_ns, end_ns=end_ns),
            stats=lambda: f"trades {len(tally.trades)}  open {len(strategy.book.open_slots())}"))
    engine.add_strategy(strategy)

    log(f"dolphin backtest: {len(all_bars):,} bars of {len(specs)} instruments -> {run_dir}")
    started = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - started
    journal_stats = _journal_figures(stores)
    outputs = collect_engine_outputs(engine, specs)
    summary, equity = summarize(
        facts=tally, outputs=outputs, diagnostics=strategy.diagnostics, journal=journal_stats, bars=len(all_bars),
        instruments=sorted(specs), start_ns=start_ns, end_ns=end_ns,
        starting_balance=config.backtest.starting_balance_usdt, leverage=config.backtest.leverage,
        wall_seconds=wall, run_dir=run_dir, data=inputs.loaded.report,
        contracts=f"{inputs.snapshot_path} (taken {inputs.snapshot_taken_at})",
        simulated_exit_rejects=rejecter.rejected_exits if rejecter is not None else 0,
    )
    write_reports(run_dir, summary=summary, facts=tally, outputs=outputs, equity=equity, specs=specs,
                  html=html_report)
    engine.dispose()
    log(render(summary))
    return BacktestRun(summary=summary, run_dir=run_dir, strategy=strategy, tally=tally)


def _journal_figures(stores: Stores) -> dict[str, int]:
    """Flush the journal and read back what ClickHouse holds, so the summary shows persisted rows."""
    flushed = stores.journal.flush(120.0)
    status = stores.journal.status()
    figures = {"appended": status.appended, "written": status.written, "spooled": status.spooled,
               "quarantined": status.quarantined, "flushed": int(flushed)}
    for table in ("trades", "trade_exit_legs", "position_state", "fills", "orders", "anomalies"):
        figures[f"ch_{table}"] = stores.clickhouse.count(table)
    return figures


__all__ = ["run_backtest", "new_run_dir", "strategy_config", "BacktestRun", "BINGX_VENUE"]
