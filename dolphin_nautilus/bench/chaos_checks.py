"""What a chaos run checks, against the emulator's own orders, fills and positions (the venue's truth):

- restore: the slots of every restart's restore_report.json equal the venue position at that restart;
- no zero-size OPEN latest position_state record; no duplicated fact (one row id per venue fill, per
  position_state (trade, seq)); no lost fact (every venue fill of our client-order prefix has a `fills` row);
- no reused client order id (the venue refused none as a duplicate, and no id appears twice at the venue);
- no oversell or flip (no fill of ours takes the venue position across zero).

Each finding becomes a violation in `ChaosFigures`; `summary_line` prints the run's one line of figures.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from dolphin_nautilus.bench.chaos_scenario import DATABASE, KILL_KINDS, PREFIX, ChaosFigures
from dolphin_nautilus.config import load_config
from dolphin_nautilus.node.stores import open_node_stores

# The venue's answer to a repeated client order id. The code is matched as a whole number: a nanosecond
# timestamp such as 08:18:28.673101481Z contains the same digits (a false "reused id" in a 200-cycle run).
DUPLICATE_ID_MARKER = re.compile(r"(?<!\d)101481(?!\d)|clientOrderID cannot be repeated|Duplicate ClientOrderId")


def check_restore_report(
    figures: ChaosFigures, state_dir: Path, life: int, venue_qty: Decimal, started_wall: float
) -> None:
    """The restart's restore report exists and its slots add up to the venue position at the restart."""
    report = state_dir / "restore_report.json"
    if not report.exists() or report.stat().st_mtime < started_wall:
        figures.violate("restore_report_missing", f"life {life}: no restore_report.json written")
        return
    data = json.loads(report.read_text())
    restored = sum(
        (Decimal(str(s["quantity"])) * (1 if s["side"] == "LONG" else -1) for s in data.get("slots", [])),
        Decimal(0),
    )
    if restored != venue_qty:
        figures.violate("restore_mismatch", f"life {life}: restored {restored}, venue {venue_qty}")


def check_facts(
    figures: ChaosFigures,
    config_path: Path,
    state_dir: Path,
    fills: list,
    orders: list,
    venue_position: Decimal,
    *,
    require_no_lost_facts: bool,
) -> None:
    """The journal after the run against the venue's fills and orders, and the node's logs for refused ids."""
    stores = open_node_stores(load_config(config_path), state_dir)  # the store service, as dolphin-ctl reads
    try:
        db = stores.clickhouse
        rows = db.query(f"SELECT venue_trade_id, count(DISTINCT row_id) FROM {DATABASE}.fills GROUP BY venue_trade_id")
        fill_rows = {str(v): n for v, n in rows.result_rows}
        seqs = db.query(
            f"SELECT trade_id, seq, count(DISTINCT row_id) FROM {DATABASE}.position_state GROUP BY trade_id, seq "
            "HAVING count(DISTINCT row_id) > 1"
        )
        latest_open = db.open_position_states()
    finally:
        stores.close()
    for venue_trade_id, count in fill_rows.items():
        if count > 1:
            figures.violate("duplicated_fact", f"fill {venue_trade_id}: {count} row ids")
    for trade_id, seq, count in seqs.result_rows:
        figures.violate("duplicated_fact", f"position_state {trade_id} seq {seq}: {count} row ids")
    lost = [f for f in fills if str(f.trade_id) not in fill_rows]
    figures.lost_facts = len(lost)
    if require_no_lost_facts:
        for fill in lost:
            figures.violate("lost_fact", f"venue fill {fill.trade_id} of {fill.client_order_id}")
    for row in latest_open:
        if Decimal(str(row.get("quantity", 0))) == 0:
            figures.violate("zero_size_open", f"trade {row.get('trade_id')}")
    if latest_open and venue_position == 0:
        figures.violate("ghost_open_record", f"{len(latest_open)} OPEN latest record(s), venue flat")
    check_client_order_ids(figures, state_dir, orders)
    check_no_flip(figures, fills)


def check_client_order_ids(figures: ChaosFigures, state_dir: Path, orders: list) -> None:
    """No id twice at the venue, and none refused by the venue as a repeated id (found in the node's logs)."""
    ids = Counter(o.client_order_id for o in orders)
    for coid, n in ids.items():
        if n > 1:
            figures.violate("reused_client_order_id", f"{coid} x{n} at the venue")
    refused = set()  # client order ids the venue refused as repeated (one id is logged on several lines)
    for path in sorted((state_dir / "logs").glob("*")):
        for line in path.read_text(errors="replace").splitlines():
            if DUPLICATE_ID_MARKER.search(line):
                refused.update(re.findall(rf"{PREFIX}-[0-9A-Za-z-]+", line) or [line[:120]])
    for coid in sorted(refused):
        figures.violate("reused_client_order_id", f"{coid} refused by the venue as a repeated id")


def check_no_flip(figures: ChaosFigures, fills: list) -> None:
    """No fill of ours takes the venue position across zero."""
    position = Decimal(0)
    for fill in sorted(fills, key=lambda f: (f.time, f.trade_id)):
        before = position
        position += fill.qty if fill.side == "BUY" else -fill.qty
        if before != 0 and position != 0 and (before > 0) != (position > 0):
            figures.violate("oversell_flip", f"fill {fill.trade_id}: {before} -> {position}")


def summary_line(figures: ChaosFigures, args: Any, cycles: int, venue_orders: int, venue_fills: int, root: Path) -> str:
    """The run's one line of figures (tests/chaos parses it)."""
    f = figures
    k2t, k2o = percentile_text(f.kill_to_trading_s), percentile_text(f.kill_to_order_s)
    kills = " ".join(f"{k}={f.kills[k]}" for k in KILL_KINDS)
    violations = " ".join(f"{k}={n}" for k, n in sorted(f.violations.items())) or "none"
    exits = ",".join(f"{c}x{n}" for c, n in sorted(f.exits.items())) or "-"
    return (
        f"chaos seed={args.seed} backend={args.backend} cycles={cycles} kills {kills} "
        f"venue_orders={venue_orders} fills={venue_fills} "
        f"restarts={f.restarts} self_exits={exits} kill_to_trading_p50/p95={k2t} kill_to_order_p50/p95={k2o} "
        f"lost_facts={f.lost_facts}{'' if args.require_no_lost_facts else '(not required)'} "
        f"violations: {violations} workdir={root}"
    )


def percentile_text(samples: list[float]) -> str:
    if not samples:
        return "-"
    ordered = sorted(samples)
    return f"{statistics.median(ordered):.1f}/{ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]:.1f}s"
