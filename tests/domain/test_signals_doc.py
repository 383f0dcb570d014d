"""docs/signals.md: its example targets the shipped paper config and its signal file parses to what it promises."""

from __future__ import annotations

import re
from pathlib import Path

from dolphin_nautilus.config import load_config
from dolphin_nautilus.domain.signal_entries import parse_signal_document

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "signals.md").read_text()


def test_the_example_runs_on_the_shipped_paper_config_and_writes_where_it_reads():
    """The doc's example writes the signal file of configs/paper.toml's namespace, where its node reads it."""
    config = load_config(REPO / "configs" / "paper.toml")
    assert (config.node.namespace, config.strategy.signal_source, config.hazelcast.backend) == (
        "paper",
        "hazelcast",
        "local",
    )
    path = (
        f"{config.node.state_dir}/{config.node.namespace}/{config.hazelcast.path}/{config.node.namespace}.signals.json"
    )
    assert path in DOC


def test_example_signal_file_parses_to_long_btc_and_flat_eth():
    body = re.search(r"<<'EOF'\n(.*?)\n\s*EOF", DOC, re.S).group(1)
    read = parse_signal_document(body.encode(), ["BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"])
    assert read.rejections == ()
    assert {k: t.target for k, t in read.targets.items()} == {"BTC-USDT-PERP.BINGX": 0.8, "ETH-USDT-PERP.BINGX": 0.0}
