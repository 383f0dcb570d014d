"""Prints the per-bar cost of TradeBook.on_bar (not a test).

Run: `PYTHONPATH=. .venv/bin/python tests/domain/bench_on_bar.py`.
"""

import time
from decimal import Decimal as D

from tests.domain.support import ATOM, BTC, Venue, new_book

BARS = 200_000
closes = [D("10.001") + D(i % 100) / 1000 for i in range(200)]
for every in (1, 10, 0):
    book = new_book(max_hold_bars=10**9, snapshot_every_bars=every)
    Venue(book).open(ATOM, "LONG", "5", "10")
    start = time.perf_counter()
    for i in range(BARS):
        book.on_bar(ATOM, closes[i % 200], i)
        if i % 1000 == 0:
            book.drain_facts()
    held = (time.perf_counter() - start) / BARS * 1e6
    start = time.perf_counter()
    for i in range(BARS):
        book.on_bar(BTC, closes[i % 200], i)
    flat = (time.perf_counter() - start) / BARS * 1e6
    print(f"snapshot_every_bars={every}: open slot {held:.2f} us/bar, flat instrument {flat:.2f} us/bar")
