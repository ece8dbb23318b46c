"""Databases for the observability tests (recording, counting, toolbar, OpenTelemetry).

``observed_db`` runs a test on SQLite, PostgreSQL through psycopg, PostgreSQL through asyncpg
(an async config used from sync code, so every statement crosses the portal) and DuckDB.
``observed_db.make(name, statement_config=..., **flask)`` builds a config on it (registered on
``spec`` when given).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.config import StatementConfig
from tests.extensions.flask.helpers import Backend, open_backend

OBSERVED_BACKENDS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="psycopg", marks=pytest.mark.postgres),
    pytest.param("asyncpg", id="asyncpg-portal", marks=pytest.mark.postgres),
    pytest.param("duckdb", id="duckdb"),
)


@dataclass
class ObservedDB:
    """One database of the test; ``backend`` is ``None`` for DuckDB."""

    name: str
    tmp_path: Path
    backend: Backend | None
    spec: SQLSpec | None = None

    @property
    def system(self) -> str:
        return {"sqlite": "sqlite", "duckdb": "duckdb"}.get(self.name, "postgresql")

    @property
    def has_server(self) -> bool:
        return self.backend is not None and self.backend.is_postgres

    def make(
        self, name: str = "main", *, statement_config: StatementConfig | None = None, **flask: Any
    ) -> Any:
        options: dict[str, Any] = {"extension_config": {"flask": flask}}
        if statement_config is not None:
            options["statement_config"] = statement_config
        if self.backend is None:
            config: Any = DuckDBConfig(
                pool_config={"database": str(self.tmp_path / f"{name}.duckdb")}, **options
            )
        else:
            if self.backend.is_async:
                options["portal_timeout"] = 30.0
            config = self.backend.config_class(
                pool_config=self.backend.pool_config(name), **options
            )
        if self.spec is not None:
            self.spec.add_config(config)
        return config


@pytest.fixture(params=OBSERVED_BACKENDS)
def observed_db(
    request: pytest.FixtureRequest, tmp_path: Path, spec: SQLSpec
) -> Iterator[ObservedDB]:
    name = str(request.param)
    if name == "duckdb":
        yield ObservedDB(name, tmp_path, None, spec)
        return
    with open_backend(request, name, tmp_path) as backend:
        yield ObservedDB(name, tmp_path, backend, spec)
