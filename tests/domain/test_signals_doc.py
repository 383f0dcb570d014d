"""docs/signals.md: its example config loads and its example signal file parses to the targets it promises."""

from __future__ import annotations

import re
from pathlib import Path

from dolphin_nautilus.config import load_config
from dolphin_nautilus.domain.signal_entries import parse_signal_document

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "signals.md").read_text()


def test_example_config_loads_with_local_stores_and_the_signal_map(tmp_path):
    toml = re.search(r"```toml\n(.*?)```", DOC, re.S).group(1)
    toml = "\n".join(line[3:] for line in toml.splitlines())  # the block is indented in a numbered list
    path = REPO / "configs" / f"paper-doc-test-{tmp_path.name}.toml"
    path.write_text(toml)
    try:
        config = load_config(path)
    finally:
        path.unlink()
    assert (config.node.namespace, config.strategy.signal_source, config.hazelcast.backend) == (
        "pink",
        "hazelcast",
        "local",
    )
    assert config.hazelcast.path == "live_state" and config.node.state_dir == "var"


def test_example_signal_file_parses_to_long_btc_and_flat_eth():
    body = re.search(r"<<'EOF'\n(.*?)\n\s*EOF", DOC, re.S).group(1)
    read = parse_signal_document(body.encode(), ["BTC-USDT-PERP.BINGX", "ETH-USDT-PERP.BINGX"])
    assert read.rejections == ()
    assert {k: t.target for k, t in read.targets.items()} == {"BTC-USDT-PERP.BINGX": 0.8, "ETH-USDT-PERP.BINGX": 0.0}
