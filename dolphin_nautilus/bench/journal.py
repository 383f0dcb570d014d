"""Journal benchmark: `python -m dolphin_nautilus.bench.journal [--facts N] [--money Decimal|Float64]`.

Prints (never asserts):
* hot-path cost of `Journal.append` per fact, against appending to a plain list in the same run;
* sustained rows/s from the first append until everything is in embedded ClickHouse (chDB), end to end
  (WAL fsync + encode + insert, all on the writer thread), and the store's insert rate alone.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal

from dolphin_nautilus.domain.facts import Fact, PositionState
from dolphin_nautilus.journal.schema import DECIMAL, FLOAT
from dolphin_nautilus.journal.store import ClickHouseStore, StoreConfig, encode_rows
from dolphin_nautilus.journal.writer import Journal, JournalConfig


def make_facts(n: int) -> list[Fact]:
    base = 1_780_000_000_000_000_000
    return [
        PositionState(
            ts=base + i,
            origin="kernel",
            trade_id=f"T{i % 5000}",
            instrument_id="BTC-USDT-SWAP.BINGX",
            side="LONG",
            status="OPEN",
            quantity=Decimal("0.001") * (i % 997 + 1),
            notional=Decimal("65.0001") + i,
            entry_price=Decimal("65000.1"),
            bars_held=i % 100,
            realized_pnl=Decimal("-1.5"),
            fees=Decimal("0.0123"),
            legs=1,
            seq=i,
            opened_ts=base,
            order_seq=i % 7,
        )
        for i in range(n)
    ]


def per_fact_ns(fn: Callable[[list[Fact]], object], facts: list[Fact]) -> float:
    start = time.perf_counter_ns()
    fn(facts)
    return (time.perf_counter_ns() - start) / len(facts)


def bench(n: int, money: str) -> None:
    facts = make_facts(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = ClickHouseStore(StoreConfig(namespace="bench", chdb_path=f"{tmp}/chdb", money_type=money))
        journal = Journal(store, JournalConfig(spool_dir=f"{tmp}/spool"))

        def to_list(items: list[Fact]) -> list[Fact]:
            sink: list[Fact] = []
            append = sink.append
            for f in items:
                append(f)
            return sink

        def to_journal(items: list[Fact]) -> None:
            append = journal.append
            for f in items:
                append(f)

        baseline = per_fact_ns(to_list, facts)
        start = time.perf_counter()
        hot = per_fact_ns(to_journal, facts)
        assert journal.flush(600), "journal did not drain"
        sustained = n / (time.perf_counter() - start)
        status = journal.close()

        rows = [(f.row_id, f) for f in facts]
        t0 = time.perf_counter()
        payload = encode_rows("bench", rows)
        t1 = time.perf_counter()
        store.client.command(f"TRUNCATE TABLE `{store.database}`.position_state")
        store.insert_rows("position_state", payload)
        t2 = time.perf_counter()
        store.close()
    print(f"journal bench: {n} position_state facts, money type {money}, chDB embedded")
    print(
        f"  hot path  append: {hot:8.1f} ns/fact   plain list.append: {baseline:6.1f} ns/fact   "
        f"ratio {hot / baseline:5.2f}x   (target < 20000 ns)"
    )
    print(
        f"  sustained end-to-end (append -> WAL fsync -> ClickHouse): {sustained:10,.0f} rows/s "
        f"in {status.batches} batches   (target >= 100,000 rows/s)"
    )
    print(
        f"  store only: encode {n / (t1 - t0):10,.0f} rows/s, insert {n / (t2 - t1):10,.0f} rows/s, "
        f"both {n / (t2 - t0):10,.0f} rows/s"
    )
    print(f"  status: written={status.written} spooled={status.spooled} failures={status.failures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=300_000)
    parser.add_argument("--money", choices=["Decimal", "Float64", "both"], default="both")
    args = parser.parse_args()
    for money in [DECIMAL, FLOAT] if args.money == "both" else [DECIMAL if args.money == "Decimal" else FLOAT]:
        bench(args.facts, money)


if __name__ == "__main__":
    main()
