"""The ONE node assembly: TOML `Config` -> the Nautilus configs of the strategy and every actor, and the
BacktestEngine (with the simulated BINGX venue) or the live TradingNode built from them.

The strategy and the actors take only their Nautilus config, given here as importable configs (plain values,
`ImportableStrategyConfig` / `ImportableActorConfig`), so Nautilus builds them itself. What they need beyond
plain values, the open stores and the live signal map, the assembly registers in `dolphin_nautilus.resources`
under the namespace their configs name; instrument specs they take from the Nautilus cache.

Users: the `dolphin-node` and `dolphin-backtest` launchers, the benchmarks and the tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.config import (
    ImportableActorConfig,
    ImportableStrategyConfig,
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.actors.backfill import BackfillActor, BackfillActorConfig
from dolphin_nautilus.actors.control import NodeControlActor, NodeControlActorConfig
from dolphin_nautilus.actors.faults import FaultLogActor, FaultLogActorConfig
from dolphin_nautilus.actors.journal import JournalActor, JournalActorConfig
from dolphin_nautilus.actors.restore import RestoreActor, RestoreActorConfig
from dolphin_nautilus.actors.signals import LiveStateSignalActor, LiveStateSignalActorConfig
from dolphin_nautilus.actors.trade_log import TradeLogActor, TradeLogActorConfig
from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.urls import BingXUrls, urls_for
from dolphin_nautilus.adapters.bingx.config import BingXDataClientConfig, BingXExecClientConfig
from dolphin_nautilus.adapters.bingx.factories import bingx_client_factories
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.market import BingXMarketHttpAPI
from dolphin_nautilus.adapters.bingx.parsing import contract_to_spec, spec_to_perpetual
from dolphin_nautilus.backtest.catalogue import spec_for
from dolphin_nautilus.backtest.engine_run import engine_settings
from dolphin_nautilus.backtest.progress import ProgressActor, ProgressActorConfig
from dolphin_nautilus.backtest.venue import ExitRejecter, add_bingx_venue
from dolphin_nautilus.config import Config
from dolphin_nautilus.domain.instruments import InstrumentSpec
from dolphin_nautilus.portfolio_records import DeferredTradeRecords
from dolphin_nautilus.strategy.strategy import DolphinStrategy, DolphinStrategyConfig

LEGACY_LEDGER_FILE = "capital_update_ledger.json"  # a legacy deployment's capital ledger, dropped in the state dir
BINGX = "BINGX"


# ---------------------------------------------------------------------------------- TOML -> Nautilus configs
def strategy_config(
    config: Config,
    *,
    seed_restored: bool,
    trade_from_ns: int = 0,
    snapshot_every_bars: int | None = None,
    position_per_trade: bool = False,
) -> DolphinStrategyConfig:
    """`position_per_trade` (the backtest): a HEDGING strategy OMS, each trade its own Nautilus position on the
    NETTING venue (see `DolphinStrategy._position_of_trade`; the same fills, fees and balances)."""
    s, ref = config.strategy, config.strategy.reference
    extra: dict[str, Any] = {} if snapshot_every_bars is None else {"snapshot_every_bars": snapshot_every_bars}
    if position_per_trade:
        extra["oms_type"] = "HEDGING"
    return DolphinStrategyConfig(
        order_id_tag=config.node.namespace.upper(),  # strategy id: DolphinStrategy-<NAMESPACE>
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
        unknown_outcome_timeout_s=s.unknown_outcome_timeout_s,
        external_order_claims=[*s.instruments],
        seed_restored_positions=seed_restored,
        trade_from_ns=trade_from_ns,
        log_events=False,  # every event is journaled as a fact; logging each one again costs throughput
        log_commands=False,
        **extra,
    )


def restore_actor_config(config: Config, state_dir: str | Path, **overrides: Any) -> RestoreActorConfig:
    r = config.restore
    values: dict[str, Any] = dict(
        component_id="RestoreActor",
        namespace=config.node.namespace,
        instrument_ids=list(config.strategy.instruments),
        max_bars_held=config.strategy.max_hold_bars,
        timeout_s=r.timeout_s,
        restart_window_s=r.restart_window_s,
        restart_max=r.restart_max,
        unclaimed_venue_position=r.unclaimed_venue_position,
        legacy_database=r.legacy_database,
        legacy_table=r.legacy_table,
        state_dir=str(state_dir),
    )
    ledger = Path(state_dir) / LEGACY_LEDGER_FILE
    if ledger.exists():
        values["capital_ledger_path"] = str(ledger)
    values.update(overrides)
    return RestoreActorConfig(**values)


def importable_actor(actor_cls: type[Actor], config: ActorConfig) -> ImportableActorConfig:
    return ImportableActorConfig(
        actor_path=_path_of(actor_cls), config_path=_path_of(type(config)), config=config.json_primitives()
    )


def importable_strategy(strategy_cls: type[Strategy], config: StrategyConfig) -> ImportableStrategyConfig:
    return ImportableStrategyConfig(
        strategy_path=_path_of(strategy_cls), config_path=_path_of(type(config)), config=config.json_primitives()
    )


def _path_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def node_components(
    config: Config,
    state_dir: Path,
    *,
    live: bool,
    trade_from_ns: int = 0,
    without_restore: bool = False,
    identity: dict[str, str] | None = None,
    progress_window: tuple[int, int] | None = None,
) -> tuple[list[ImportableActorConfig], list[ImportableStrategyConfig]]:
    """The actors (in start order) and the strategy of one node, the same classes in backtest and live.

    Live: the back-fill from the venue's history (before restore), restore against the venue's truth in the
    Nautilus cache, snapshots on every bar, fault log, node control, and the live signal map when
    `strategy.signal_source` says so. Backtest: restore seeds the simulated venue; a progress line per
    simulated day when `progress_window` (start, end ns) is given."""
    namespace = config.node.namespace
    actors: list[ImportableActorConfig] = []
    if live:  # first: what a killed life lost is back in ClickHouse before restore reads it
        actors.append(
            importable_actor(
                BackfillActor,
                BackfillActorConfig(
                    component_id="Backfill",
                    namespace=namespace,
                    client_order_prefix=config.node.client_order_prefix,
                    instrument_ids=list(config.strategy.instruments),
                ),
            )
        )
    if not without_restore:
        actors.append(
            importable_actor(
                RestoreActor, restore_actor_config(config, state_dir, venue_truth="cache" if live else "none")
            )
        )
    actors.append(importable_actor(JournalActor, JournalActorConfig(component_id="JournalActor", namespace=namespace)))
    if live:
        actors.append(importable_actor(FaultLogActor, FaultLogActorConfig(component_id="FaultLog")))
        actors.append(importable_actor(TradeLogActor, TradeLogActorConfig(component_id="TradeLog")))
        actors.append(
            importable_actor(
                NodeControlActor,
                NodeControlActorConfig(
                    component_id="NodeControl",
                    namespace=namespace,
                    state_dir=str(state_dir),
                    identity=identity or {},
                    instrument_ids=tuple(config.strategy.instruments),
                    bar_minutes=config.strategy.bar_minutes,
                    signal_source=config.strategy.signal_source,
                    model_warmup_bars=model_warmup_bars(config),
                ),
            )
        )
        if config.strategy.signal_source == "hazelcast":
            actors.append(
                importable_actor(
                    LiveStateSignalActor,
                    LiveStateSignalActorConfig(
                        component_id="SignalMap",
                        namespace=namespace,
                        instrument_ids=list(config.strategy.instruments),
                        poll_interval_s=config.strategy.poll_interval_s,
                    ),
                )
            )
    elif progress_window is not None:
        actors.append(
            importable_actor(
                ProgressActor,
                ProgressActorConfig(
                    component_id="ProgressActor", start_ns=progress_window[0], end_ns=progress_window[1]
                ),
            )
        )
    strategy = strategy_config(
        config,
        seed_restored=not live,
        trade_from_ns=trade_from_ns,
        snapshot_every_bars=1 if live else None,
        position_per_trade=not live,
    )
    return actors, [importable_strategy(DolphinStrategy, strategy)]


# ------------------------------------------------------------------------------------------- backtest
def backtest_specs(config: Config) -> dict[str, InstrumentSpec]:
    """The simulated venue's contracts for the configured instruments, from the bundled BingX contract snapshot
    (an unknown id raises `UnknownInstrument` naming the nearest listed ids)."""
    return {iid: spec_for(iid) for iid in config.strategy.instruments}


def build_backtest_engine(
    config: Config,
    state_dir: Path,
    run_dir: Path,
    *,
    bars: list,
    specs: dict[str, InstrumentSpec] | None = None,
    trade_from_ns: int = 0,
    progress_window: tuple[int, int] | None = None,
) -> tuple[BacktestEngine, ExitRejecter | None]:
    """A BacktestEngine with the simulated BINGX venue, its instruments, the bars and the full dolphin stack.
    The node's resources must be registered under its namespace before the engine runs."""
    actors, strategies = node_components(
        config, state_dir, live=False, trade_from_ns=trade_from_ns, progress_window=progress_window
    )
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId(config.node.trader_id),
            **engine_settings(),  # shared with the benchmark's bare engine
            logging=LoggingConfig(
                log_level=config.node.log_level,
                log_directory=str(run_dir),
                log_file_name="nautilus",
                log_level_file="INFO",
            ),
            actors=actors,
            strategies=strategies,
        )
    )
    rejecter = add_bingx_venue(
        engine,
        starting_balance=config.backtest.starting_balance_usdt,
        leverage=config.backtest.leverage,
        reject_exit_every=config.backtest.reject_exit_every,
    )
    for spec in (specs or backtest_specs(config)).values():
        engine.add_instrument(spec_to_perpetual(spec))
    engine.add_data(bars, validate=False, sort=True)
    return engine, rejecter


