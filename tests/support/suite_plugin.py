"""Pytest plugin for the whole suite: how it runs in parallel (pytest-xdist, `./dev test` passes `-n 2 --dist
loadgroup`), and what fails a run besides a failing test.

- Longest first: on an xdist worker the collected tests are ordered by the seconds recorded in
  tests/measured_durations.txt (a test in an `xdist_group` counts as its whole group, which runs on one
  worker), so the long tests start first and the short ones fill the tail. The order of tests that tie keeps
  the collection order. Refresh the file with `DOLPHIN_RECORD_DURATIONS=tests/measured_durations.txt
  ./dev test`; a test missing from it counts as DEFAULT_SECONDS.
- `@pytest.mark.solo`: the test runs while no other test runs on another worker (a shared/exclusive file
  lock in the run's shared temporary folder), for tests that measure time or kill processes on purpose.
- A skipped test fails the run (the suite has no optional parts), and so does a stale .venv: one installed
  from another pyproject.toml or requirements.lock than the working tree's (`./dev` re-installs it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DURATIONS_FILE = REPO / "tests" / "measured_durations.txt"
RECORD_ENV = "DOLPHIN_RECORD_DURATIONS"
DEFAULT_SECONDS = 1.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "solo: runs while no other test of the run runs (parallel runs)")
    stale = stale_venv()
    if stale:
        raise pytest.UsageError(stale)


def stale_venv() -> str | None:
    """The repo's .venv records the hash of pyproject.toml + requirements.lock it was installed from."""
    venv = REPO / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve():
        return None  # another environment: its owner keeps it current
    stamp = venv / ".dolphin-installed"
    want = hashlib.sha256(b"".join((REPO / f).read_bytes() for f in ("pyproject.toml", "requirements.lock")))
    have = stamp.read_text().strip() if stamp.exists() else "(none)"
    if have == want.hexdigest():
        return None
    return (
        f"dolphin: {venv} is stale (installed from another pyproject.toml/requirements.lock): "
        "run `./dev setup` or `./dev test`, which re-install it"
    )


def measured_seconds() -> dict[str, float]:
    if not DURATIONS_FILE.exists():
        return {}
    seconds = {}
    for line in DURATIONS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            value, nodeid = line.split(" ", 1)
            seconds[nodeid] = float(value)
    return seconds


def _plain(nodeid: str) -> str:
    """The node id without the "@group" suffix that xdist's loadgroup mode appends."""
    return nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return None
    return marker.args[0] if marker.args else marker.kwargs.get("name")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a serial run keeps the files' order
    seconds = measured_seconds()
    own = {item.nodeid: seconds.get(_plain(item.nodeid), DEFAULT_SECONDS) for item in items}
    group_total: dict[str, float] = defaultdict(float)
    for item in items:
        if (group := _group(item)) is not None:
            group_total[group] += own[item.nodeid]
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        first_index.setdefault(_group(item) or item.nodeid, index)

    def key(indexed: tuple[int, pytest.Item]) -> tuple[float, int, int]:
        index, item = indexed
        group = _group(item)
        weight = group_total[group] if group is not None else own[item.nodeid]
        # A group's tests stay together, in their collection order, where the group's weight puts them.
        return (-weight, first_index[group or item.nodeid], index)

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]


@pytest.fixture(autouse=True)
def _solo_lock(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    # Every worker's basetemp is a folder of the run's one shared basetemp.
    lock_path = tmp_path_factory.getbasetemp().parent / "solo.lock"
    mode = fcntl.LOCK_EX if request.node.get_closest_marker("solo") else fcntl.LOCK_SH
    with lock_path.open("a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_durations: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[_plain(report.nodeid)] += report.duration  # setup + call + teardown


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(
            f"dolphin: {len(skipped)} test(s) skipped; the suite has no optional parts, so this fails the run",
            red=True,
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller sees every report and decides
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    target = os.environ.get(RECORD_ENV)
    if target and _durations:
        lines = [f"{s:.2f} {nodeid}" for nodeid, s in sorted(_durations.items(), key=lambda kv: (-kv[1], kv[0]))]
        header = "# seconds (setup+call+teardown) per test, longest first; read by tests/support/suite_plugin.py\n"
        Path(target).write_text(header + "\n".join(lines) + "\n")
