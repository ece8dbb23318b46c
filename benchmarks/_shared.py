"""What the benchmark scripts share: a throwaway PostgreSQL server (started with the test
suite's helper) and the versions printed with every run."""

from __future__ import annotations

import atexit
import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"


def start_postgres() -> tuple[Any, Callable[[], None]] | None:
    """Start a throwaway PostgreSQL 15; (server with ``.conninfo``/``.dsn``, stop) or None."""
    bindir = Path(os.environ.get("SQLSPEC_PG_BIN", "").strip() or DEFAULT_PG_BIN)
    if not os.access(bindir / "initdb", os.X_OK):
        print(f"PostgreSQL: {bindir / 'initdb'} not found; pass --pg CONNINFO to use a server")
        return None
    sys.path.insert(0, str(REPO_ROOT))
    from tests.servers import _PostgresCluster

    cluster = _PostgresCluster(bindir)
    atexit.register(cluster.stop)
    try:
        server = cluster.start()
    except BaseException as error:  # pytest.fail() raises a BaseException subclass
        cluster.stop()
        print(f"PostgreSQL: could not start a throwaway server: {error}")
        return None
    return server, cluster.stop


def package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def git_state() -> str:
    """The checked-out commit, flagged when ``sqlspec/`` has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "sqlspec")
    return f"{head}{' + uncommitted changes in sqlspec/' if dirty else ''}"
