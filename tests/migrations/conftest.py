"""Fixtures for the migration and SQL-file tests: one isolated database per test on each backend.

``backend`` is parametrised over every backend of ``tests.backends`` (so a new adapter joins
this suite where it is defined) and SQLite on ``:memory:``. ``make_config(**migration_config)``
builds and registers a config of the test's backend whose migrations live in
``tmp_path / "migrations"`` unless told otherwise. Async configs are used from sync code, through
the portal, as ``spec.migrations()`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from tests.backends import BACKENDS as MATRIX
from tests.backends import Database, open_database, params

#: Every backend of ``tests.backends``, and SQLite on ``:memory:`` (id ``sqlite_memory``).
BACKENDS = (*params(), pytest.param(("sqlite", True), id="sqlite_memory"))
POSTGRES_BACKENDS = params(*(name for name, info in MATRIX.items() if info.is_postgres))


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    registry = SQLSpec()
    yield registry
    registry.close_all_pools()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The test's backend on a database of its own: a ``tests.backends`` name, or ``(name,
    in_memory)``; pools open connections only on demand."""
    name, in_memory = (request.param, False) if isinstance(request.param, str) else request.param
    pool_settings = dict(MATRIX[name].on_demand_pool)
    with open_database(
        request, name, tmp_path, "mig", in_memory=in_memory, pool_settings=pool_settings
    ) as database:
        yield database


MakeConfig = Callable[..., Any]


@pytest.fixture
def make_config(backend: Database, spec: SQLSpec, tmp_path: Path) -> MakeConfig:
    """Build and register a config of the test's backend; keywords are its migration_config
    (``script_location`` defaults to ``tmp_path / "migrations"``)."""

    def make(**migration_config: Any) -> Any:
        migration_config.setdefault("script_location", str(tmp_path / "migrations"))
        return spec.add_config(backend.config(migration_config=migration_config))

    return make


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "migrations"
    path.mkdir()
    return path


def write(folder: Path, name: str, up: str, down: str | None = None, up_options: str = "") -> Path:
    """Write a migration file ``name`` with the given sections."""
    text = f"-- migrate:up{' ' + up_options if up_options else ''}\n{up}\n"
    if down is not None:
        text += f"\n-- migrate:down\n{down}\n"
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def tables(spec: SQLSpec, config: Any) -> set[str]:
    """The user tables of the test's database (the version table included)."""
    info = next(info for info in MATRIX.values() if type(config) is info.config_class)
    with spec.provide_sync_session(config) as db:
        rows = db.select(info.tables_query)
    return {str(row["t"]).lower() for row in rows}
