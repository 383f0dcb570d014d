"""Per-entry decoding in both live-state backends: one malformed value is one listed entry, never a failure of
the whole map, and restore turns it into one rejection with its key and an excerpt."""

from __future__ import annotations

import json

import hazelcast
import pytest

from dolphin_nautilus.restore import parse_live_entries
from dolphin_nautilus.state import MalformedEntry, state_map_name

GOOD = {
    "trade_id": "good",
    "instrument_id": "BTC-USDT-PERP.BINGX",
    "side": "LONG",
    "status": "OPEN",
    "quantity": "0.01",
    "notional": "600",
    "entry_price": "60000",
    "bars_held": 2,
    "seq": 3,
    "ts": 1_800_000_000_000_000_000,
}
BAD_VALUES = {
    "torn": '{"trade_id": "torn", "quantity": ',
    "list": "[1, 2]",
    "number": "17",
    "empty": "",
    "deep": "[" * 100_000 + "]" * 100_000,
}


def write_raw(store, kind, member_getter, raw: dict[str, str]) -> None:
    """Put values as another tool would: raw text, bypassing the store's own encoding."""
    if kind == "local":
        state = json.loads(store.file.read_text())
        state["entries"].update(raw)
        store.file.write_text(json.dumps(state))
        return
    member = member_getter()
    client = hazelcast.HazelcastClient(cluster_members=[member.address], cluster_name=member.cluster_name)
    try:
        target = client.get_map(state_map_name(store.namespace)).blocking()
        for key, value in raw.items():
            target.put(key, value)
    finally:
        client.shutdown()


@pytest.fixture
def store_with_bad_entries(make_store, holder_id, request):
    store = make_store()
    assert store.acquire_lease(holder_id, ttl_s=30)
    store.put("good", GOOD)
    write_raw(store, make_store.kind, lambda: request.getfixturevalue("hazelcast_member"), BAD_VALUES)
    return store


def test_malformed_values_are_listed_by_key_and_the_rest_is_decoded(store_with_bad_entries):
    read = store_with_bad_entries.read_entries()
    assert read.entries == {"good": GOOD}
    assert sorted(m.key for m in read.malformed) == sorted(BAD_VALUES)
    by_key = {m.key: m for m in read.malformed}
    assert by_key["torn"].reason.startswith("malformed JSON") and by_key["torn"].excerpt == BAD_VALUES["torn"]
    assert by_key["list"].reason == "value is a JSON list, not an object"
    assert len(by_key["deep"].excerpt) < 400  # an excerpt, not the whole value
    assert store_with_bad_entries.entries() == {"good": GOOD}  # well-formed entries only


def test_restore_rejects_each_malformed_entry_and_restores_the_good_one(store_with_bad_entries):
    read = store_with_bad_entries.read_entries()
    batch = parse_live_entries(read.entries, "live_state", malformed=read.malformed)
    assert [c.trade_id for c in batch.candidates] == ["good"]
    assert sorted(r.trade_id for r in batch.rejections) == sorted(BAD_VALUES)
    assert all(r.reason.startswith("malformed entry: ") for r in batch.rejections)
    assert {r.trade_id: r.raw_excerpt for r in batch.rejections}["torn"] == BAD_VALUES["torn"]


def test_malformed_entry_is_a_plain_struct():
    entry = MalformedEntry(key="k", reason="r", excerpt="e")
    assert parse_live_entries({}, malformed=[entry]).rejections[0].trade_id == "k"
