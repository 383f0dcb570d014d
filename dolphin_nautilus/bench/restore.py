"""Benchmark: `python -m dolphin_nautilus.bench.restore [small_rows] [large_rows] [open_slots] [legacy_rows]`.

Builds `position_state` history in OUR schema in chDB (INSERT ... SELECT from numbers(), 10 snapshots per
trade, `open_slots` trades still OPEN) at two sizes, and times the restore decision path the RestoreActor
runs: ClickHouse open/latest reads (through ClickHouseStore, via the engine-maintained latest table) plus
parse + decide + dust + plan. Prints ms per size and the ratio large/small (target: < 100 ms at 10M rows;
cost should follow open slots, not history). Also times decide() alone for 10 vs 1000 open slots, and the
read of a legacy BLUE position_state table of `legacy_rows` history rows (a full GROUP BY: it grows with history).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.journal.store import ClickHouseStore, StoreConfig
from dolphin_nautilus.restore import Candidate, decide, read_legacy_position_state
from dolphin_nautilus.restore.plan import build_plan
from dolphin_nautilus.restore.reading import read_sources
from dolphin_nautilus.restore.venue_rules import decide_with_dust
from dolphin_nautilus.state import LocalStateStore

SNAPSHOTS_PER_TRADE = 10
TARGET_MS = 100.0  # docs/design.md §7: restore on 10M rows of history (as inserted) and on a 1M-row legacy table


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


INSTRUMENTS = sorted(BINGX_SPECS)


def fill(store: ClickHouseStore, rows: int, open_slots: int) -> None:
    """`rows` snapshots over rows/10 trades; the last snapshot of each trade is CLOSED except `open_slots`."""
    trades = rows // SNAPSHOTS_PER_TRADE
    columns = store.specs["position_state"].insert_columns
    n_inst = len(INSTRUMENTS)
    inst = "[" + ", ".join(f"'{i}'" for i in INSTRUMENTS) + "]"
    last = SNAPSHOTS_PER_TRADE - 1
    values = {
        "namespace": f"'{store.namespace}'",
        "row_id": "number",
        "ts__ns": "toInt64(1780000000000000000 + number * 1000000000)",
        "origin": "'kernel'",
        # open trades get distinct instruments (one-way account); the rest cycle through them
        "trade_id": f"concat('t', toString(number % {trades}))",
        "instrument_id": f"arrayElement({inst}, (number % {trades}) % {n_inst} + 1)",
        "side": "if(number % 2 = 0, 'LONG', 'SHORT')",
        "status": f"if(intDiv(number, {trades}) = {last} AND number % {trades} >= {open_slots}, 'CLOSED', 'OPEN')",
        "quantity": "toDecimal128(1, 18)",
        "notional": "toDecimal128(100, 18)",
        "entry_price": "toDecimal128(100, 18)",
        "bars_held": f"toInt64(intDiv(number, {trades}))",
        "realized_pnl": "toDecimal128(0, 18)",
        "fees": "toDecimal128(0, 18)",
        "legs": "toInt64(0)",
        "seq": f"toInt64(intDiv(number, {trades}) + 1)",
        "opened_ts__ns": "toInt64(1780000000000000000)",
        "order_seq": "toInt64(1)",
    }
    select = ", ".join(values[c] for c in columns)
    store.client.command(
        f"INSERT INTO `{store.database}`.position_state ({', '.join(columns)}) "
        f"SELECT {select} FROM numbers({rows}) SETTINGS max_insert_threads = 2"
    )


def time_restore(stores, open_slots: int, repeats: int = 5) -> float:
    specs = {i: BINGX_SPECS[i] for i in INSTRUMENTS}
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        batches = read_sources(stores)
        decision = decide_with_dust(batches, specs, 250, time.time_ns())
        build_plan(batches, decision, None, namespace="bench", specs=specs, unclaimed="adopt", now_ns=time.time_ns())
        timings.append(time.perf_counter() - start)
    assert len({c.trade_id for b in batches for c in b.candidates}) == open_slots, "wrong open set"
    return statistics.median(timings)


def _candidate(source: str, i: int, seq: int) -> Candidate:
    return Candidate(
        source=source,
        trade_id=f"t{i}",
        instrument_id=f"C{i}-USDT-PERP.BINGX",
        side="LONG",
        status="OPEN",
        quantity=Decimal(1),
        notional=Decimal(10),
        entry_price=Decimal(10),
        bars_held=1,
        realized_pnl=Decimal(0),
        fees=Decimal(0),
        legs=0,
        seq=seq,
        ts=seq,
        opened_ts=1,
        order_seq=1,
        raw="{}",
    )


def bench_decide(open_slots: int) -> float:
    live = [_candidate("hazelcast", i, 2) for i in range(open_slots)]
    store = [_candidate("clickhouse", i, 1) for i in range(open_slots)]
    known = {c.instrument_id for c in live}
    start = time.perf_counter()
    decision = decide([("hazelcast", live), ("clickhouse", store)], known, 250, 0)
    elapsed = time.perf_counter() - start
    assert len(decision.slots) == open_slots
    return elapsed


def bench_legacy(client, rows: int) -> float:
    client.command("CREATE DATABASE IF NOT EXISTS bench_legacy")
    client.command(
        "CREATE TABLE bench_legacy.position_state (trade_id String, asset String, side String, "
        "status String, quantity Float64, notional Float64, bars_held Int32, ts DateTime64(3)) "
        "ENGINE=MergeTree ORDER BY trade_id"
    )
    client.command(
        f"INSERT INTO bench_legacy.position_state SELECT toString(number % 1000), 'BTCUSDT', 'LONG', "
        f"if(number % 1000 < 995, 'CLOSED', 'OPEN'), 1, 10, 1, toDateTime64(number, 3) FROM numbers({rows})"
    )
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        batch = read_legacy_position_state(client, "bench_legacy", closed_for_trade_ids=())
        timings.append(time.perf_counter() - start)
        assert len(batch.candidates) == 5, batch
    return statistics.median(timings)


def main() -> None:
    small = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    large = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    open_slots = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    legacy_rows = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
    root = Path(tempfile.mkdtemp(prefix="restore-bench-"))
    results = {}
    for label, rows in (("small", small), ("large", large)):
        namespace = f"bench{label}"
        store = ClickHouseStore(StoreConfig(namespace=namespace, chdb_path=str(root / "ch")))
        stores = SimpleNamespace(clickhouse=store, live_state=LocalStateStore(root / label, namespace))
        started = time.perf_counter()
        fill(store, rows, open_slots)
        filled = time.perf_counter() - started
        unmerged = time_restore(stores, open_slots)
        store.optimize("position_state_latest")
        merged = time_restore(stores, open_slots)
        results[label] = (unmerged, merged)
        print(
            f"{rows:>11,} rows / {rows // SNAPSHOTS_PER_TRADE:,} trades / {open_slots} open: "
            f"restore {unmerged * 1e3:.1f} ms (latest table as inserted), {merged * 1e3:.1f} ms "
            f"(after merge)   [fill {filled:.1f} s]"
        )
    large_ms = results["large"][0] * 1e3
    print(
        f"restore at {large:,} rows, as inserted: {large_ms:.1f} ms   target < {TARGET_MS:.0f} ms: "
        f"{verdict(large_ms < TARGET_MS)}"
    )
    for i, name in enumerate(("as inserted", "after merge")):
        print(
            f"ratio large/small ({name}): {results['large'][i] / results['small'][i]:.1f}x "
            f"for {large / small:.0f}x history"
        )
    few, many = bench_decide(10), bench_decide(1000)
    print(f"decide alone: 10 open slots {few * 1e3:.2f} ms, 1000 open slots {many * 1e3:.2f} ms")
    legacy = bench_legacy(store.client, legacy_rows)
    print(
        f"legacy table read: {legacy_rows:,} history rows, 1000 trades, 5 open: {legacy * 1e3:.1f} ms (median of 5)   "
        f"target < {TARGET_MS:.0f} ms: {verdict(legacy * 1e3 < TARGET_MS)}"
    )


if __name__ == "__main__":
    main()
