"""Static checks (never run): every driver implements its session protocol, and the session
types that ``SQLSpec`` and the Flask plugin hand out. Type-checked by tests/unit/test_typing.py;
the ``reveal_type`` notes are compared there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig, AiosqliteDriver
from sqlspec.adapters.asyncmy import AsyncmyDriver
from sqlspec.adapters.asyncpg import AsyncpgDriver
from sqlspec.adapters.duckdb import DuckDBConfig, DuckDBDriver
from sqlspec.adapters.psycopg import PsycopgAsyncDriver, PsycopgSyncDriver
from sqlspec.adapters.sqlite import SqliteConfig, SqliteDriver
from sqlspec.extensions.flask import SQLSpecPlugin
from sqlspec.portal_session import PortalSession
from sqlspec.protocols import AsyncSession, SyncSession


def sync_sessions(
    sqlite: SqliteDriver, duckdb: DuckDBDriver, psycopg: PsycopgSyncDriver, portal: PortalSession
) -> list[SyncSession]:
    return [sqlite, duckdb, psycopg, portal]


def async_sessions(
    aiosqlite: AiosqliteDriver,
    asyncpg: AsyncpgDriver,
    psycopg: PsycopgAsyncDriver,
    asyncmy: AsyncmyDriver,
) -> list[AsyncSession]:
    return [aiosqlite, asyncpg, psycopg, asyncmy]


if TYPE_CHECKING:
    from typing_extensions import reveal_type

    spec = SQLSpec()
    sqlite_config = spec.add_config(SqliteConfig())
    plugin = SQLSpecPlugin(spec)

    class Row:
        id: int

    reveal_type(spec.provide_session(SqliteConfig))  # R1
    reveal_type(spec.provide_session(sqlite_config))  # R2
    reveal_type(spec.provide_session(DuckDBConfig))  # R3
    reveal_type(spec.provide_session(AiosqliteConfig))  # R4
    reveal_type(spec.provide_sync_session(AiosqliteConfig))  # R5
    reveal_type(spec.provide_sync_session(SqliteConfig))  # R6
    reveal_type(spec.provide_connection(SqliteConfig))  # R7
    reveal_type(spec.provide_connection(AiosqliteConfig))  # R8
    reveal_type(plugin.get_session())  # R9
    reveal_type(plugin.get_connection())  # R10
    with spec.provide_session(SqliteConfig) as db:
        reveal_type(db)  # R11
        reveal_type(db.execute("SELECT 1"))  # R12
        reveal_type(db.execute("SELECT 1 AS id", schema_type=Row))  # R13
        reveal_type(db.select_one("SELECT 1 AS id", schema_type=Row))  # R14
        reveal_type(db.select_one_or_none("SELECT 1 AS id"))  # R15
