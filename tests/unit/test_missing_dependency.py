"""An adapter whose driver is not installed raises MissingDependencyError naming the extra.

Each case runs in a fresh interpreter whose import system refuses the driver's modules (a
meta-path finder raising ModuleNotFoundError, as an uninstalled package does), so nothing is
uninstalled and the rest of the suite is unaffected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sqlspec

CHECKOUT = Path(sqlspec.__file__).resolve().parent.parent

PROBE = r"""
import json, sys

BLOCKED = set(sys.argv[1].split(","))


class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Refuse())
import sqlspec  # the core imports no driver
from sqlspec.exceptions import MissingDependencyError, SQLSpecError

try:
    __import__(sys.argv[2], fromlist=["*"])
except ImportError as error:
    print(json.dumps({
        "type": type(error).__name__,
        "sqlspec_error": isinstance(error, SQLSpecError),
        "missing": isinstance(error, MissingDependencyError),
        "name": error.name,
        "message": str(error),
        "cause": type(error.__cause__).__name__,
    }))
else:
    print(json.dumps(None))
"""


def _probe(blocked: str, module: str) -> dict[str, object] | None:
    env = dict(os.environ, PYTHONPATH=str(CHECKOUT))
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, blocked, module],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("blocked", "module", "extra", "requirement"),
    [
        ("duckdb", "sqlspec.adapters.duckdb", "duckdb", "duckdb"),
        ("psycopg", "sqlspec.adapters.psycopg", "psycopg", "psycopg"),
        ("psycopg_pool", "sqlspec.adapters.psycopg", "psycopg", "psycopg-pool"),
        ("asyncpg", "sqlspec.adapters.asyncpg", "asyncpg", "asyncpg"),
        ("aiosqlite", "sqlspec.adapters.aiosqlite", "aiosqlite", "aiosqlite"),
        ("asyncmy", "sqlspec.adapters.asyncmy", "asyncmy", "asyncmy"),
    ],
)
def test_missing_driver_names_the_extra(
    blocked: str, module: str, extra: str, requirement: str
) -> None:
    outcome = _probe(blocked, module)
    assert outcome is not None, f"{module} imported although {blocked} is missing"
    assert outcome["type"] == "MissingDependencyError"
    assert outcome["sqlspec_error"] is True
    assert outcome["name"] == blocked
    assert outcome["cause"] == "ModuleNotFoundError"
    message = str(outcome["message"])
    assert f"needs the {blocked!r} package, which is not installed" in message
    assert f"[{extra}]" in message
    assert "pip install" in message
    assert requirement in message


def test_other_adapters_import_without_that_driver() -> None:
    assert _probe("duckdb", "sqlspec.adapters.sqlite") is None
    assert _probe("duckdb", "sqlspec.extensions.flask") is None


def test_an_unrelated_missing_module_is_not_reported_as_the_driver() -> None:
    # e.g. a module the installed driver itself needs: "install the extra" would not help.
    from sqlspec._optional import driver_import
    from sqlspec.exceptions import MissingDependencyError

    with pytest.raises(ModuleNotFoundError) as info, driver_import("duckdb", "duckdb"):
        import sqlspec_test_no_such_module  # noqa: F401
    assert not isinstance(info.value, MissingDependencyError)