# ----------------------------------------------------------------------------------------------- live
def model_warmup_bars(config: Config) -> int:
    """History bars the reference model needs so that it decides on the first live bar: ReferenceSignalModel
    publishes from its `slow_bars`-th bar on, so `slow_bars - 1` (one more would spend its first decision on a
    history bar the strategy does not trade). 0 for the external signal sources."""
    return config.strategy.reference.slow_bars - 1 if config.strategy.signal_source == "reference" else 0


def bingx_urls(config: Config) -> BingXUrls:
    """The [bingx] overrides, else the documented hosts of the environment (vst -> demo, live -> real)."""
    base = urls_for("VST" if config.node.environment == "vst" else "LIVE")
    bx = config.bingx
    return BingXUrls(
        rest=bx.rest_url or base.rest,
        ws_market=bx.ws_market_url or base.ws_market,
        ws_user=bx.ws_user_url or bx.ws_market_url or base.ws_user,
    )


def venue_specs(config: Config) -> dict[str, InstrumentSpec]:
    """Every tradable perpetual the venue lists (its public contract list, one REST call; raises on failure)."""

    async def contracts() -> list:
        client = BingXHttpClient(bingx_urls(config).rest, None, timeout_s=10.0)
        try:
            return await BingXMarketHttpAPI(client).contracts()
        finally:
            await client.close()

    specs = {}
    for contract in asyncio.run(contracts()):
        try:
            spec = contract_to_spec(contract)
        except ValueError:
            continue
        specs[spec.instrument_id] = spec
    return specs


