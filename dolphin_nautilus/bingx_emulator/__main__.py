"""`python -m dolphin_nautilus.bingx_emulator --port 18080`: a local paper venue.

By default it lists the four instruments of `configs/common.toml` (BTC, ETH, SOL and DOGE perpetuals), keeps a
day of synthetic one-minute history (enough klines for a node's warm-up), random-walks every price once a
second, and accepts the public test key pair printed at start (override with BINGX_EMULATOR_API_KEY /
BINGX_EMULATOR_API_SECRET). It imports none of the node's code: it is the adapter's independent check.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import threading
from decimal import Decimal

from .config import EmulatorConfig
from .runner import EmulatorHandle

DEFAULT_SYMBOLS = "BTC-USDT,ETH-USDT,SOL-USDT,DOGE-USDT"  # the instruments of configs/common.toml
DEFAULT_HISTORY_MINUTES = 1440  # a day of one-minute klines: more than any warm-up the shipped configs ask for


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="BingX USDT-M perpetual swap emulator on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--symbols", default=DEFAULT_SYMBOLS, help=f"venue symbols (default {DEFAULT_SYMBOLS})")
    parser.add_argument("--hedge", action="store_true", help="start in hedge (dual-side) position mode")
    parser.add_argument("--error-generation", choices=("old", "new"), default="new")
    parser.add_argument(
        "--history-minutes",
        type=int,
        default=DEFAULT_HISTORY_MINUTES,
        help=f"synthetic one-minute history before start, served as klines (default {DEFAULT_HISTORY_MINUTES})",
    )
    parser.add_argument(
        "--walk-seconds",
        type=float,
        default=1.0,
        help="random-walk the price of each symbol this often (0: static prices)",
    )
    args = parser.parse_args(argv)
    config = EmulatorConfig(
        symbols=[s.strip().upper() for s in args.symbols.split(",") if s.strip()],
        dual_side_position=args.hedge,
        error_generation=args.error_generation,
        seed_history_minutes=args.history_minutes,
    )
    # credentials the paper venue accepts: from the environment, else the public test pair
    config.api_key = os.environ.get("BINGX_EMULATOR_API_KEY", config.api_key)
    config.api_secret = os.environ.get("BINGX_EMULATOR_API_SECRET", config.api_secret)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmulatorHandle(config, host=args.host, port=args.port) as venue:
        print(f"REST       {venue.rest_url}", flush=True)
        print(f"WS market  {venue.ws_market_url}", flush=True)
        print(f"WS user    {venue.ws_user_url_base}  (the node adds ?listenKey=<key>)", flush=True)
        print(f"symbols    {', '.join(config.symbols)}", flush=True)
        print(f"API key    {venue.api_key}", flush=True)
        # A paper venue's secret is a test value, printed so a walk-through can be copied; a secret set in
        # BINGX_EMULATOR_API_SECRET is the operator's own and stays unprinted.
        secret = "(from $BINGX_EMULATOR_API_SECRET)" if "BINGX_EMULATOR_API_SECRET" in os.environ else venue.api_secret
        print(f"API secret {secret}", flush=True)
        rng = random.Random(7)
        while not stop.wait(args.walk_seconds or None):
            for symbol in config.symbols:
                step = Decimal(str(1 + rng.uniform(-0.0005, 0.0005)))
                venue.set_price(symbol, venue.price(symbol) * step)


if __name__ == "__main__":
    main()
