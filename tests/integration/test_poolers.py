"""``driver_features={"pooler_mode": ...}`` behind a real PgBouncer (``tests.servers``).

PgBouncer runs in front of the throwaway PostgreSQL with 3 server connections per pool, shared
by every client connection, so consecutive transactions of one client land on different server
connections. Each PostgreSQL adapter (psycopg sync, psycopg async and asyncpg, the async ones
through ``provide_sync_session`` as a Flask view uses them) runs concurrent CRUD requests:

- with ``pooler_mode="transaction"``: no failure, every value read back right, and no prepared
  statement left on any server connection;
- with the default (``"session"``): the failures the feature exists for (shown, so the tests
  prove it is needed);
- with ``pooler_mode="statement"`` on a statement-mode pool: each statement commits on its own,
  ``begin()`` is refused with a clear error.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig, PsycopgSyncConfig
from sqlspec.exceptions import ImproperConfigurationError, TransactionError
from tests.servers import PgBouncerServer, PostgresServer

ADAPTERS = ("psycopg", "psycopg_async", "asyncpg")
CONFIG_CLASSES = (PsycopgSyncConfig, PsycopgAsyncConfig, AsyncpgConfig)
THREADS = 8
REQUESTS = 200

_tables = itertools.count(1)


def make_config(adapter: str, server: PostgresServer, **features: Any) -> Any:
    """A config of ``adapter`` for ``server`` with one pooled connection per thread."""
    extra = {"driver_features": features} if features else {}
    if adapter == "asyncpg":
        pool = {"dsn": server.dsn, "min_size": 1, "max_size": THREADS}
        return AsyncpgConfig(pool_config=pool, **extra)
    pool = {"conninfo": server.conninfo, "min_size": 1, "max_size": THREADS}
    if adapter == "psycopg":
        return PsycopgSyncConfig(pool_config=pool, **extra)
    return PsycopgAsyncConfig(pool_config=pool, **extra)


@pytest.fixture
def table(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh table ``(id int primary key, owner text, n int)`` made on the server directly."""
    name = f"pooler_items_{next(_tables)}"
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, owner text NOT NULL, n int)")
    yield name
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def server_prepared_statements(pgbouncer: PgBouncerServer, *, clear: bool = False) -> list[str]:
    """Named prepared statements on every server connection of the transaction-mode pool
    (``clear=True`` deallocates them too).

    One transaction per server connection, all open at once: the pool (``pool_size``
    connections) must then give each its own server connection, so all of them are seen.
    """
    target = pgbouncer.connection("transaction")
    found: list[str] = []
    with contextlib.ExitStack() as stack:
        conns = [
            stack.enter_context(psycopg.connect(target.conninfo, prepare_threshold=None))
            for _ in range(pgbouncer.pool_size)
        ]
        pids = set()
        for conn in conns:
            pids.add(conn.execute("SELECT pg_backend_pid()").fetchone())
            rows = conn.execute("SELECT name, statement FROM pg_prepared_statements").fetchall()
            found += [f"{name}: {statement}" for name, statement in rows]
            if clear:
                conn.execute("DEALLOCATE ALL")
        assert len(pids) == pgbouncer.pool_size  # every server connection was looked at
        for conn in conns:
            conn.commit()
    return found


def server_connections(pgbouncer: PgBouncerServer) -> int:
    """Server connections PgBouncer holds for the transaction-mode alias (SHOW POOLS)."""
    with psycopg.connect(pgbouncer.admin.conninfo, autocommit=True) as conn:
        result = conn.pgconn.exec_(b"SHOW POOLS")
        fields = [result.fname(i).decode() for i in range(result.nfields)]  # type: ignore[union-attr]
        total = 0
        for row in range(result.ntuples):
            values = {field: result.get_value(row, i) for i, field in enumerate(fields)}
            if values["database"] == b"sqlspec_test":
                total += sum(int(values[key] or 0) for key in fields if key.startswith("sv_"))
        return total


def run_threads(work: Callable[[int], list[str]], threads: int = THREADS) -> list[str]:
    """Run ``work(thread_number)`` on ``threads`` threads; the problems they all reported."""
    problems: list[list[str]] = [[] for _ in range(threads)]

    def run(number: int) -> None:
        try:
            problems[number] = work(number)
        except Exception as error:  # a bug in the test itself must not pass silently
            problems[number] = [f"thread {number} crashed: {error!r}"]

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not any(worker.is_alive() for worker in workers), "a worker hung"
    return [problem for found in problems for problem in found]


