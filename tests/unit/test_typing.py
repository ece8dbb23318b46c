"""The public API is typed: ``mypy --strict`` passes on a small user application (sync SQLite
behind the Flask plugin, an async config used from sync and from async code) and rejects a copy
of it with misspelt session methods; the session types handed out are the drivers' own.

One mypy run checks all three files (a cache in the test's temporary directory); the
application is also run, so it is a real program and not only a type-checking fixture.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sqlspec

APP_DIR = Path(__file__).parent / "typed_app"
CHECKOUT = Path(sqlspec.__file__).resolve().parent.parent

#: (correct call, misspelt call) pairs put into the copy; each must be reported as attr-defined.
TYPOS = [
    ('db.execute("INSERT INTO users', 'db.exceute("INSERT INTO users', "SyncSession", "exceute"),
    ('db.select_one("SELECT id, email', 'db.selct("SELECT id, email', "SyncSession", "selct"),
    ('db.execute("CREATE TABLE users', 'db.exceute("CREATE TABLE users', "SqliteDriver", "exceute"),
    ("notes_db.commit()", "notes_db.comit()", "PortalSession", "comit"),
    ("await db.select(", "await db.selct(", "AsyncSession", "selct"),
    ("await db.commit()", "await db.comit()", "AiosqliteDriver", "comit"),
]

EXPECTED_REVEALS = {
    "R1": "sqlspec.adapters.sqlite.SqliteDriver",
    "R2": "sqlspec.adapters.sqlite.SqliteDriver",
    "R3": "sqlspec.adapters.duckdb.DuckDBDriver",
    "R4": "sqlspec.adapters.aiosqlite.AiosqliteDriver",
    "R5": "sqlspec.portal_session.PortalSession",
    "R6": "sqlspec.adapters.sqlite.SqliteDriver",
    "R7": "contextlib.AbstractContextManager[sqlite3.Connection",
    "R8": "contextlib.AbstractAsyncContextManager[aiosqlite.core.Connection",
    "R9": "sqlspec.protocols.SyncSession",
    "R10": "sqlspec.protocols.SessionConnectionProtocol",
    "R11": "sqlspec.adapters.sqlite.SqliteDriver",
    "R12": "sqlspec.result.SQLResult[dict[str, Any]]",
    "R13": "sqlspec.result.SQLResult[conformance.Row]",
    "R14": "conformance.Row",
    "R15": "dict[str, Any] | None",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(CHECKOUT), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    return env


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy --strict's messages per checked file, from one run over the three files."""
    pytest.importorskip("mypy")
    work = tmp_path_factory.mktemp("typed_app")
    for name in ("app.py", "conformance.py"):
        shutil.copy(APP_DIR / name, work / name)
    source = (APP_DIR / "app.py").read_text(encoding="utf-8")
    for correct, misspelt, _, _ in TYPOS:
        assert source.count(correct) == 1, correct
        source = source.replace(correct, misspelt)
    (work / "app_typo.py").write_text(source, encoding="utf-8")
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent"]
    command += ["--cache-dir", str(work / ".mypy_cache"), "--no-error-summary"]
    completed = subprocess.run(
        [*command, "app.py", "conformance.py", "app_typo.py"],
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert not completed.stderr.strip(), completed.stderr
    messages: dict[str, list[str]] = {"app.py": [], "conformance.py": [], "app_typo.py": []}
    for line in completed.stdout.splitlines():
        messages[line.partition(":")[0]].append(line)
    return messages


def test_application_passes_mypy_strict(mypy_output: dict[str, list[str]]) -> None:
    assert mypy_output["app.py"] == []


def test_every_driver_implements_its_session_protocol(mypy_output: dict[str, list[str]]) -> None:
    errors = [line for line in mypy_output["conformance.py"] if ": error:" in line]
    assert errors == []


def test_misspelt_methods_fail_type_checking(mypy_output: dict[str, list[str]]) -> None:
    errors = [line for line in mypy_output["app_typo.py"] if ": error:" in line]
    assert len(errors) == len(TYPOS), "\n".join(errors)
    for _, _, type_name, attribute in TYPOS:
        expected = f'"{type_name}" has no attribute "{attribute}"'
        assert any(expected in line and "[attr-defined]" in line for line in errors), (
            expected,
            errors,
        )


def test_sessions_are_typed_by_their_config(mypy_output: dict[str, list[str]]) -> None:
    lines = (APP_DIR / "conformance.py").read_text(encoding="utf-8").splitlines()
    marker_lines = {
        match.group(1): number
        for number, line in enumerate(lines, start=1)
        if (match := re.search(r"# (R\d+)$", line))
    }
    assert set(marker_lines) == set(EXPECTED_REVEALS)
    revealed = {}
    for line in mypy_output["conformance.py"]:
        match = re.match(r'conformance\.py:(\d+): note: Revealed type is "(.*)"', line)
        if match:
            revealed[int(match.group(1))] = match.group(2)
    for marker, expected in EXPECTED_REVEALS.items():
        assert revealed.get(marker_lines[marker], "").startswith(expected), (marker, revealed)


def test_application_runs() -> None:
    completed = subprocess.run(
        [sys.executable, str(APP_DIR / "app.py")],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ok"
    assert completed.stderr == ""