def trading_node_config(
    config: Config,
    state_dir: Path,
    *,
    startup_timeout_s: float,
    without_restore: bool = False,
    identity: dict[str, str] | None = None,
) -> TradingNodeConfig:
    urls = bingx_urls(config)
    provider = InstrumentProviderConfig(load_ids=frozenset(config.strategy.instruments))
    common: dict[str, Any] = dict(
        environment="VST" if config.node.environment == "vst" else "LIVE",
        base_url_http=urls.rest,
        base_url_ws=urls.ws_market,
        recv_window_ms=config.bingx.recv_window_ms,
        instrument_provider=provider,
    )
    # Bars that closed before now only warm the signal models up (the data client hands the venue's recent
    # klines on at start); the strategy trades from the first bar that closes after it.
    actors, strategies = node_components(
        config, state_dir, live=True, trade_from_ns=time.time_ns(), without_restore=without_restore, identity=identity
    )
    return TradingNodeConfig(
        trader_id=config.node.trader_id,
        # Nautilus' own log goes to a JSON file beside ours; stdout carries only our JSON events.
        logging=LoggingConfig(
            log_level="OFF",
            log_level_file=config.node.log_level,
            log_directory=str(state_dir / "logs"),
            log_file_name="nautilus",
            log_file_format="json",
            log_colors=False,
        ),
        exec_engine=LiveExecEngineConfig(
            reconciliation=True,
            reconciliation_lookback_mins=24 * 60,
            inflight_check_interval_ms=2_000,  # orders without an answer are queried by client order id
            inflight_check_threshold_ms=5_000,
            inflight_check_retries=5,
            open_check_interval_secs=10.0,  # open orders re-checked against the venue
            open_check_open_only=True,
            position_check_interval_secs=60.0,  # positions re-checked against the venue
            graceful_shutdown_on_exception=True,
        ),
        # An external signal source needs one bar for the price of its first target; the model needs its warm-up.
        data_clients={BINGX: BingXDataClientConfig(**common, warmup_bars=max(1, model_warmup_bars(config)))},
        exec_clients={BINGX: BingXExecClientConfig(**common, switch_to_one_way=config.bingx.switch_to_one_way)},
        actors=actors,
        strategies=strategies,
        timeout_connection=max(10.0, startup_timeout_s / 2),
        timeout_reconciliation=max(10.0, startup_timeout_s / 3),
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=1.0,
    )