def crud_requests(config: Any, table: str, requests: int) -> Callable[[int], list[str]]:
    """One thread's requests: each a session that inserts, reads by key, updates, reads a
    zero-row result and (every other request) deletes, in two transactions."""

    def work(thread: int) -> list[str]:
        owner = f"client-{thread}"
        failed = []  # one entry per failed request
        for i in range(requests):
            key = thread * 100_000 + i + 1  # never 0: -key is a key no row has
            problems = []
            try:
                with config.provide_sync_session() as db:
                    insert = f"INSERT INTO {table} (id, owner, n) VALUES (?, ?, ?)"
                    db.execute(insert, key, owner, i)
                    db.commit()
                    row = db.select_one_or_none(f"SELECT owner, n FROM {table} WHERE id = ?", key)
                    if row != {"owner": owner, "n": i}:
                        problems.append(f"read of {key} returned {row!r}")
                    updated = db.execute(f"UPDATE {table} SET n = n + 1 WHERE id = ?", key)
                    if updated.rows_affected != 1:
                        problems.append(f"update of {key} affected {updated.rows_affected}")
                    empty = db.execute(f"SELECT id, n FROM {table} WHERE id = ?", -key)
                    if empty.rows != [] or empty.column_names != ("id", "n"):
                        problems.append(f"zero-row select: {empty.column_names} {empty.rows}")
                    if i % 2 == 0:
                        deleted = db.execute(f"DELETE FROM {table} WHERE id = ?", key)
                        if deleted.rows_affected != 1:
                            problems.append(f"delete of {key} affected {deleted.rows_affected}")
                    db.commit()
            except Exception as error:
                problems.append(f"{type(error).__name__}: {error}")
            if problems:
                failed.append("; ".join(problems))
        return failed

    return work


def readers_and_writers(
    config: Any, table: str, readers: int, rounds: int, statements: int, writes: list[int]
) -> Callable[[int], list[str]]:
    """Threads below ``readers`` read their own row (``n`` stays 0); the others increment
    theirs, counting the increments committed in ``writes``. Both send one-integer-parameter
    statements, the same number per session."""

    def work(thread: int) -> list[str]:
        problems = []
        for _ in range(rounds):
            try:
                with config.provide_sync_session() as db:
                    for _ in range(statements):
                        if thread < readers:
                            sql = f"SELECT n FROM {table} WHERE id = ?"
                            row = db.select_one_or_none(sql, thread)
                            if row != {"n": 0}:
                                problems.append(f"reader {thread} read {row!r}")
                        else:
                            db.execute(f"UPDATE {table} SET n = n + 1 WHERE id = ?", thread)
                    db.commit()
                    if thread >= readers:
                        writes[thread] += statements
            except Exception as error:
                problems.append(f"{type(error).__name__}: {error}")
        return problems

    return work


def table_contents(server: PostgresServer, table: str) -> dict[int, tuple[str, int]]:
    with psycopg.connect(server.conninfo) as conn:
        rows = conn.execute(f"SELECT id, owner, n FROM {table}").fetchall()
    return {key: (owner, n) for key, owner, n in rows}


def expected_contents(threads: int, requests: int) -> dict[int, tuple[str, int]]:
    return {
        thread * 100_000 + i + 1: (f"client-{thread}", i + 1)
        for thread in range(threads)
        for i in range(requests)
        if i % 2
    }


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("config_class", CONFIG_CLASSES)
@pytest.mark.parametrize("mode", ["transactions", "TRANSACTION", "", None, 1, True, "pgbouncer"])
def test_unknown_pooler_mode_is_refused(config_class: Any, mode: Any) -> None:
    with pytest.raises(ImproperConfigurationError) as info:
        config_class(pool_config={}, driver_features={"pooler_mode": mode})
    message = str(info.value)
    assert repr(mode) in message
    assert all(f"'{valid}'" in message for valid in ("session", "transaction", "statement"))


