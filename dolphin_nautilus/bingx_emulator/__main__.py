"""`python -m dolphin_nautilus.bingx_emulator --port 0 --symbols BTC-USDT,ETH-USDT`: a local paper venue."""

from __future__ import annotations

import argparse
import os
import random
import signal
import threading
from decimal import Decimal

from .config import EmulatorConfig
from .runner import EmulatorHandle


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="BingX USDT-M perpetual swap emulator on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--symbols", default="BTC-USDT,ETH-USDT")
    parser.add_argument("--hedge", action="store_true", help="start in hedge (dual-side) position mode")
    parser.add_argument("--error-generation", choices=("old", "new"), default="new")
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
    )
    # credentials the paper venue accepts: from the environment, else the public test pair
    config.api_key = os.environ.get("BINGX_EMULATOR_API_KEY", config.api_key)
    config.api_secret = os.environ.get("BINGX_EMULATOR_API_SECRET", config.api_secret)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmulatorHandle(config, host=args.host, port=args.port) as venue:
        print(f"REST      {venue.rest_url}", flush=True)
        print(f"WS market {venue.ws_market_url}", flush=True)
        print(f"WS user   {venue.ws_user_url_base}?listenKey=<key>", flush=True)
        print(f"API key   {venue.api_key}  (secret: $BINGX_EMULATOR_API_SECRET or the test secret)", flush=True)
        rng = random.Random(7)
        while not stop.wait(args.walk_seconds or None):
            for symbol in config.symbols:
                step = Decimal(str(1 + rng.uniform(-0.0005, 0.0005)))
                venue.set_price(symbol, venue.price(symbol) * step)


if __name__ == "__main__":
    main()
