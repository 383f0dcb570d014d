"""Signal sources parsed entry by entry (fault codes, size and shape limits) and targets kept as state."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.domain.signal_entries import (
    MAX_SIGNAL_SOURCE_BYTES,
    RejectionMemory,
    SignalTarget,
    parse_signal_document,
    parse_signal_entries,
    parse_signal_entry,
    source_too_large,
)
from dolphin_nautilus.domain.signal_policy import IntentKind, TargetBoard, TargetPolicy

BTC, ETH, SOL = "BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX", "SOL-USDT-PERP.BINGX"
KNOWN = {BTC, ETH, SOL}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"target": 0.8, "strength": 0.5, "ts": 1_781_172_000_000_000_000}, (0.8, 0.5, 1_781_172_000_000_000_000)),
        ({"target": -1}, (-1.0, 1.0, 0)),
        ({"target": 0}, (0.0, 1.0, 0)),
        ({"target": "-0.25", "strength": "1"}, (-0.25, 1.0, 0)),
        ('{"target": 0.3, "ts": 5}', (0.3, 1.0, 5)),
        (b'{"target": 1.0, "ts": 5.0}', (1.0, 1.0, 5)),
        ({"target": -0.0}, (0.0, 1.0, 0)),
    ],
)
def test_valid_entries(value, expected):
    parsed = parse_signal_entry(BTC, value, KNOWN)
    assert isinstance(parsed, SignalTarget)
    assert (parsed.target, parsed.strength, parsed.ts) == expected


@pytest.mark.parametrize(
    ("key", "value", "code", "reason"),
    [
        (BTC, {"target": 1.5}, Code.SIGNAL_ENTRY_INVALID, "target 1.5"),
        (BTC, {"target": float("nan")}, Code.SIGNAL_ENTRY_INVALID, "target nan"),
        (BTC, '{"target": NaN}', Code.SIGNAL_ENTRY_INVALID, "target nan"),
        (BTC, {"target": "inf"}, Code.SIGNAL_ENTRY_INVALID, "target"),
        (BTC, {"target": True}, Code.SIGNAL_ENTRY_INVALID, "target True"),
        (BTC, {"target": [1]}, Code.SIGNAL_ENTRY_INVALID, "target [1]"),
        (BTC, {"target": 10**400}, Code.SIGNAL_ENTRY_INVALID, "target"),
        (BTC, {"strength": 1}, Code.SIGNAL_ENTRY_INVALID, "no target"),
        (BTC, {"target": 0.5, "strength": float("nan")}, Code.SIGNAL_ENTRY_INVALID, "strength nan"),
        (BTC, {"target": 0.5, "strength": 2}, Code.SIGNAL_ENTRY_INVALID, "strength 2"),
        (BTC, {"target": 0.5, "strength": -0.1}, Code.SIGNAL_ENTRY_INVALID, "strength -0.1"),
        (BTC, '{"target": 0.5, "ts": 1e309}', Code.SIGNAL_ENTRY_INVALID, "ts inf"),
        (BTC, {"target": 0.5, "ts": 2**64}, Code.SIGNAL_ENTRY_INVALID, "ts 18446744073709551616"),
        (BTC, {"target": 0.5, "ts": 10**400}, Code.SIGNAL_ENTRY_INVALID, "ts"),
        (BTC, {"target": 0.5, "ts": -1}, Code.SIGNAL_ENTRY_INVALID, "ts -1"),
        (BTC, {"target": 0.5, "ts": 1.5}, Code.SIGNAL_ENTRY_INVALID, "ts 1.5"),
        (BTC, {"target": 0.5, "ts": "soon"}, Code.SIGNAL_ENTRY_INVALID, "ts 'soon'"),
        (BTC, "[0.5]", Code.SIGNAL_ENTRY_INVALID, "list, not an object"),
        (BTC, '{"target": ', Code.SIGNAL_ENTRY_INVALID, "not JSON"),
        (BTC, 0.5, Code.SIGNAL_ENTRY_INVALID, "float, not an object"),
        ("BTCUSDT", {"target": 0.5}, Code.SIGNAL_UNKNOWN_INSTRUMENT, "'BTCUSDT' is not a configured"),
        (7, {"target": 0.5}, Code.SIGNAL_UNKNOWN_INSTRUMENT, "'7'"),
    ],
)
def test_each_bad_entry_is_one_rejection_with_a_code(key, value, code, reason):
    parsed = parse_signal_entry(key, value, KNOWN)
    assert parsed.code is code and reason in parsed.reason, parsed


def test_one_bad_entry_never_blocks_another():
    read = parse_signal_entries(
        {BTC: {"target": 0.5, "ts": 1e309}, ETH: {"target": 0}, SOL: {"target": 0.9}, "junk": {"target": 0.1}}, KNOWN
    )
    assert {k: t.target for k, t in read.targets.items()} == {ETH: 0.0, SOL: 0.9}
    assert sorted(r.key for r in read.rejections) == [BTC, "junk"]


def test_hazelcast_entry_set_pairs_are_read_like_a_mapping():
    read = parse_signal_entries([(BTC, '{"target": 0.5}'), (ETH, "{")], KNOWN)
    assert list(read.targets) == [BTC] and [r.key for r in read.rejections] == [ETH]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[1, 2]", Code.SIGNAL_SOURCE_INVALID),
        (b"{not json", Code.SIGNAL_SOURCE_INVALID),
        (b'"text"', Code.SIGNAL_SOURCE_INVALID),
        (b"\xff\xfe", Code.SIGNAL_SOURCE_INVALID),
        (b" " * (MAX_SIGNAL_SOURCE_BYTES + 1), Code.SIGNAL_SOURCE_TOO_LARGE),
    ],
)
def test_whole_file_shape_and_size_are_one_clear_fault(raw, code):
    read = parse_signal_document(raw, KNOWN)
    assert read.targets == {}
    [rejection] = read.rejections
    assert rejection.code is code and rejection.key == ""


def test_size_is_checked_before_reading():
    assert source_too_large(150_000_000).code is Code.SIGNAL_SOURCE_TOO_LARGE
    assert source_too_large(10) is None


def test_document_and_empty_file():
    raw = json.dumps({BTC: {"target": 0.8, "strength": 1, "ts": 1}, ETH: {"target": 2}}).encode()
    read = parse_signal_document(raw, KNOWN)
    assert list(read.targets) == [BTC] and [r.key for r in read.rejections] == [ETH]
    assert parse_signal_document(b"", KNOWN).targets == {}


def test_rejections_are_reported_once_per_change_and_counted():
    memory = RejectionMemory()
    first = parse_signal_entries({BTC: {"target": 2}, ETH: {"target": 3}}, KNOWN).rejections
    assert len(memory.fresh(first)) == 2
    assert memory.fresh(first) == []  # the same bad entries next poll: nothing new to log
    changed = parse_signal_entries({BTC: {"target": 4}, ETH: {"target": 3}}, KNOWN).rejections
    assert [r.key for r in memory.fresh(changed)] == [BTC]
    assert memory.counts == {"SIGNAL_ENTRY_INVALID": 3}


# ------------------------------------------------------------------------------------- targets are state

POLICY = TargetPolicy(trade_notional=D(1000), enter_above=0.5, retract_step=0.2, min_hold_bars=5)


def test_target_written_before_the_first_bar_is_acted_on_at_the_first_bar():
    board = TargetBoard(POLICY)
    assert board.update(BTC, 0.8, ts=1)
    assert board.next_intent(BTC, None, None, D(0), 0) is None  # no bar yet: kept
    intent = board.next_intent(BTC, D(100), None, D(0), 0)
    assert intent.kind is IntentKind.ENTER and intent.side == "LONG"


def test_exit_target_during_min_hold_is_kept_and_exits_when_min_hold_ends():
    board = TargetBoard(POLICY)
    board.update(BTC, 0.0)
    for bars in range(POLICY.min_hold_bars):
        assert board.next_intent(BTC, D(100), "LONG", D(8), bars) is None
        assert board.is_pending(BTC)
    assert board.next_intent(BTC, D(100), "LONG", D(8), POLICY.min_hold_bars).kind is IntentKind.EXIT


def test_blocked_keeps_the_target_and_a_reject_reopens_it():
    board = TargetBoard(POLICY)
    board.update(BTC, -0.9)
    assert board.next_intent(BTC, D(100), None, D(0), 0, blocked=True) is None
    assert board.next_intent(BTC, D(100), None, D(0), 0).kind is IntentKind.ENTER
    board.accepted(BTC)
    assert board.next_intent(BTC, D(100), None, D(0), 0) is None  # acted on
    board.reopen(BTC)  # the venue rejected the entry
    assert board.next_intent(BTC, D(100), None, D(0), 0).side == "SHORT"


def test_repeated_entry_changes_nothing_and_a_target_asking_nothing_is_settled():
    board = TargetBoard(POLICY)
    assert board.update(BTC, 0.3, ts=7)
    assert board.next_intent(BTC, D(100), None, D(0), 0) is None and not board.is_pending(BTC)
    assert not board.update(BTC, 0.3, ts=7)  # polled again
    assert board.update(BTC, 0.3, ts=8) and board.is_pending(BTC)  # rewritten: a new decision
    assert not board.update(BTC, float("nan")) and board.latest(BTC) == 0.3


def test_latest_target_replaces_a_pending_one():
    board = TargetBoard(POLICY)
    board.update(BTC, 0.9)
    board.update(BTC, -0.9)
    assert board.next_intent(BTC, D(100), None, D(0), 0).side == "SHORT"