@pytest.mark.parametrize("config_class", CONFIG_CLASSES)
@pytest.mark.parametrize("mode", ["session", "transaction", "statement"])
def test_valid_pooler_modes_are_accepted(config_class: Any, mode: str) -> None:
    config = config_class(pool_config={}, driver_features={"pooler_mode": mode})
    assert config.driver_features == {"pooler_mode": mode}


@pytest.mark.parametrize("config_class", [PsycopgSyncConfig, PsycopgAsyncConfig])
@pytest.mark.parametrize("mode", ["transaction", "statement"])
@pytest.mark.parametrize("threshold", [0, 5])
def test_psycopg_prepare_threshold_contradicting_pooler_mode_is_refused(
    config_class: Any, mode: str, threshold: int
) -> None:
    with pytest.raises(ImproperConfigurationError, match=r"prepare_threshold=\d.*remove"):
        config_class(
            pool_config={"prepare_threshold": threshold}, driver_features={"pooler_mode": mode}
        )
    # None agrees with the pooler; any value is fine for a direct connection.
    config_class(pool_config={"prepare_threshold": None}, driver_features={"pooler_mode": mode})
    config_class(pool_config={"prepare_threshold": threshold})


@pytest.mark.parametrize("mode", ["transaction", "statement"])
def test_asyncpg_statement_cache_contradicting_pooler_mode_is_refused(mode: str) -> None:
    with pytest.raises(ImproperConfigurationError, match=r"statement_cache_size=100.*remove"):
        AsyncpgConfig(
            pool_config={"statement_cache_size": 100}, driver_features={"pooler_mode": mode}
        )
    AsyncpgConfig(pool_config={"statement_cache_size": 0}, driver_features={"pooler_mode": mode})
    AsyncpgConfig(pool_config={"statement_cache_size": 100})


# -- transaction mode -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_transaction_mode_crud_under_load(
    adapter: str, pgbouncer_server: PgBouncerServer, spec: SQLSpec, table: str
) -> None:
    server_prepared_statements(pgbouncer_server, clear=True)  # what earlier tests left
    config = spec.add_config(
        make_config(adapter, pgbouncer_server.connection(), pooler_mode="transaction")
    )

    problems = run_threads(crud_requests(config, table, REQUESTS))

    assert problems == [], f"{len(problems)} of {THREADS * REQUESTS} requests: {problems[:5]}"
    assert table_contents(pgbouncer_server.backend, table) == expected_contents(THREADS, REQUESTS)
    assert server_prepared_statements(pgbouncer_server) == []
    # The 8 client connections really shared PgBouncer's few server connections.
    assert config.pool_stats().size > pgbouncer_server.pool_size
    assert server_connections(pgbouncer_server) <= pgbouncer_server.pool_size


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_read_never_runs_another_clients_statement(
    adapter: str, pgbouncer_server: PgBouncerServer, spec: SQLSpec, table: str
) -> None:
    """Readers and writers send statements of the same shape (one integer parameter) in the
    same order; a read that ran a writer's prepared UPDATE would return no row and change the
    reader's row."""
    server_prepared_statements(pgbouncer_server, clear=True)
    config = spec.add_config(
        make_config(adapter, pgbouncer_server.connection(), pooler_mode="transaction")
    )
    readers = THREADS // 2
    with psycopg.connect(pgbouncer_server.backend.conninfo) as conn:
        for thread in range(THREADS):
            conn.execute(f"INSERT INTO {table} VALUES (%s, %s, 0)", (thread, f"client-{thread}"))
    rounds, statements = 20, 10
    writes = [0] * THREADS
    work = readers_and_writers(config, table, readers, rounds, statements, writes)

    problems = run_threads(work)

    assert problems == []
    expected = {t: (f"client-{t}", 0 if t < readers else writes[t]) for t in range(THREADS)}
    assert table_contents(pgbouncer_server.backend, table) == expected
    assert all(writes[t] == rounds * statements for t in range(readers, THREADS))
    assert server_prepared_statements(pgbouncer_server) == []


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_without_pooler_mode_a_transaction_pooler_breaks_requests(
    adapter: str, pgbouncer_server: PgBouncerServer, spec: SQLSpec, table: str
) -> None:
    """The default keeps named prepared statements on the server connections, which PgBouncer
    hands to other clients: requests fail (or read wrong data). This is what pooler_mode is
    for."""
    server_prepared_statements(pgbouncer_server, clear=True)
    config = spec.add_config(make_config(adapter, pgbouncer_server.connection()))

    problems = run_threads(crud_requests(config, table, 40))

    server_prepared_statements(pgbouncer_server, clear=True)
    assert problems, "the default config ran through a transaction pooler without a failure"
    # The errors say what to do about it.
    assert any("set driver_features={'pooler_mode': 'transaction'}" in p for p in problems)


