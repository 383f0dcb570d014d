"""Child process for the kill -9 test: `python -m tests.journal.crash_child CONFIG_JSON SPOOL START STOP`.

Appends facts START..STOP-1 in small bursts and prints `accepted N` (facts START..START+N-1 are accepted)
whenever the count grows; with START == STOP it only replays the spool, flushes and prints the row ids."""

from __future__ import annotations

import json
import sys
import time

import msgspec

from dolphin_nautilus.domain.facts import FACT_TYPES
from dolphin_nautilus.journal.settings import JournalConfig, StoreConfig
from dolphin_nautilus.journal.writer import Journal
from tests.journal.conftest import open_test_store
from tests.journal.factory import make_fact


def main() -> None:
    config = msgspec.json.decode(sys.argv[1], type=StoreConfig)
    spool, start, stop = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = open_test_store(config)
    journal = Journal(store, JournalConfig(spool_dir=spool, batch_size=500, flush_interval=0.002))
    if start == stop:
        assert journal.flush(60)
        ids = {t.table: sorted(store.row_ids(t.table)) for t in FACT_TYPES}
        counts = {t.table: store.count(t.table) for t in FACT_TYPES}
        print(json.dumps({"ids": ids, "counts": counts, "status": msgspec.to_builtins(journal.close())}), flush=True)
        return
    print("started", flush=True)
    reported = 0
    for i in range(start, stop):
        journal.append(make_fact(i))
        if i % 50 == 0:
            time.sleep(0.0005)  # a live flow, not one burst: the writer interleaves with the appends
            if journal.accepted > reported:
                reported = journal.accepted
                print(f"accepted {reported}", flush=True)
    while journal.accepted < stop - start:  # keep reporting while the writer catches up
        time.sleep(0.002)
        if journal.accepted > reported:
            reported = journal.accepted
            print(f"accepted {reported}", flush=True)
    sys.stdin.read()  # wait to be killed


if __name__ == "__main__":
    main()
