"""Everything a backtest reads before it starts, checked up front: instruments, contract specs, bars, `--until`.

`prepare_inputs` is called before a run folder or a store exists, so a bad input stops the run with one clear
message (file, line or key) and leaves nothing behind. The engine assembly then takes the result as is.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import pandas as pd

from dolphin_nautilus.backtest.contracts_snapshot import ContractSnapshot, load_contracts_snapshot
from dolphin_nautilus.backtest.data import LoadedBars, load_bars
from dolphin_nautilus.config import INSTRUMENT_ID_RE, Config
from dolphin_nautilus.domain.instruments import InstrumentSpec


class BacktestInputError(ValueError):
    """A bad command-line value or a config that does not fit the data/contracts."""


@dataclass(frozen=True)
class RunInputs:
    specs: dict[str, InstrumentSpec]
    loaded: LoadedBars
    until_ns: int | None
    snapshot_path: str
    snapshot_taken_at: str


def normalize_instrument_id(text: str) -> str:
    """`xrp-usdt`, `XRP-USDT` and `XRP-USDT-PERP.BINGX` all name the same perpetual."""
    candidate = text.strip().upper()
    if not candidate.endswith(".BINGX"):
        candidate = f"{candidate.removesuffix('-PERP')}-PERP.BINGX"
    if not INSTRUMENT_ID_RE.match(candidate):
        raise BacktestInputError(
            f"--instrument {text!r}: expected a BingX USDT-M perpetual like 'XRP-USDT-PERP.BINGX' (or 'XRP-USDT')"
        )
    return candidate


def with_instrument(config: Config, instrument_id: str) -> Config:
    """The config with the run narrowed to one instrument (the `--instrument` flag)."""
    strategy = msgspec.structs.replace(config.strategy, instruments=[instrument_id])
    return msgspec.structs.replace(config, strategy=strategy)


def parse_until(text: str) -> int:
    """`--until` as UTC nanoseconds; a time without a zone is UTC."""
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise BacktestInputError(f"--until {text!r}: not a date/time; use ISO-8601 UTC, e.g. 2026-09-15T12:00")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def contract_specs(config: Config, snapshot: ContractSnapshot) -> dict[str, InstrumentSpec]:
    specs = {iid: snapshot.spec(iid) for iid in config.strategy.instruments}
    for iid in specs:
        max_leverage = snapshot.max_leverage.get(iid, 0)
        if max_leverage and config.backtest.leverage > max_leverage:
            raise BacktestInputError(
                f"{config.source or 'config'}: key 'backtest.leverage' = {config.backtest.leverage} is above "
                f"{iid}'s maximum leverage {max_leverage} (contract snapshot {snapshot.path})"
            )
    return specs


def prepare_inputs(
    config: Config, *, data: str | None = None, until_ns: int | None = None, snapshot: ContractSnapshot | None = None
) -> RunInputs:
    snapshot = snapshot or load_contracts_snapshot()
    specs = contract_specs(config, snapshot)
    key = "strategy.bar_minutes" + (f" (in {config.source})" if config.source else "")
    loaded = load_bars(
        data or config.backtest.data, specs, config.strategy.bar_minutes, until_ns=until_ns, minutes_key=key
    )
    return RunInputs(
        specs=specs,
        loaded=loaded,
        until_ns=until_ns,
        snapshot_path=snapshot.path,
        snapshot_taken_at=snapshot.header.taken_at,
    )
