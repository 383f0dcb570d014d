"""Journal benchmark: `python -m dolphin_nautilus.bench.journal [--facts N] [--money Decimal|Float64]`.

Prints (never asserts), medians of `--repeats` runs, each with its target (docs/design.md §7) and MET/MISSED:
* hot-path cost of `Journal.append` per fact, against appending to a plain list in the same run;
* sustained rows/s from the first append until everything is in embedded ClickHouse (chDB), end to end
  (encode + WAL fsync + insert), and, as the ratio's reference, the store's insert rate alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal

from dolphin_nautilus.domain.facts import Fact, PositionState
from dolphin_nautilus.journal.schema import DECIMAL, FLOAT
from dolphin_nautilus.journal.store import ClickHouseStore, StoreConfig, encode_rows
from dolphin_nautilus.journal.writer import Journal, JournalConfig, JournalStatus


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


HOT_PATH_TARGET_NS = 1000.0  # docs/design.md §7: hot-path cost per fact
SUSTAINED_TARGET = 250_000  # rows/s end to end into embedded ClickHouse


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def one_run(n: int, money: str, facts: list[Fact]) -> tuple[float, float, float, float, JournalStatus]:
    """(list.append ns/fact, Journal.append ns/fact, end-to-end rows/s, store insert-alone rows/s, status)."""
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

        payload = encode_rows("bench", [(f.row_id, f) for f in facts])
        store.client.command(f"TRUNCATE TABLE `{store.database}`.position_state")
        t0 = time.perf_counter()
        store.insert_rows("position_state", payload)
        insert_alone = n / (time.perf_counter() - t0)
        store.close()
    return baseline, hot, sustained, insert_alone, status


def bench(n: int, money: str, repeats: int) -> None:
    facts = make_facts(n)
    runs = [one_run(n, money, facts) for _ in range(repeats)]
    baseline = statistics.median(run[0] for run in runs)
    hot = statistics.median(run[1] for run in runs)
    sustained = statistics.median(run[2] for run in runs)
    insert_alone = statistics.median(run[3] for run in runs)
    status = runs[-1][4]
    print(f"journal bench: {n} position_state facts, money type {money}, chDB embedded, median of {repeats} runs")
    print(
        f"  hot path append: {hot:8.1f} ns/fact   plain list.append: {baseline:6.1f} ns/fact   "
        f"ratio {hot / baseline:5.2f}x   target <= {HOT_PATH_TARGET_NS:.0f} ns: {verdict(hot <= HOT_PATH_TARGET_NS)}"
    )
    print(
        f"  sustained end-to-end (append -> WAL fsync -> ClickHouse): {sustained:10,.0f} rows/s   "
        f"target >= {SUSTAINED_TARGET:,}: {verdict(sustained >= SUSTAINED_TARGET)}"
    )
    print(
        f"  ClickHouse insert alone (one {n}-row insert): {insert_alone:10,.0f} rows/s   "
        f"ratio end-to-end / insert alone {sustained / insert_alone:4.2f}"
    )
    print(f"  status: written={status.written} spooled={status.spooled} failures={status.failures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=300_000)
    parser.add_argument("--money", choices=["Decimal", "Float64", "both"], default="Decimal")
    parser.add_argument("--repeats", type=int, default=3, help="runs per money type; medians are printed")
    args = parser.parse_args()
    for money in [DECIMAL, FLOAT] if args.money == "both" else [DECIMAL if args.money == "Decimal" else FLOAT]:
        bench(args.facts, money, args.repeats)


if __name__ == "__main__":
    main()
