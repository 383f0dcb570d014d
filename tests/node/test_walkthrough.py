"""The README's paper-venue walk-through, run as written: its three marked bash blocks (venue, node, trade) in a
project folder of their own (the repository's .venv, dev and lock linked in, configs copied, so var/ is the
test's), each with a bounded timeout. The only change: the emulator's port 18080 becomes a free port, in the
blocks and in configs/paper.toml alike. It passes when an order reached the emulator, status showed the slot,
flatten went through the node, and the node stopped cleanly (exit 0) on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- walkthrough: (\w+) -->\n```bash\n(.*?)```", re.S)
PORT = "18080"


def walkthrough_blocks(doc: Path) -> dict[str, str]:
    return dict(BLOCK.findall(doc.read_text()))


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def project_copy(tmp_path: Path, port: str) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for name in (".venv", "dev", "pyproject.toml", "requirements.lock", ".cache", "tests"):
        if (ROOT / name).exists():
            (folder / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "configs", folder / "configs")
    paper = folder / "configs" / "paper.toml"
    paper.write_text(paper.read_text().replace(PORT, port))
    return folder


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "DOLPHIN_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(block: str, cwd: Path, out: Path) -> subprocess.Popen:
    """A terminal running the block: its own session, so Ctrl-C (SIGINT to the group) reaches what it runs."""
    return subprocess.Popen(
        ["bash", "-e", "-c", block],
        cwd=cwd,
        env=clean_env(),
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until(check, proc: subprocess.Popen, what: str, out: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if proc.poll() is not None:
            raise AssertionError(f"{what}: exited {proc.returncode}:\n{out.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s}s:\n{out.read_text()[-3000:]}")
        time.sleep(0.2)


def ctrl_c(proc: subprocess.Popen, timeout_s: float = 40) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def test_the_walkthrough_blocks_are_marked_and_use_the_paper_config():
    blocks = walkthrough_blocks(ROOT / "README.md")
    assert set(blocks) == {"venue", "node", "trade"}
    assert "--port 18080" in blocks["venue"]
    assert "--config configs/paper.toml" in blocks["node"]
    paper = (ROOT / "configs" / "paper.toml").read_text()
    for url in ("http://127.0.0.1:18080", "ws://127.0.0.1:18080/swap-market"):
        assert url in paper and url in (ROOT / "README.md").read_text()
    assert "docs/operator.md" in (ROOT / "README.md").read_text()
    assert "walk-through" in (ROOT / "docs" / "operator.md").read_text()


@pytest.mark.slow
def test_the_readme_walkthrough_trades_on_the_paper_venue(tmp_path):
    port = free_port()
    blocks = {name: body.replace(PORT, port) for name, body in walkthrough_blocks(ROOT / "README.md").items()}
    project = project_copy(tmp_path, port)
    venue_out, node_out, trade_out = tmp_path / "venue.out", tmp_path / "node.out", tmp_path / "trade.out"
    venue = start(blocks["venue"], project, venue_out)
    node = None
    try:
        wait_until(lambda: "API secret" in venue_out.read_text(), venue, "the paper venue", venue_out, 300)
        node = start(blocks["node"], project, node_out)
        log = project / "var" / "paper" / "logs" / "dolphin-node.jsonl"
        wait_until(lambda: log.exists() and '"event":"trading"' in log.read_text(), node, "the node", node_out, 90)
        trade = subprocess.run(
            ["bash", "-e", "-c", blocks["trade"]],
            cwd=project,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=180,
        )
        trade_out.write_text(trade.stdout + trade.stderr)
        assert trade.returncode == 0, trade_out.read_text()[-3000:]
        text = trade.stdout
        assert re.search(r"BTC-USDT-PERP\.BINGX\s+LONG\s+0\.\d+\s+\d[\d.]*\s", text), text  # the slot, entry price
        assert re.search(r"BTC-USDT-PERP\.BINGX\s+0\.\d+", text), text  # `positions`: the order reached the venue
        assert "SUBMITTED reduce-only market close" in text, text  # `flatten --apply` went through the node
        trades = [json.loads(line) for line in text.splitlines() if line.startswith('{"ts"')]
        assert {"order", "fill", "entry"} <= {t["event"] for t in trades}
    finally:
        node_code = ctrl_c(node) if node is not None else None
        venue_code = ctrl_c(venue)
    assert node_code == 0, node_out.read_text()[-3000:]
    assert venue_code == 0, venue_out.read_text()[-3000:]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[-1]["event"] == "stopped" and events[-1]["exit_code"] == 0
