"""Benchmark: `python -m dolphin_nautilus.restore.bench [open_slots] [legacy_rows]`.

Prints the decide() time for N open slots (two sources each) and the legacy chDB read time for a table of
M history rows, so the cost of each part can be compared in one run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from decimal import Decimal

from dolphin_nautilus.restore import Candidate, decide, read_legacy_position_state


def _candidate(source: str, i: int, seq: int) -> Candidate:
    return Candidate(source=source, trade_id=f"t{i}", instrument_id=f"C{i}-USDT-PERP.BINGX", side="LONG",
                     status="OPEN", quantity=Decimal(1), notional=Decimal(10), entry_price=Decimal(10), bars_held=1,
                     realized_pnl=Decimal(0), fees=Decimal(0), legs=0, seq=seq, ts=seq, opened_ts=1, order_seq=1,
                     raw="{}")


def bench_decide(open_slots: int) -> float:
    live = [_candidate("hazelcast", i, 2) for i in range(open_slots)]
    store = [_candidate("clickhouse", i, 1) for i in range(open_slots)]
    known = {c.instrument_id for c in live}
    start = time.perf_counter()
    decision = decide([("hazelcast", live), ("clickhouse", store)], known, 250, 0)
    elapsed = time.perf_counter() - start
    assert len(decision.slots) == open_slots
    return elapsed


def bench_legacy(rows: int) -> float:
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{tempfile.mkdtemp()}")
    client.command("CREATE DATABASE bench")
    client.command("CREATE TABLE bench.position_state (trade_id String, asset String, side String, status String, "
                   "quantity Float64, notional Float64, bars_held Int32, ts DateTime64(3)) ENGINE=MergeTree ORDER BY trade_id")
    client.command(f"INSERT INTO bench.position_state SELECT toString(number % 1000), 'BTCUSDT', 'LONG', "
                   f"if(number % 1000 < 995, 'CLOSED', 'OPEN'), 1, 10, 1, toDateTime64(number, 3) FROM numbers({rows})")
    start = time.perf_counter()
    batch = read_legacy_position_state(client, "bench", closed_for_trade_ids=())
    elapsed = time.perf_counter() - start
    assert len(batch.candidates) == 5, batch
    return elapsed


def main() -> None:
    open_slots = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    legacy_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    small = bench_decide(10)
    large = bench_decide(open_slots)
    print(f"decide: 10 slots {small * 1e3:.2f} ms; {open_slots} slots {large * 1e3:.2f} ms "
          f"(ratio {large / small:.1f}x for {open_slots / 10:.0f}x slots)")
    legacy = bench_legacy(legacy_rows)
    print(f"legacy read: {legacy_rows} history rows, 1000 trades, 5 open -> {legacy * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
