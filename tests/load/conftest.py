"""Collects the load tests' throughput lines and prints them in pytest's terminal summary."""

from __future__ import annotations

from typing import Any

import pytest

# The shared checks of tests/load/harness.py report like the tests' own asserts.
pytest.register_assert_rewrite("tests.load.harness")

REPORT: list[str] = []


@pytest.fixture
def load_report() -> list[str]:
    """Append one line per load run; shown under "gunicorn load" at the end of the session."""
    return REPORT


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORT:
        terminalreporter.section("gunicorn load")
        for line in REPORT:
            terminalreporter.write_line(line)
