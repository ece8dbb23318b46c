"""Fixtures for the async adapters: aiosqlite, asyncpg, psycopg (async) and asyncmy.

``async def`` tests run on a fresh event loop each (``tests.backends.pytest_pyfunc_call``); pools
created on that loop are closed on it before it ends. ``make_config(**pool_settings)`` builds a
config of the test's adapter with the test's isolation applied: a temp-file database (aiosqlite),
a fresh schema (PostgreSQL) or an emptied database (MariaDB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.config import AsyncDatabaseConfig
from tests.backends import BACKENDS, BackendInfo, Database, open_database

#: This suite's adapter names and their backends in ``tests.backends`` (ids are the latter).
NAMES = {
    "aiosqlite": "aiosqlite",
    "asyncpg": "asyncpg",
    "psycopg": "psycopg_async",
    "asyncmy": "asyncmy",
}


def _params(*names: str) -> tuple[Any, ...]:
    return tuple(
        pytest.param(name, id=NAMES[name], marks=BACKENDS[NAMES[name]].marks) for name in names
    )


ADAPTERS = _params(*NAMES)
POSTGRES_ADAPTERS = _params("asyncpg", "psycopg")


@dataclass(frozen=True)
class Dialect:
    """What differs between the adapters in the SQL the tests write (this suite's names)."""

    name: str

    @property
    def info(self) -> BackendInfo:
        return BACKENDS[NAMES[self.name]]

    @property
    def driver_error(self) -> type[BaseException]:
        return self.info.driver_error

    @property
    def is_postgres(self) -> bool:
        return self.info.is_postgres

    @property
    def is_mysql(self) -> bool:
        return self.info.is_mysql

    @property
    def serial(self) -> str:
        """An auto-generated integer primary key column type."""
        return self.info.serial

    @property
    def sleep_5(self) -> str:
        """A statement that takes five seconds (or forever) on the server."""
        return self.info.sleep_5


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dialect(adapter: str) -> Dialect:
    return Dialect(adapter)


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    """A fresh registry; pools on the test's own loop are closed by the runner
    (``tests.backends.pytest_pyfunc_call``), the others (on the portal's loop) here."""
    registry = SQLSpec()
    yield registry
    registry.close_all_pools()


@pytest.fixture
def database(request: pytest.FixtureRequest, adapter: str, tmp_path: Path) -> Iterator[Database]:
    """The test's own database: a temp file, a fresh PostgreSQL schema or emptied MariaDB."""
    with open_database(request, NAMES[adapter], tmp_path, "aio") as opened:
        yield opened


MakeConfig = Callable[..., AsyncDatabaseConfig[Any, Any, Any]]


@pytest.fixture
def make_config(database: Database, spec: SQLSpec) -> MakeConfig:
    """Build and register a config of the test's adapter.

    Keyword arguments are pool settings; ``acquire_timeout=`` is translated to the adapter's
    name for it, and ``portal_timeout=`` and ``driver_features=`` go to the config.
    """

    def make(
        *,
        portal_timeout: float = 30.0,
        driver_features: dict[str, Any] | None = None,
        **settings: Any,
    ) -> AsyncDatabaseConfig[Any, Any, Any]:
        extra: dict[str, Any] = {"portal_timeout": portal_timeout}
        if driver_features is not None:
            extra["driver_features"] = driver_features
        if database.info.is_postgres:
            settings = {"max_size": 20, **settings}
        if database.name == "psycopg_async" and "acquire_timeout" in settings:
            settings["timeout"] = settings.pop("acquire_timeout")
        config: AsyncDatabaseConfig[Any, Any, Any] = database.config(settings, **extra)
        return spec.add_config(config)

    return make


@pytest.fixture
def config(make_config: MakeConfig) -> AsyncDatabaseConfig[Any, Any, Any]:
    """The default config of the test's adapter, registered on ``spec``."""
    return make_config()
