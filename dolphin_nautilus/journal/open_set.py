"""The open set of `position_state_latest`, read in time that follows the open slots, not the history.

`position_state_latest` keeps every row's insert block number (`enable_block_number_column`, persisted
through merges). A small `position_state_open_checkpoint` table holds, as of a block number B, the ids of the
trades that may be open: those with an OPEN row among the rows of their highest seq. The open set is then the
latest rows of (the checkpoint's ids | the trades with an OPEN row in a block after B), filtered to OPEN after
choosing the latest. Why that is enough: a trade's highest seq never goes down (the engine's merge keeps one
row of the highest version), so if its latest row now is an OPEN row from a block up to B, that row was
already among the rows of its highest seq at B and the trade is in the checkpoint; otherwise that OPEN row is
in a later block. A trade whose rows after B are all CLOSED (the journal's usual writes) is not read at all, so
the cost follows the open slots and the trades opened since B, not the number of rows written since. (Readers
order an exact seq tie by ts; the merge keeps the last inserted: that is why the checkpoint keeps every trade
whose highest seq has an OPEN row, not only the ones read as open.) The candidate ids stay in ClickHouse: one
statement selects them in a subquery (`open_candidates_sql`) and reads their latest rows by the primary key.
Without a checkpoint the whole latest table is aggregated (`may_be_open_sql`).

B is read under the store's write lock (`ClickHouseStore.write_lock`, held by every insert), so no insert
is in flight when it is read: every block up to B is committed before the open set is computed. A merge may
drop rows at or below B, but it keeps one of the highest seq, which is all the argument above needs: it holds
in any snapshot of parts, merged or not. Only inserts through this `ClickHouseStore` take the lock: another
process inserting into the same ClickHouse server at the same moment as a checkpoint could commit a block
below B late (documented in docs/design.md §4.1).

`OpenSetCheckpointer` (owned by the store owner, beside the Journal) writes a checkpoint every `interval_s`
when new blocks arrived, and once at close; bulk loaders call `ClickHouseStore.write_open_checkpoint`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

# The latest row per trade: highest (seq, ts); on an exact tie a terminal row first (the conservative choice),
# then the highest row id, so every reader picks the same row.
TERMINAL_FIRST = "status IN ('CLOSED', 'TOMBSTONED')"
LATEST_ORDER = f"seq DESC, ts DESC, {TERMINAL_FIRST} DESC, row_id DESC"


def latest_block_sql(database: str, table: str) -> str:
    """The highest block number of the table's active parts (metadata only: no column is read)."""
    return (
        f"SELECT max(max_block_number) FROM system.parts WHERE database = '{database}' AND table = '{table}' AND active"
    )


def checkpoint_sql(database: str, table: str) -> str:
    return f"SELECT as_of_block, open_trade_ids FROM `{database}`.`{table}` ORDER BY as_of_block DESC LIMIT 1"


def checkpoint_block_sql(database: str, table: str) -> str:
    """The newest checkpoint's block (0 rows when there is none: `max` of no rows would read as 0)."""
    return f"SELECT as_of_block FROM `{database}`.`{table}` ORDER BY as_of_block DESC LIMIT 1"


def may_be_open_sql(database: str, latest: str, where: str = "") -> str:
    """Trades with an OPEN row among the rows of their highest seq: a superset of the open set, now and after
    any merge of the rows read (see the module docstring)."""
    return (
        f"SELECT trade_id FROM `{database}`.`{latest}` {where} GROUP BY trade_id "
        "HAVING countIf(status = 'OPEN') > 0 AND maxIf(seq, status = 'OPEN') = max(seq)"
    )


def open_candidates_sql(database: str, latest: str, checkpoint: str, block: int) -> str:
    """Ids of the trades that may be open now, from the checkpoint as of `block`: its ids and the trades with an
    OPEN row in a later block (see the module docstring), for `trade_id IN (...)`. Any newer checkpoint's ids
    are taken too: one written since the caller read `block` may already have merged that one away (the merge
    keeps the highest as_of_block), and each covers what the rows after `block` do not. The second part reads
    the highest block of each part from its name (unpartitioned: all_<min>_<max>_<level>), so ClickHouse skips
    the older parts without reading them, in the query's own snapshot of parts (a merge cannot race it)."""
    block = int(block)
    return (
        f"SELECT arrayJoin(open_trade_ids) FROM `{database}`.`{checkpoint}` WHERE as_of_block >= {block} "
        f"UNION ALL SELECT trade_id FROM `{database}`.`{latest}` "
        f"WHERE toUInt64(splitByChar('_', _part)[3]) > {block} AND _block_number > {block} AND status = 'OPEN'"
    )


class OpenSetCheckpointer:
    """Writes the open-set checkpoint of one store every `interval_s` (when new blocks arrived) and at close.

    A failed checkpoint is logged and retried at the next interval: restore stays correct without one (it reads
    from the previous checkpoint, or the whole table), only slower.
    """

    def __init__(self, store: Any, interval_s: float = 5.0) -> None:
        self.store = store
        self.interval_s = interval_s
        self.written = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"open-set-checkpoint-{store.namespace}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.checkpoint()

    def checkpoint(self) -> bool:
        """One checkpoint if the latest table moved since the last one; False when it failed."""
        try:
            self.store.write_open_checkpoint(only_if_new=True)
        except Exception as exc:  # noqa: BLE001 - a store outage: restore reads from the older checkpoint
            if str(exc) != self.last_error:
                log.warning("open-set checkpoint failed (restore falls back to an older one): %s", exc)
            self.last_error = str(exc)
            return False
        self.written += 1
        self.last_error = ""
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop the timer and write a last checkpoint (after the journal's last insert)."""
        self._stop.set()
        self._thread.join(timeout)
        started = time.monotonic()
        self.checkpoint()
        log.debug("closing checkpoint took %.3fs", time.monotonic() - started)
