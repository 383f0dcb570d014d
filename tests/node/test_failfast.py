"""What a restart cannot fix ends start-up within seconds, with its own exit code and a message that says what
to do: a real `dolphin-node` subprocess against the loopback BingX emulator (wrong secret, unknown key, a
hedge-mode account, an instrument the venue does not list). Every WARNING+ line such a start-up writes carries
its fault code. The bound on wall time is a bound (the start-up timeout is 90 s, as in production), not a
benchmark."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.launch.node_exits import (
    EXIT_ACCOUNT_MODE,
    EXIT_CODES,
    EXIT_CREDENTIALS,
    EXIT_INSTRUMENTS,
)

from .conftest import API_KEY, API_SECRET, files_containing, node, write_config

# Bounds, not benchmarks: the production start-up timeout is 90 s. The node itself (its first log line to its
# refusal) needs about 2 s; the process as a whole adds the Python+Nautilus import, 3-8 s on a loaded 2-core box.
NODE_BOUND_S = 10.0
PROCESS_BOUND_S = 20.0
SYMBOL = "BTC-USDT"
# The bounds hold with the machine to itself: in a parallel run these tests run while no other test runs.
pytestmark = pytest.mark.solo


def start_refused(tmp_path: Path, emulator, *, extra: str = "") -> tuple[int, float, list[dict], list[dict]]:
    """Run the node to its end; (exit code, seconds, JSON log lines, JSON stdout+stderr lines)."""
    state_root = tmp_path / "var"
    config = write_config(
        tmp_path / "node.toml",
        namespace="ff",
        state_dir=state_root,
        rest_url=emulator.rest_url,
        ws_url=emulator.ws_market_url,
        extra=extra,
    )
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    started = time.monotonic()
    with out.open("w") as o, err.open("w") as e:
        proc = node("--config", str(config), "--startup-timeout", "90", stdout=o, stderr=e)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the node did not end within 60 s: {out.read_text()[-3000:]}") from None
    elapsed = time.monotonic() - started
    log_file = state_root / "ff" / "logs" / "dolphin-node.jsonl"
    logged = [json.loads(line) for line in log_file.read_text().splitlines()] if log_file.exists() else []
    printed = [json.loads(line) for line in (out.read_text() + err.read_text()).splitlines() if line.startswith("{")]
    assert files_containing(tmp_path, API_SECRET) == [], "the secret leaked into a file"
    return code, elapsed, logged, printed


def assert_fault_lines_carry_codes(lines: list[dict]) -> None:
    faults = [line for line in lines if line.get("level") in ("WARNING", "ERROR", "CRITICAL")]
    assert faults, "a refused start-up writes at least its refusal"
    missing = [line for line in faults if not line.get("code")]
    assert missing == [], f"fault lines without a code: {missing}"
    unknown = {line["code"] for line in faults} - {c.value for c in Code}
    assert unknown == set(), f"codes outside the taxonomy: {unknown}"


def assert_bounded(elapsed: float, logged: list[dict]) -> None:
    assert elapsed < PROCESS_BOUND_S, f"the process took {elapsed:.1f}s"
    first, last = (datetime.fromisoformat(logged[i]["ts"]) for i in (0, -1))
    assert (last - first).total_seconds() < NODE_BOUND_S, f"the node took {last - first} from start to exit"


def refusal(lines: list[dict]) -> dict:
    refused = [line for line in lines if line["event"] == "refused"]
    assert refused, lines
    return refused[-1]


@pytest.mark.parametrize("wrong", ["secret", "key"])
def test_refused_credentials_end_start_up_at_once_with_exit_7(bingx_emulator_factory, tmp_path, wrong):
    # The emulator knows other credentials than the node sends: a wrong secret (100001) or an unknown key (100413).
    emulator = bingx_emulator_factory(
        api_key=API_KEY if wrong == "secret" else "another-key",
        api_secret="another-secret-0123456789",
        symbols=[SYMBOL],
    )
    code, elapsed, logged, printed = start_refused(tmp_path, emulator)
    assert code == EXIT_CREDENTIALS == 7 and not EXIT_CODES[code].restart
    assert_bounded(elapsed, logged)
    line = refusal(logged)
    assert line["code"] == "VENUE_CREDENTIALS_REFUSED" and line["exit_code"] == 7
    assert line["venue_code"] == (100001 if wrong == "secret" else 100413)
    assert "BINGX_API_KEY / BINGX_API_SECRET" in line["message"] and "IP whitelist" in line["message"]
    assert_fault_lines_carry_codes(logged)
    assert_fault_lines_carry_codes(printed)


def test_a_hedge_mode_account_ends_start_up_at_once_with_exit_8(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory(api_key=API_KEY, api_secret=API_SECRET, symbols=[SYMBOL], dual_side_position=True)
    code, elapsed, logged, printed = start_refused(tmp_path, emulator)
    assert code == EXIT_ACCOUNT_MODE == 8 and not EXIT_CODES[code].restart
    assert_bounded(elapsed, logged)
    line = refusal(logged)
    assert line["code"] == "VENUE_HEDGE_MODE" and "bingx.switch_to_one_way = true" in line["message"]
    assert emulator.state.dual_side, "the account is left as it was"
    assert_fault_lines_carry_codes(logged)
    assert_fault_lines_carry_codes(printed)


def test_an_instrument_the_venue_does_not_list_ends_start_up_with_exit_9(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory(api_key=API_KEY, api_secret=API_SECRET, symbols=["ETH-USDT"])
    code, elapsed, logged, printed = start_refused(tmp_path, emulator)
    assert code == EXIT_INSTRUMENTS == 9 and not EXIT_CODES[code].restart
    assert_bounded(elapsed, logged)
    line = refusal(logged)
    assert line["code"] == "INSTRUMENT_NOT_TRADABLE" and "BTC-USDT-PERP.BINGX" in line["message"]
    assert "strategy.instruments" in line["message"]
    assert_fault_lines_carry_codes(logged)
    assert_fault_lines_carry_codes(printed)
