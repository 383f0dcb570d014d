"""Benchmark: `python -m dolphin_nautilus.bench.restore [--small N] [--large N] [--open-slots N]
[--legacy-rows N] [--json]`.

Builds `position_state` history in OUR schema in chDB (a bulk load: INSERT ... SELECT from numbers(), 10
snapshots per trade, `open_slots` trades still OPEN) at two sizes, and times the restore path the RestoreActor
runs: the ClickHouse open/latest reads plus parse + decide + dust + plan, at each stage of the store's life:

- whole table: no open-set checkpoint yet (journal.open_set), the latest table as inserted (no merge): the
  reference, and what a bulk load that writes no checkpoint leaves;
- as inserted: the bulk loader wrote the checkpoint (`ClickHouseStore.write_open_checkpoint`), no merge: the
  target (docs/design.md §7: < 100 ms at 10M rows, without depending on background merges);
- after writes: `--journal-rows` more snapshots written after the checkpoint, as the journal writes between
  two checkpoints (one open trade closes, a new one opens); the open set is checked against the whole-table
  read;
- after merge: OPTIMIZE FINAL of the latest table.

Also times decide() alone for 10 vs 1000 open slots, and the read of a legacy BLUE position_state table of
`legacy_rows` history rows (aggregated in ClickHouse; only the open candidates reach Python; < 100 ms at 1M).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from dolphin_nautilus.backtest.catalogue import BINGX_SPECS
from dolphin_nautilus.bench.verdicts import Check, at_least, at_most, print_checks, reported
from dolphin_nautilus.domain.facts import PositionState
from dolphin_nautilus.journal.settings import StoreConfig
from dolphin_nautilus.journal.store import ClickHouseStore
from dolphin_nautilus.restore import Candidate, decide, read_legacy_position_state
from dolphin_nautilus.restore.plan import build_plan
from dolphin_nautilus.restore.reading import read_sources
from dolphin_nautilus.restore.venue_rules import decide_with_dust
from dolphin_nautilus.state import LocalStateStore

SNAPSHOTS_PER_TRADE = 10
TARGET_MS = 100.0  # docs/design.md §7: restore on 10M rows of history (as inserted) and on a 1M-row legacy table


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


class WholeTable:
    """The store as restore sees it, reading the open set from the whole latest table (no checkpoint)."""

    def __init__(self, store: ClickHouseStore) -> None:
        self.store = store

    def open_position_states(self):
        return self.store.open_position_states(use_checkpoint=False)

    def latest_position_states(self, trade_ids=None):
        return self.store.latest_position_states(trade_ids)


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


def write_after_checkpoint(store: ClickHouseStore, rows: int, open_slots: int, trades: int) -> None:
    """`rows` snapshots as the journal writes them between two checkpoints: closed trades written again, the
    open trade t0 closed, a new trade opened on its instrument (the open count stays `open_slots`)."""
    ts = 1790000000000000000
    facts = [
        _snapshot(f"t{t}", INSTRUMENTS[t % len(INSTRUMENTS)], "CLOSED", 11, ts + i)
        for i, t in enumerate(range(open_slots, min(trades, open_slots + rows - 2)))
    ]
    facts.append(_snapshot("t0", INSTRUMENTS[0], "CLOSED", 11, ts))
    facts.append(_snapshot("n1", INSTRUMENTS[0], "OPEN", 1, ts))
    store.insert_facts(facts)


def _snapshot(trade_id: str, instrument_id: str, status: str, seq: int, ts: int) -> PositionState:
    """A position_state row like fill()'s (trade t<i> on INSTRUMENTS[i % n])."""
    return PositionState(
        ts=ts,
        origin="kernel",
        trade_id=trade_id,
        instrument_id=instrument_id,
        side="LONG",
        status=status,
        quantity=Decimal(1 if status == "OPEN" else 0),
        notional=Decimal(100),
        entry_price=Decimal(100),
        bars_held=seq,
        realized_pnl=Decimal(0),
        fees=Decimal(0),
        legs=0,
        seq=seq,
        opened_ts=1780000000000000000,
        order_seq=1,
    )


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


