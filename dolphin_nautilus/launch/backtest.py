"""`dolphin-backtest`: assemble and run one backtest: simulated BINGX venue, bars, restore actor, strategy,
journal on embedded stores.

    dolphin-backtest --config configs/backtest.toml [--data FILE] [--instrument ID] [--until TIME] [--keep-store]
                     [--state-dir DIR]   (a split run: --until T --state-dir D, then --state-dir D continues)
    dolphin-backtest --config configs/backtest.toml sweep --grid GRID.toml [--sample N] [--workers N | --cluster ADDR]
    dolphin-backtest contracts [--refresh --rest-url URL]

The strategy, restore actor and journal actor are the same classes the live node runs; only the venue
(simulated) and the stores (embedded, in the run folder unless told otherwise) differ. Every bad input (config
key, data file line, instrument id, --until) ends with one message naming the file, line or key, exit status 2,
and no run folder left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import msgspec

from dolphin_nautilus.backtest.contracts_snapshot import (
    SNAPSHOT_PATH,
    ContractSnapshotError,
    load_contracts_snapshot,
    refresh_contracts_snapshot,
)
from dolphin_nautilus.backtest.data import BarDataError
from dolphin_nautilus.config import Config, ConfigError, Secrets, load_config, restrict_new_files
from dolphin_nautilus.launch.backtest_inputs import (
    BacktestInputError,
    normalize_instrument_id,
    parse_until,
    prepare_inputs,
    with_instrument,
)
from dolphin_nautilus.launch.backtest_run import ResumeError, StoreOpenError, run_job

INPUT_ERRORS = (ConfigError, BarDataError, BacktestInputError, ContractSnapshotError)
PROG = "dolphin-backtest"


def main(argv: list[str] | None = None) -> int:
    restrict_new_files()
    argv = list(sys.argv[1:] if argv is None else argv)
    for command, handler in (("sweep", _sweep_main), ("contracts", _contracts_main)):
        if command in argv:
            argv.remove(command)
            return handler(argv)
    return _run_main(argv)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="e.g. configs/backtest.toml")
    parser.add_argument(
        "--data",
        help="CSV/Parquet bars (timestamp, open, high, low, close, volume"
        "[, instrument_id]); default: the config's backtest.data",
    )
    parser.add_argument(
        "--instrument",
        help="run this one instrument (e.g. XRP-USDT-PERP.BINGX); needed for a "
        "file without an instrument_id column when the config lists several",
    )
    parser.add_argument("--no-progress", action="store_true")


def _run_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _common(parser)
    parser.add_argument(
        "--state-dir",
        help="stores folder to reuse, never removed: a run started with the state dir of an earlier run restores "
        "its open slots and trades only after the bar where it stopped (a split run); "
        "default: a fresh one inside the run folder",
    )
    parser.add_argument("--until", help="stop at this UTC time (e.g. 2026-09-15T12:00), for split runs")
    parser.add_argument(
        "--keep-store",
        action="store_true",
        help="keep the embedded chDB/live-state stores in the run folder (default: reports and facts/*.parquet only)",
    )
    args = parser.parse_args(argv)
    try:
        config = checked_config(args.config, instrument=args.instrument, no_progress=args.no_progress)
        until_ns = parse_until(args.until) if args.until else None
        inputs = prepare_inputs(config, data=args.data, until_ns=until_ns)
    except INPUT_ERRORS as exc:
        return _input_error(exc)
    try:
        result = run_job(
            config,
            inputs=inputs,
            until_ns=until_ns,
            keep_store=args.keep_store,
            state_dir=Path(args.state_dir).resolve() if args.state_dir else None,
            secrets=Secrets.from_env(),  # read once: a ClickHouse server's password, when the config names one
        )
    except (StoreOpenError, ResumeError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    print(
        f"run folder size     {result.folder_bytes / 1e6:.1f} MB"
        + ("" if args.keep_store or args.state_dir else " (stores dropped; --keep-store keeps them)")
    )
    return 0


def checked_config(path: str, *, instrument: str | None = None, no_progress: bool = False) -> Config:
    config = load_config(path)
    if config.node.environment != "backtest":
        raise BacktestInputError(
            f"{path}: key 'node.environment' is '{config.node.environment}'; use a backtest "
            'config (node.environment = "backtest")'
        )
    if instrument:
        config = with_instrument(config, normalize_instrument_id(instrument))
    if no_progress:
        config = _with_backtest(config, progress=False)
    return config


def _input_error(exc: Exception) -> int:
    kind = "configuration error" if isinstance(exc, ConfigError) else "bad input"
    print(f"{PROG}: {kind}: {exc}", file=sys.stderr)
    return 2


def _sweep_main(argv: list[str]) -> int:
    from dolphin_nautilus.launch.backtest_sweep import (  # the distributed engine loads only for sweeps
        SweepError,
        run_sweep,
    )

    parser = argparse.ArgumentParser(prog=f"{PROG} sweep", description="run a grid of strategy parameters")
    _common(parser)
    parser.add_argument("--grid", required=True, help="TOML: [grid] 'section.key' = [values, ...]")
    parser.add_argument("--sample", type=int, help="run N combinations drawn at random (seeded) from the grid")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    parser.add_argument("--cluster", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--rank-by", default="net_pnl", help="summary field to rank by (default net_pnl)")
    parser.add_argument("--out", help="sweep folder (default: runs/sweep-<ns>-<UTC stamp>)")
    args = parser.parse_args(argv)
    try:
        config = checked_config(args.config, instrument=args.instrument, no_progress=True)
        result = run_sweep(
            config,
            grid_path=Path(args.grid),
            data=args.data,
            sample=args.sample,
            seed=args.seed,
            workers=args.workers,
            cluster=args.cluster,
            rank_by=args.rank_by,
            out_dir=Path(args.out) if args.out else None,
        )
    except (*INPUT_ERRORS, SweepError) as exc:
        return _input_error(exc)
    print(result.render())
    return 0 if result.failed == 0 else 1


def _contracts_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"{PROG} contracts", description="show or refresh the contract snapshot")
    parser.add_argument("--refresh", action="store_true", help="replace the snapshot with the venue's list")
    parser.add_argument("--rest-url", default="https://open-api.bingx.com", help="venue (or paper venue) REST URL")
    parser.add_argument("--path", default=str(SNAPSHOT_PATH))
    args = parser.parse_args(argv)
    try:
        if args.refresh:
            asyncio.run(refresh_contracts_snapshot(args.rest_url, args.path))
        snapshot = load_contracts_snapshot(args.path)
    except (ContractSnapshotError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - venue/network errors end the command with their own text
        print(f"{PROG}: refreshing from {args.rest_url} failed: {exc}", file=sys.stderr)
        return 2
    header = snapshot.header
    print(
        f"{snapshot.path}: {len(snapshot.contracts)} USDT-M contracts, taken {header.taken_at}, "
        f"{'complete' if header.complete else 'PARTIAL'}"
    )
    for source in header.sources:
        print(f"  source: {source}")
    print("  " + ", ".join(snapshot.instrument_ids))
    return 0


def _with_backtest(config: Config, **changes: object) -> Config:
    return msgspec.structs.replace(config, backtest=msgspec.structs.replace(config.backtest, **changes))


if __name__ == "__main__":
    sys.exit(main())
