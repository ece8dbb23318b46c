"""The benchmark scripts still run: each one in its smallest mode, against the test servers.

Nothing here looks at the figures (performance is measured by running the scripts, never
asserted in timed tests); these tests keep the scripts from rotting as the library changes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import PostgresServer

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _ratio_rows(output: str, label: str) -> list[str]:
    """Result rows of ``label`` that carry an ours/raw ratio such as ``0.964``."""
    return [
        line
        for line in output.splitlines()
        if line.startswith(label) and re.search(r"\s\d+\.\d{3}\s", line)
    ]


def test_bench_core_sqlite() -> None:
    output = _run("bench_core.py", "--quick", "--only", "sqlite")
    for label in ("(a)", "(b)", "(c)"):
        assert _ratio_rows(output, label), output


@pytest.mark.postgres
def test_bench_core_postgres(postgres_server: PostgresServer) -> None:
    output = _run("bench_core.py", "--quick", "--only", "postgres", "--pg", postgres_server.dsn)
    assert len(_ratio_rows(output, "(")) >= 4, output


def test_bench_flask_test_client() -> None:
    output = _run("bench_flask.py", "--quick", "--only", "S1", "S2", "S3")
    for key in ("S1", "S2", "S3"):
        assert [row for row in _ratio_rows(output, key) if "test client" in row], output


def test_bench_flask_under_gunicorn() -> None:
    output = _run("bench_flask.py", "--quick", "--gunicorn", "--only", "S1", "--rounds", "1")
    assert [row for row in _ratio_rows(output, "S1") if "gunicorn sync 1" in row], output


@pytest.mark.postgres
def test_bench_flask_postgres(postgres_server: PostgresServer) -> None:
    output = _run("bench_flask.py", "--quick", "--only", "S4", "--pg", postgres_server.conninfo)
    assert _ratio_rows(output, "S4"), output


def test_bench_observe() -> None:
    output = _run("bench_observe.py", "--quick")
    for label in ("recording on", "count_queries", "otel instrumented"):
        assert _ratio_rows(output, label), output


@pytest.mark.postgres
def test_bench_portal(postgres_server: PostgresServer) -> None:
    output = _run("bench_portal.py", "--pg", postgres_server.dsn, "--repeats", "2", "--ops", "50")
    for driver in ("asyncpg", "aiosqlite"):
        assert re.search(rf"^{driver}\s+\d+\.\d+x", output, re.MULTILINE), output


@pytest.mark.postgres
def test_bench_roundtrips(postgres_server: PostgresServer) -> None:
    output = _run(
        "bench_roundtrips.py", "--pg", postgres_server.conninfo, "--requests", "20", "--rounds", "1"
    )
    trips = dict(re.findall(r"^(raw|ours)\s+(\d+\.\d+)", output, re.MULTILINE))
    assert set(trips) == {"raw", "ours"}, output
    assert float(trips["ours"]) < float(trips["raw"]), output  # BEGIN rides with the SELECT
