"""A node process for the tests: opens the node stores in the given mode, journals facts, reports on stdout.

    python -m tests.journal_service.node_child MODE CONFIG_JSON STATE_DIR COUNT

Prints one JSON line after `sync()` (the facts are accepted), then, in inline mode, flushes, reports the
stored row counts and closes; in process mode it appends COUNT more facts and waits to be killed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import msgspec

from dolphin_nautilus.config import Config
from dolphin_nautilus.node.stores import open_node_stores
from tests.journal.factory import make_facts


def main(mode: str, config_json: str, state_dir: str, count: int) -> None:
    stores = open_node_stores(msgspec.json.decode(config_json, type=Config), Path(state_dir), mode=mode)
    for fact in make_facts(0, count):
        stores.journal.append(fact)
    synced = stores.journal.sync(60)
    report = {
        "synced": synced,
        "node_id": stores.node_id,
        "chdb_loaded": "chdb" in sys.modules,
        "service_pid": getattr(getattr(stores.journal, "service", None), "pid", None),
    }
    if mode == "inline":
        report["flushed"] = stores.journal.flush(60)
        report["counts"] = {t: stores.clickhouse.count(t) for t in ("trade_entries", "fills", "anomalies")}
        stores.close()
        print(json.dumps(report), flush=True)
        return
    print(json.dumps(report), flush=True)
    for fact in make_facts(count, 2 * count):
        stores.journal.append(fact)
    time.sleep(120)  # the test kills us


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
