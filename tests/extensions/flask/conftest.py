"""Fixtures of the Flask extension suite.

Every test runs in its own temporary working directory (the guide's examples use relative files
such as ``app.db``). ``make_config`` builds a config on the test's backend: a SQLite file in
``tmp_path``, or a fresh schema on the throwaway PostgreSQL server (tests that take ``backend``
run on both unless they parametrize it).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.psycopg import PsycopgConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.config import SyncDatabaseConfig
from tests.servers import PostgresServer

BACKENDS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
)

_schema_numbers = itertools.count(1)

MakeConfig = Callable[..., SyncDatabaseConfig[Any, Any, Any]]


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
def pg_pool_config(postgres_server: PostgresServer) -> Iterator[dict[str, Any]]:
    """``pool_config`` for a fresh PostgreSQL schema, dropped after the test."""
    schema = f"flask_{os.getpid()}_{next(_schema_numbers)}"
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield {
        "conninfo": postgres_server.conninfo,
        "options": f"-c search_path={schema}",
        # min_size 0: the pool opens connections only on demand, so none is still being
        # connected in the background when a test reads pool_stats() (psycopg_pool counts such
        # a connection in its size; see test_observability's xfail).
        "min_size": 0,
        "max_size": 5,
    }
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_config(
    request: pytest.FixtureRequest, backend: str, spec: SQLSpec, tmp_path: Path
) -> MakeConfig:
    """Build and register a config on the test's backend; keywords are its Flask settings.

    ``name`` picks the SQLite file (``<name>.db``); on PostgreSQL all configs of a test share
    the test's schema.
    """

    def make(name: str = "main", **flask: Any) -> SyncDatabaseConfig[Any, Any, Any]:
        config: SyncDatabaseConfig[Any, Any, Any]
        if backend == "sqlite":
            config = SqliteConfig(
                pool_config={"database": str(tmp_path / f"{name}.db")},
                driver_features={"pragmas": {"synchronous": "off"}},
                extension_config={"flask": flask},
            )
        else:
            pool_config = request.getfixturevalue("pg_pool_config")
            config = PsycopgConfig(pool_config=pool_config, extension_config={"flask": flask})
        return spec.add_config(config)

    return make


@pytest.fixture
def sqlite_config(spec: SQLSpec, tmp_path: Path) -> MakeConfig:
    """Build and register a SQLite file config (``<name>.db`` in ``tmp_path``)."""

    def make(name: str = "main", **flask: Any) -> SyncDatabaseConfig[Any, Any, Any]:
        return spec.add_config(
            SqliteConfig(
                pool_config={"database": str(tmp_path / f"{name}.db")},
                driver_features={"pragmas": {"synchronous": "off"}},
                extension_config={"flask": flask},
            )
        )

    return make
