"""Databases for the observability tests (recording, counting, toolbar, OpenTelemetry).

``observed_db`` runs a test on SQLite, PostgreSQL through psycopg, PostgreSQL through asyncpg
(an async config used from sync code, so every statement crosses the portal) and DuckDB, as
defined in ``tests.backends``. ``observed_db.make(name, statement_config=..., **flask)`` builds a
config on it (registered on ``spec`` when given).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.config import StatementConfig
from tests.backends import params
from tests.extensions.flask.helpers import Backend, open_backend

OBSERVED_BACKENDS = params(
    "sqlite", "psycopg", "asyncpg", "duckdb", ids={"asyncpg": "asyncpg-portal"}
)


@dataclass
class ObservedDB:
    """One database of the test."""

    backend: Backend
    spec: SQLSpec | None = None

    @classmethod
    def local(cls, name: str, tmp_path: Path, spec: SQLSpec | None = None) -> ObservedDB:
        """A database on a backend that needs no server (SQLite, DuckDB)."""
        return cls(Backend.local(name, tmp_path), spec)

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def tmp_path(self) -> Path:
        return self.backend.tmp_path

    @property
    def system(self) -> str:
        """The OpenTelemetry ``db.system.name`` of the database."""
        family = self.backend.info.family
        return "postgresql" if family == "postgres" else family

    @property
    def has_server(self) -> bool:
        return self.backend.postgres is not None

    def make(
        self, name: str = "main", *, statement_config: StatementConfig | None = None, **flask: Any
    ) -> Any:
        options: dict[str, Any] = {"extension_config": {"flask": flask}}
        if statement_config is not None:
            options["statement_config"] = statement_config
        if self.backend.is_async:
            options["portal_timeout"] = 30.0
        config = self.backend.config_class(pool_config=self.backend.pool_config(name), **options)
        if self.spec is not None:
            self.spec.add_config(config)
        return config


@pytest.fixture(params=OBSERVED_BACKENDS)
def observed_db(
    request: pytest.FixtureRequest, tmp_path: Path, spec: SQLSpec
) -> Iterator[ObservedDB]:
    with open_backend(request, str(request.param), tmp_path) as backend:
        yield ObservedDB(backend, spec)