@pytest.mark.postgres
def test_prepared_statements_left_on_server_connections_are_found(
    pgbouncer_server: PgBouncerServer,
) -> None:
    """The check the tests above rely on sees a statement another client left behind."""
    server_prepared_statements(pgbouncer_server, clear=True)
    target = pgbouncer_server.connection()
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute("PREPARE left_behind AS SELECT 1")
    assert server_prepared_statements(pgbouncer_server, clear=True) == [
        "left_behind: PREPARE left_behind AS SELECT 1"
    ]
    assert server_prepared_statements(pgbouncer_server) == []


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_transaction_mode_execute_many_and_scripts(
    adapter: str, pgbouncer_server: PgBouncerServer, spec: SQLSpec, table: str
) -> None:
    server_prepared_statements(pgbouncer_server, clear=True)
    config = spec.add_config(
        make_config(adapter, pgbouncer_server.connection(), pooler_mode="transaction")
    )

    def work(thread: int) -> list[str]:
        problems = []
        for batch in range(10):
            base = thread * 10_000 + batch * 100
            with config.provide_sync_session() as db:
                rows = [(base + i, f"client-{thread}", i) for i in range(20)]
                db.execute_many(f"INSERT INTO {table} (id, owner, n) VALUES (?, ?, ?)", rows)
                own = f"id BETWEEN {base} AND {base + 99}"
                db.execute_script(f"UPDATE {table} SET n = n + 1 WHERE {own}")
                total = db.select_value(
                    f"SELECT sum(n) FROM {table} WHERE id BETWEEN ? AND ?", base, base + 99
                )
                if total != sum(range(1, 21)):
                    problems.append(f"batch {base}: sum {total}")
                db.commit()
        return problems

    assert run_threads(work) == []
    assert len(table_contents(pgbouncer_server.backend, table)) == THREADS * 10 * 20
    assert server_prepared_statements(pgbouncer_server) == []


# -- statement mode ---------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_statement_mode_runs_each_statement_on_its_own(
    adapter: str, pgbouncer_server: PgBouncerServer, spec: SQLSpec, table: str
) -> None:
    config = spec.add_config(
        make_config(adapter, pgbouncer_server.connection("statement"), pooler_mode="statement")
    )
    with config.provide_sync_session() as db:
        with pytest.raises(TransactionError, match=r"pooler_mode='statement'.*begin"):
            db.begin()
        db.execute(f"INSERT INTO {table} (id, owner, n) VALUES (?, ?, ?)", 1, "a", 1)
        assert not db.in_transaction
        db.rollback()  # nothing to roll back: the insert has committed
        db.execute_script(f"UPDATE {table} SET n = 2 WHERE id = 1")
        assert db.select(f"SELECT owner, n FROM {table} WHERE id = ?", 1) == [
            {"owner": "a", "n": 2}
        ]
        assert db.execute(f"SELECT n FROM {table} WHERE id = ?", 2).column_names == ("n",)
        db.execute_many(f"INSERT INTO {table} VALUES (?, ?, ?)", [(2, "b", 1), (3, "c", 1)])
        db.execute(f"DELETE FROM {table} WHERE id > ?", 1)
    assert table_contents(pgbouncer_server.backend, table) == {1: ("a", 2)}

    def work(thread: int) -> list[str]:
        problems = []
        for i in range(25):
            key = 1000 + thread * 100 + i
            with config.provide_sync_session() as db:
                db.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", key, f"client-{thread}", i)
                row = db.select_one_or_none(f"SELECT n FROM {table} WHERE id = ?", key)
                if row != {"n": i}:
                    problems.append(f"read of {key} returned {row!r}")
        return problems

    assert run_threads(work) == []
    assert len(table_contents(pgbouncer_server.backend, table)) == 1 + THREADS * 25
