"""`dolphin-backtest`: run the strategy on the simulated BINGX venue with the journal on embedded stores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from dolphin_nautilus.backtest.data import BarDataError
from dolphin_nautilus.backtest.runner import new_run_dir, run_backtest
from dolphin_nautilus.config import ConfigError, load_config, restrict_new_files
from dolphin_nautilus.node.stores import Stores


def main(argv: list[str] | None = None) -> int:
    restrict_new_files()
    parser = argparse.ArgumentParser(prog="dolphin-backtest", description=__doc__)
    parser.add_argument("--config", required=True, help="e.g. configs/backtest.toml")
    parser.add_argument("--data", help="CSV/Parquet bars (timestamp, open, high, low, close, volume"
                                       "[, instrument_id]); default: the config's backtest.data")
    parser.add_argument("--state-dir", help="stores folder to reuse (a restart continues from it); "
                                            "default: a fresh one inside the run folder")
    parser.add_argument("--until", help="stop at this UTC time (e.g. 2026-09-15T12:00), for split runs")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"dolphin-backtest: configuration error: {exc}", file=sys.stderr)
        return 2
    if config.node.environment != "backtest":
        print(f"dolphin-backtest: {args.config} is a '{config.node.environment}' config; "
              f"use a backtest config (node.environment = \"backtest\")", file=sys.stderr)
        return 2
    if args.no_progress:
        config = _with_backtest(config, progress=False)
    until_ns = int(pd.Timestamp(args.until, tz="UTC").value) if args.until else None
    run_dir = new_run_dir(config)
    state_dir = Path(args.state_dir).resolve() if args.state_dir else run_dir / "stores"
    try:
        stores = Stores(config, state_dir)
    except Exception as exc:  # noqa: BLE001 - a store that cannot open is an operator problem, say it plainly
        print(f"dolphin-backtest: cannot open stores in {state_dir}: {exc}", file=sys.stderr)
        return 2
    try:
        run_backtest(config, data=args.data, run_dir=run_dir, stores=stores, until_ns=until_ns)
    except BarDataError as exc:
        print(f"dolphin-backtest: bad bar data: {exc}", file=sys.stderr)
        return 2
    finally:
        stores.close()
    return 0


def _with_backtest(config, **changes):
    import msgspec

    return msgspec.structs.replace(config, backtest=msgspec.structs.replace(config.backtest, **changes))


if __name__ == "__main__":
    sys.exit(main())
