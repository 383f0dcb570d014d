"""Reading the restore sources (I/O): the live state, our ClickHouse `position_state`, a legacy table and a
capital ledger file, each a `SourceBatch` (an unreachable source is recorded, never raised). `run_bounded`
bounds the read by the restore actor's timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dolphin_nautilus.restore.candidates import SourceBatch, parse_position_state_rows
from dolphin_nautilus.restore.legacy import read_legacy_position_state
from dolphin_nautilus.restore.live_entries import parse_capital_ledger, parse_live_entries

LIVE_SOURCE = "live_state"
CLICKHOUSE_SOURCE = "clickhouse"
LEDGER_SOURCE = "capital_ledger"
# Live-state keys that are not slots. `account` is kept: parse_live_entries reads it as the capital ledger.
NON_SLOT_LIVE_KEYS = frozenset({"heartbeat", "restarts"})

LegacyReader = Callable[[set[str]], SourceBatch]


def read_sources(
    stores: Any, *, legacy_reader: LegacyReader | None = None, capital_ledger_path: str = ""
) -> list[SourceBatch]:
    """The restore sources in preference order. Cost grows with open slots, not with history."""
    live = _read_live(stores)
    live_ids = {c.trade_id for c in live.candidates}
    open_rows, problem = _call(stores.clickhouse.open_position_states)
    open_ids = {str(r.get("trade_id")) for r in open_rows or ()}
    batches = [live]
    legacy = legacy_reader(live_ids | open_ids) if legacy_reader is not None else None
    legacy_ids = {c.trade_id for c in legacy.candidates} if legacy is not None else set()
    if problem is None:
        # Our rows for trades other sources hold open: a CLOSED here supersedes a stale OPEN there.
        extra = sorted((live_ids | legacy_ids) - open_ids)
        latest, problem = _call(lambda: stores.clickhouse.latest_position_states(trade_ids=extra))
        rows = [*open_rows, *(latest or ())]
    if problem is not None:
        batches.append(SourceBatch(name=CLICKHOUSE_SOURCE, unreachable=problem))
    else:
        batches.append(parse_position_state_rows([exact_ts(r) for r in rows], CLICKHOUSE_SOURCE))
    if legacy is not None:
        batches.append(legacy)
    if capital_ledger_path:
        batches.append(_read_ledger_file(Path(capital_ledger_path)))
    return batches


def _call(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001 - an unreachable store is a recorded source state
        return None, f"{type(exc).__name__}: {exc}"


def _read_live(stores: Any) -> SourceBatch:
    read, problem = _call(stores.live_state.read_entries)  # decoded entry by entry: one bad value is one rejection
    if problem is not None:
        return SourceBatch(name=LIVE_SOURCE, unreachable=problem)
    return parse_live_entries(
        {k: v for k, v in read.entries.items() if k not in NON_SLOT_LIVE_KEYS},
        LIVE_SOURCE,
        malformed=[m for m in read.malformed if m.key not in NON_SLOT_LIVE_KEYS],
    )


def exact_ts(row: Mapping[str, Any]) -> dict[str, Any]:
    """The store gives exact ns beside the DateTime64 columns (datetimes stop at microseconds)."""
    row = dict(row)
    for name in ("ts", "opened_ts"):
        exact = row.pop(f"{name}_ns", None)
        if exact is not None:
            row[name] = exact
    return row


def _read_ledger_file(path: Path) -> SourceBatch:
    if not path.exists():
        return SourceBatch(name=LEDGER_SOURCE, unreachable=f"{path} does not exist")
    try:
        return parse_capital_ledger(path.read_text(), LEDGER_SOURCE)
    except OSError as exc:
        return SourceBatch(name=LEDGER_SOURCE, unreachable=f"{path}: {exc}")


def store_legacy_reader(stores: Any, database: str, table: str) -> LegacyReader:
    """Legacy rows through the store surface: `stores.clickhouse.query` runs the reader's SELECTs in-process
    or in the store service alike (never raises: a failure is an unreachable source)."""

    def read(open_ids: set[str]) -> SourceBatch:
        return read_legacy_position_state(stores.clickhouse, database, table, closed_for_trade_ids=sorted(open_ids))

    return read


class RestoreTimeout(Exception):
    """Reading the restore sources did not finish within the actor's timeout."""


def run_bounded(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Run `fn` on a daemon thread; its result, its exception re-raised, or `RestoreTimeout`. A hung store call
    keeps its thread, but never the node (the thread is a daemon and its late result is discarded)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="restore-read", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise RestoreTimeout(f"restore did not finish within timeout_s={timeout_s}")
    if "error" in box:
        raise box["error"]
    return box["result"]
