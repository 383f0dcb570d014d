"""The live signal sources, entry by entry (issue 12 item 6): one bad entry never blocks another; every
rejection is logged once per change with its fault code on the `dolphin` log, and counted under
SIGNAL_REJECTIONS_CACHE_KEY for `dolphin-ctl status`; the good entries reach the strategy."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from dolphin_nautilus.actors.signals import LiveStateSignalActor, LiveStateSignalActorConfig, read_signal_file
from dolphin_nautilus.contracts.signals import SIGNAL_REJECTIONS_CACHE_KEY, decode_signal_rejections
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.node.signal_map import FileSignalMap
from dolphin_nautilus.resources import NodeResources, register_resources, unregister_resources

from .test_targets_in_backtest import BTC, T0, run_strategy, sent

ETH = "ETH-USDT-PERP.BINGX"
KNOWN = [BTC, ETH]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_bad_entry_beside_a_good_one_is_rejected_alone(tmp_path):
    doc = '{"BTC-USDT-PERP.BINGX": {"target": 0.8, "ts": 5}, "ETH-USDT-PERP.BINGX": {"target": 0.5, "ts": 1e309},'
    doc += ' "XRP-USDT-PERP.BINGX": {"target": 1}, "DOGE": 3}'
    read = FileSignalMap(write(tmp_path / "s.json", doc)).read(KNOWN)
    assert list(read.targets) == [BTC] and read.targets[BTC].target == 0.8
    codes = sorted((r.key, r.code) for r in read.rejections)
    assert codes == [
        ("DOGE", Code.SIGNAL_UNKNOWN_INSTRUMENT),
        (ETH, Code.SIGNAL_ENTRY_INVALID),
        ("XRP-USDT-PERP.BINGX", Code.SIGNAL_UNKNOWN_INSTRUMENT),
    ]


def test_the_whole_file_shape_and_size_are_checked(tmp_path):
    listed = FileSignalMap(write(tmp_path / "l.json", "[1, 2]")).read(KNOWN)
    assert listed.targets == {} and [r.code for r in listed.rejections] == [Code.SIGNAL_SOURCE_INVALID]
    big = tmp_path / "big.json"
    with big.open("wb") as handle:  # sparse: 2 MB that is never read
        handle.truncate(2_000_000)
    assert [r.code for r in FileSignalMap(big).read(KNOWN).rejections] == [Code.SIGNAL_SOURCE_TOO_LARGE]
    assert FileSignalMap(tmp_path / "missing.json").read(KNOWN).targets == {}


def test_a_bad_csv_row_is_one_rejection_naming_its_line(tmp_path):
    csv_file = write(tmp_path / "s.csv", f"ts,instrument_id,target\n1,{BTC},0.5\n2,{BTC},nan\n3,{ETH},-0.4\n")
    rows, rejected = read_signal_file(csv_file, KNOWN)
    assert rows == [(1, BTC, 0.5, 1.0), (3, ETH, -0.4, 1.0)]
    assert [(r.key, r.code) for r in rejected] == [(f"{BTC} (line 3)", Code.SIGNAL_ENTRY_INVALID)]


def test_live_map_good_entry_trades_bad_entry_logged_once_with_its_code_and_counted(tmp_path, caplog):
    path = write(
        tmp_path / "tst.signals.json",
        json.dumps({BTC: {"target": 0.8, "ts": 1}, ETH: {"target": 0.5, "strength": "NaN"}}),
    )
    register_resources("tst", NodeResources(signal_map=FileSignalMap(path)))
    actor = LiveStateSignalActor(
        LiveStateSignalActorConfig(component_id="SignalMap", namespace="tst", instrument_ids=KNOWN, poll_interval_s=5.0)
    )
    try:
        with caplog.at_level(logging.INFO, logger="dolphin"):
            engine, strategy, facts, _ = run_strategy([], bars=4, actors=[actor])
    finally:
        unregister_resources("tst")
    assert [coid for _ts, coid, _r in sent(facts, "e")] and strategy.book.live_slot(BTC).side == "LONG"
    assert sent(facts, "e")[0][0] <= T0 + 60_000_000_000  # the good entry traded at once, the bad one aside
    rejected = [r for r in caplog.records if getattr(r, "event", "") == "signal_rejected"]
    assert len(rejected) == 1, [r.getMessage() for r in rejected]  # polled every 5 s for 3 minutes: logged once
    assert rejected[0].code == "SIGNAL_ENTRY_INVALID" and rejected[0].levelno >= logging.INFO
    assert "strength" in rejected[0].getMessage() and rejected[0].key == ETH
    report = decode_signal_rejections(bytes(engine.kernel.cache.get(SIGNAL_REJECTIONS_CACHE_KEY)))
    assert report.counts == {"SIGNAL_ENTRY_INVALID": 1}
    assert [(r.key, r.code) for r in report.current] == [(ETH, "SIGNAL_ENTRY_INVALID")]
    assert strategy.diagnostics["SIGNAL_UNKNOWN_INSTRUMENT"] == 0  # the bad entry never reached the strategy
