"""Test isolation: run a block whose writes are rolled back at its end, while the code under test
still commits as it does in production.

Inside :func:`isolated`, every session of the config shares one connection held in an outer
transaction. A session's ``commit()`` releases and re-opens a savepoint, its ``rollback()`` goes
back to the savepoint, and leaving the block rolls back the outer transaction: nothing a test
wrote survives it, whatever the app committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlspec.config import DatabaseConfig, SyncDatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.pool import PoolStats

__all__ = ("isolated",)

_SAVEPOINT = "sqlspec_isolation"


class _SavepointConnection:
    """The shared connection as sessions see it: commit/rollback act on a savepoint."""

    sqlspec_isolated = True

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def commit(self) -> None:
        self._raw.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        self._raw.execute(f"SAVEPOINT {_SAVEPOINT}")

    def rollback(self) -> None:
        self._raw.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _IsolatedPool:
    """Hands every borrower the shared connection; a release undoes what was not committed."""

    def __init__(self, connection: _SavepointConnection, max_size: int) -> None:
        self._connection = connection
        self._borrowed = 0
        self._max_size = max_size

    def acquire(self) -> _SavepointConnection:
        self._borrowed += 1
        return self._connection

    def release(self, conn: Any) -> None:
        self._borrowed -= 1
        conn.rollback()

    def discard(self, conn: Any) -> None:
        self.release(conn)

    def discard_dead(self, conn: Any) -> None:
        self.release(conn)

    def close(self) -> None:
        """Closing is deferred to the end of the isolated block."""

    def stats(self) -> PoolStats:
        return PoolStats(1, self._borrowed, 0 if self._borrowed else 1, 0, self._max_size)


@contextmanager
def isolated(config: DatabaseConfig) -> Iterator[None]:
    """Roll back everything written through ``config`` inside the block (sync configs with
    savepoints: SQLite, PostgreSQL)."""
    if not isinstance(config, SyncDatabaseConfig):
        raise ImproperConfigurationError(
            f"isolated() supports sync configs; {config.describe()} is async"
        )
    if type(config).__name__.startswith("DuckDB"):
        raise ImproperConfigurationError(
            "isolated() needs savepoints, which DuckDB does not support; use a fresh "
            "':memory:' database per test instead"
        )
    with config.provide_session() as outer:
        outer.begin()
        raw = outer.connection
        raw.execute(f"SAVEPOINT {_SAVEPOINT}")
        original, config._pool = (
            config._pool,
            _IsolatedPool(_SavepointConnection(raw), config.max_pool_size()),
        )
        try:
            yield
        finally:
            config._pool = original
            outer.rollback()