def measure(
    root: Path, label: str, rows: int, open_slots: int, journal_rows: int
) -> tuple[dict[str, float], ClickHouseStore]:
    namespace = f"bench{label}"
    store = ClickHouseStore(StoreConfig(namespace=namespace, chdb_path=str(root / "ch")))
    live = LocalStateStore(root / label, namespace)
    stores = SimpleNamespace(clickhouse=store, live_state=live)
    whole = SimpleNamespace(clickhouse=WholeTable(store), live_state=live)
    started = time.perf_counter()
    fill(store, rows, open_slots)
    out = {"fill": time.perf_counter() - started}
    out["whole"] = time_restore(whole, open_slots, repeats=3)
    started = time.perf_counter()
    store.write_open_checkpoint()  # the bulk loader's last step
    out["checkpoint"] = time.perf_counter() - started
    out["inserted"] = time_restore(stores, open_slots)
    write_after_checkpoint(store, journal_rows, open_slots, rows // SNAPSHOTS_PER_TRADE)
    assert store.open_position_states() == store.open_position_states(use_checkpoint=False), "open sets differ"
    out["after_writes"] = time_restore(stores, open_slots)
    store.optimize("position_state_latest")
    out["merged"] = time_restore(stores, open_slots)
    print(
        f"{rows:>11,} rows / {rows // SNAPSHOTS_PER_TRADE:,} trades / {open_slots} open: "
        f"restore {out['inserted'] * 1e3:.1f} ms (latest table as inserted, loader's checkpoint), "
        f"{out['after_writes'] * 1e3:.1f} ms ({journal_rows:,} rows written after it), "
        f"{out['merged'] * 1e3:.1f} ms (after merge), {out['whole'] * 1e3:.1f} ms (whole table, no checkpoint)   "
        f"[fill {out['fill']:.1f} s, loader's checkpoint {out['checkpoint'] * 1e3:.0f} ms]"
    )
    return out, store


def measure_all(root: Path, args: argparse.Namespace) -> tuple[dict, dict, float]:
    """(large store figures, small store figures, legacy read seconds); the stores live under `root`."""
    small, _ = measure(root, "small", args.small, args.open_slots, args.journal_rows)
    large, store = measure(root, "large", args.large, args.open_slots, args.journal_rows)
    for name in ("inserted", "merged"):
        print(
            f"ratio large/small ({name}): {large[name] / small[name]:.1f}x for {args.large / args.small:.0f}x history"
        )
    few, many = bench_decide(10), bench_decide(1000)
    print(f"decide alone: 10 open slots {few * 1e3:.2f} ms, 1000 open slots {many * 1e3:.2f} ms")
    legacy = bench_legacy(store.client, args.legacy_rows)
    print(
        f"legacy table read: {args.legacy_rows:,} history rows, 1000 trades, 5 open: "
        f"{legacy * 1e3:.1f} ms (median of 5)"
    )
    store.close()
    return large, small, legacy


def run(argv: list[str] | None = None) -> list[Check]:
    parser = argparse.ArgumentParser(prog="python -m dolphin_nautilus.bench.restore", description=__doc__)
    parser.add_argument("--small", type=int, default=100_000, help="history rows, small store")
    parser.add_argument("--large", type=int, default=10_000_000, help="history rows, large store")
    parser.add_argument("--open-slots", type=int, default=4)
    parser.add_argument("--journal-rows", type=int, default=5_000, help="rows written after the checkpoint")
    parser.add_argument("--legacy-rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="the checks as JSON, last line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="restore-bench-") as folder:  # hundreds of MB at 10M rows
        large, small, legacy = measure_all(Path(folder), args)
    size = f"{args.large:,} rows"
    checks = [
        at_most(
            "restore", f"{size}, as inserted, loader's checkpoint (ms)", round(large["inserted"] * 1e3, 1), TARGET_MS
        ),
        at_most(
            "restore",
            f"{size}, {args.journal_rows:,} rows after the checkpoint (ms)",
            round(large["after_writes"] * 1e3, 1),
            TARGET_MS,
        ),
        at_least(
            "restore",
            f"{size}, speed-up over the whole-table read (x)",
            round(large["whole"] / large["inserted"], 1),
            1.0,
            f"whole table {large['whole'] * 1e3:.0f} ms",
        ),
        reported("restore", f"{size}, whole table: no checkpoint yet (ms)", round(large["whole"] * 1e3, 1)),
        reported("restore", f"{size}, after merge (ms)", round(large["merged"] * 1e3, 1)),
        reported(
            "restore",
            "large/small as inserted (x)",
            round(large["inserted"] / small["inserted"], 2),
            f"for {args.large / args.small:.0f}x history",
        ),
        at_most("restore", f"legacy position_state, {args.legacy_rows:,} rows (ms)", round(legacy * 1e3, 1), TARGET_MS),
    ]
    print()
    print_checks(checks, as_json=args.json)
    return checks


def main() -> None:
    run()


if __name__ == "__main__":
    main()
