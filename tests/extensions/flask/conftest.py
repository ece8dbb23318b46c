"""Fixtures of the Flask extension suite.

Every test runs in its own temporary working directory (the guide's examples use relative files
such as ``app.db``). ``make_config`` builds and registers a config on the test's ``backend``: by
default the sync backends of ``tests.backends`` the extension supports (SQLite, a file in
``tmp_path``, and psycopg, a fresh schema on the throwaway PostgreSQL server), so tests that take
it run on those unless they parametrize ``backend``; modules whose tests hold
for every adapter, sync and async, set ``backend = backend_fixture(ALL_BACKENDS)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from tests.extensions.flask.helpers import SYNC_BACKENDS, Backend, backend_fixture, open_backend

#: ``make_config(name="main", *, pool=None, portal_timeout=30.0, **flask)`` (see
#: :meth:`Backend.make`): a registered config of the test's backend.
MakeConfig = Callable[..., Any]

backend = backend_fixture(SYNC_BACKENDS)


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    """A fresh registry whose pools are closed at teardown."""
    registry = SQLSpec()
    yield registry
    registry.close_all_pools()


@pytest.fixture
def pg_pool_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``pool_config`` for a fresh PostgreSQL schema, dropped after the test."""
    with open_backend(request, "psycopg", tmp_path) as postgres:
        yield postgres.pool_config()


@pytest.fixture
def make_config(backend: Backend, spec: SQLSpec) -> MakeConfig:
    """Build and register a config on the test's backend; keywords are its Flask settings.

    ``name`` picks the SQLite file (``<name>.db``); on PostgreSQL and MariaDB all configs of a
    test share the test's database.
    """

    def make(name: str = "main", **settings: Any) -> Any:
        return spec.add_config(backend.make(name, **settings))

    return make


@pytest.fixture
def sqlite_config(spec: SQLSpec, tmp_path: Path) -> MakeConfig:
    """Build and register a SQLite file config (``<name>.db`` in ``tmp_path``)."""

    def make(name: str = "main", **settings: Any) -> Any:
        return spec.add_config(Backend.local("sqlite", tmp_path).make(name, **settings))

    return make