def build_trading_node(
    node_config: TradingNodeConfig,
    *,
    loop: asyncio.AbstractEventLoop,
    credentials: BingXCredentials,
    strategies: Iterable[Strategy] = (),
    actors: Iterable[Actor] = (),
) -> TradingNode:
    """A built TradingNode with the BingX data and exec clients, which sign with `credentials` (read once at the
    process's start, never from the environment here). `strategies`/`actors`: extra instances next to the
    config's importable ones (test harnesses that record events)."""
    node = TradingNode(config=node_config, loop=loop)
    for actor in actors:
        node.trader.add_actor(actor)
    for strategy in strategies:
        node.trader.add_strategy(strategy)
    data_factory, exec_factory = bingx_client_factories(credentials)
    node.add_data_client_factory(BINGX, data_factory)
    node.add_exec_client_factory(BINGX, exec_factory)
    node.build()
    DeferredTradeRecords.adopt(node.portfolio.analyzer)  # a closed trade costs O(1), not a pandas concat
    return node


def component(trader: Any, cls: type) -> Any:
    """The one component of `cls` Nautilus built from the importable configs (strategy or actor)."""
    found = [c for c in [*trader.strategies(), *trader.actors()] if isinstance(c, cls)]
    if len(found) != 1:
        raise LookupError(f"expected one {cls.__name__} in the trader, found {len(found)}")
    return found[0]


__all__ = [
    "backtest_specs",
    "bingx_urls",
    "build_backtest_engine",
    "build_trading_node",
    "component",
    "importable_actor",
    "importable_strategy",
    "model_warmup_bars",
    "node_components",
    "restore_actor_config",
    "strategy_config",
    "trading_node_config",
    "venue_specs",
]
