"""Shared fixtures live in tests/fixtures/*.py, one module per real part the suite starts; how the suite runs
(parallel order, solo tests, what fails a run) lives in tests/support/suite_plugin.py."""

import pathlib

pytest_plugins = [
    "tests.support.suite_plugin",
    *sorted(
        f"tests.fixtures.{p.stem}"
        for p in (pathlib.Path(__file__).parent / "fixtures").glob("*.py")
        if not p.stem.startswith("_")
    ),
]
