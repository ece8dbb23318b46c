"""Smoke tests: the throwaway database servers from ``tests.servers`` are reachable."""

from __future__ import annotations

import asyncio

import asyncmy
import psycopg
import pytest

from tests.servers import MariaDBServer, PgBouncerServer, PostgresServer


@pytest.mark.postgres
def test_postgres_server_accepts_connections(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.conninfo) as conn:
        row = conn.execute("SELECT version(), current_database()").fetchone()
    assert row is not None
    version, dbname = row
    assert "PostgreSQL 15" in version
    assert dbname == postgres_server.dbname
    with psycopg.connect(postgres_server.dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.postgres
def test_pgbouncer_shares_few_server_connections(pgbouncer_server: PgBouncerServer) -> None:
    for mode in ("transaction", "statement", "session"):
        with psycopg.connect(pgbouncer_server.connection(mode).conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
            assert row == (pgbouncer_server.backend.dbname,)
    clients = [
        psycopg.connect(pgbouncer_server.connection().conninfo, prepare_threshold=None)
        for _ in range(pgbouncer_server.pool_size + 3)
    ]
    try:
        pids = set()
        for client in clients:  # one transaction after the other: server connections reused
            pids.add(client.execute("SELECT pg_backend_pid()").fetchone())
            client.commit()
        assert len(pids) <= pgbouncer_server.pool_size
    finally:
        for client in clients:
            client.close()


@pytest.mark.mariadb
def test_mariadb_server_accepts_connections(mariadb_server: MariaDBServer) -> None:
    async def query() -> tuple[str, str]:
        conn = await asyncmy.connect(
            host=mariadb_server.host,
            port=mariadb_server.port,
            user=mariadb_server.user,
            password=mariadb_server.password,
            db=mariadb_server.database,
        )
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT VERSION(), DATABASE()")
                row = await cur.fetchone()
        finally:
            conn.close()
        assert row is not None
        return row[0], row[1]

    version, database = asyncio.run(query())
    assert "MariaDB" in version
    assert database == mariadb_server.database
