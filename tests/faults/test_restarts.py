"""Database restarts, outages and crashes, against private throwaway servers.

Each module-scoped server here is this module's own (never the shared session servers), since the
tests stop, restart and SIGKILL it. Every PostgreSQL test runs on psycopg (sync), psycopg (async,
through ``provide_sync_session``) and asyncpg (through ``provide_sync_session``); asyncmy on
MariaDB where it applies.

What is checked (issue 8, "Restarts and outages" and "Fail fast with the real cause"):

- a server restarted while the pool's connections are idle: no request fails afterwards;
- a 15 s outage: once the server accepts connections, no request fails and the first succeeds
  within 1 s;
- SIGKILL mid-transaction: no partial transaction, every acknowledged commit present;
- server down: a borrow fails in under 3 s with ``ConnectionError`` naming the host/port and
  the driver's reason, never the password;
- a real pool exhaustion still says so;
- no extra round trip per request (BEGIN, SELECT, COMMIT).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.asyncmy import AsyncmyConfig
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig, PsycopgConfig
from sqlspec.exceptions import ConnectionError, PoolTimeoutError, SQLSpecError
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.servers import MariaDBServer, PostgresServer, private_mariadb, private_postgres

#: Given to every config; trust authentication ignores it, and it must never show in a message.
SECRET = "s3cret-pw-never-shown"

POSTGRES_ADAPTERS = ("psycopg", "psycopg_async", "asyncpg")


@dataclass
class Server:
    """A private server and its controls (``halt``/``resume``/``kill``)."""

    params: Any
    control: Any

    @property
    def port(self) -> int:
        return int(self.params.port)


@pytest.fixture(scope="module")
def pg() -> Iterator[Server]:
    with private_postgres(durable=True) as (params, control):
        yield Server(params, control)


@pytest.fixture(scope="module")
def maria() -> Iterator[Server]:
    with private_mariadb() as (params, control):
        yield Server(params, control)


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    spec = SQLSpec()
    yield spec
    spec.close_all_pools()


def make_config(adapter: str, server: Server, *, flask: bool = False, **pool: Any) -> Any:
    """A config of ``adapter`` for ``server``; ``timeout`` is the pool's acquire timeout."""
    params = server.params
    extension = {"flask": {"commit_mode": "autocommit"}} if flask else None
    timeout = pool.pop("timeout", None)
    if adapter in ("psycopg", "psycopg_async"):
        assert isinstance(params, PostgresServer)
        settings = {
            "host": params.host,
            "port": params.port,
            "user": params.user,
            "dbname": params.dbname,
            "password": SECRET,
            **pool,
        }
        if timeout is not None:
            settings["timeout"] = timeout
        cls = PsycopgConfig if adapter == "psycopg" else PsycopgAsyncConfig
        return cls(pool_config=settings, extension_config=extension)
    if timeout is not None:
        pool["acquire_timeout"] = timeout
    if adapter == "asyncpg":
        assert isinstance(params, PostgresServer)
        settings = {
            "host": params.host,
            "port": params.port,
            "user": params.user,
            "database": params.dbname,
            "password": SECRET,
            **pool,
        }
        return AsyncpgConfig(pool_config=settings, extension_config=extension)
    assert isinstance(params, MariaDBServer)
    settings = {
        "host": params.host,
        "port": params.port,
        "user": params.user,
        "password": pool.pop("password", params.password),
        "database": params.database,
        **pool,
    }
    return AsyncmyConfig(pool_config=settings, extension_config=extension)


def one(spec: SQLSpec, config: Any) -> Any:
    """One request: borrow, run a statement, return the connection."""
    with spec.provide_sync_session(config) as db:
        return db.select_value("SELECT 1")


def warm(spec: SQLSpec, config: Any, size: int) -> None:
    """Open ``size`` pooled connections and leave them idle."""
    sessions = [spec.provide_sync_session(config) for _ in range(size)]
    for session in sessions:
        session.__enter__()
        assert session.select_value("SELECT 1") == 1
    for session in sessions:
        session.close()
    deadline = time.monotonic() + 5
    while config.pool_stats().idle < size and time.monotonic() < deadline:
        time.sleep(0.01)
    assert config.pool_stats().idle >= size, config.pool_stats()  # psycopg_pool may open more


def flask_client(spec: SQLSpec) -> Any:
    app = Flask(__name__)
    plugin = SQLSpecPlugin(spec, app)

    @app.get("/one")
    def route() -> dict[str, Any]:
        value = plugin.get_session().select_value("SELECT 1")
        # The session's current connection, also after it replaced a dead one.
        assert plugin.get_connection() is plugin.get_session().connection
        return {"one": value}

    return app.test_client()


@pytest.fixture
def running(pg: Server) -> Iterator[Server]:
    """The PostgreSQL server, started again after the test if the test left it down."""
    yield pg
    if not pg.control.running:
        pg.control.resume()


@pytest.fixture
def maria_running(maria: Server) -> Iterator[Server]:
    yield maria
    if maria.control.process is None:
        maria.control.resume()


def assert_names_server(error: BaseException, server: Server) -> None:
    message = str(error)
    assert str(server.port) in message, message
    assert "127.0.0.1" in message, message
    assert SECRET not in message, message
    assert isinstance(error, ConnectionError), repr(error)
    assert not isinstance(error, PoolTimeoutError), message


# -- (a) restart while idle --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
def test_restart_while_idle_fails_no_request(adapter: str, running: Server, spec: SQLSpec) -> None:
    config = spec.add_config(make_config(adapter, running, flask=True, min_size=1, max_size=4))
    warm(spec, config, 4)
    client = flask_client(spec)

    running.control.halt("fast")
    running.control.resume()

    statuses = [client.get("/one").status_code for _ in range(100)]
    assert statuses.count(200) == 100, statuses
    assert config.pool_stats().in_use == 0


FIRST_STEPS = ("execute", "execute_many", "execute_script", "begin")


def first_step(db: Any, step: str) -> None:
    """Run ``step`` as a session's first statement."""
    if step == "execute":
        assert db.select_value("SELECT 1") == 1
    elif step == "execute_many":
        db.execute_many("SELECT CAST(? AS INTEGER)", [(1,), (2,)])
    elif step == "execute_script":
        db.execute_script("SELECT 1; SELECT 2")
    else:
        db.begin()
        assert db.in_transaction


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
def test_every_kind_of_first_statement_gets_a_fresh_connection(
    adapter: str, running: Server, spec: SQLSpec
) -> None:
    configs = {
        step: spec.add_config(make_config(adapter, running, min_size=1, max_size=1))
        for step in FIRST_STEPS
    }
    for config in configs.values():
        warm(spec, config, 1)

    running.control.halt("fast")
    running.control.resume()

    for step, config in configs.items():
        with spec.provide_sync_session(config) as db:
            first_step(db, step)
            assert db.select_value("SELECT 2") == 2


@pytest.mark.mariadb
def test_mariadb_restart_while_idle_fails_no_request(maria_running: Server, spec: SQLSpec) -> None:
    config = spec.add_config(make_config("asyncmy", maria_running, flask=True, max_size=4))
    warm(spec, config, 4)
    client = flask_client(spec)

    maria_running.control.halt()
    maria_running.control.resume()

    statuses = [client.get("/one").status_code for _ in range(100)]
    assert statuses.count(200) == 100, statuses
    assert config.pool_stats().in_use == 0


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
def test_dead_connection_after_a_statement_is_not_retried(
    adapter: str, running: Server, spec: SQLSpec
) -> None:
    config = spec.add_config(make_config(adapter, running, min_size=1, max_size=2))
    check_lost_connection_is_not_retried(spec, config, lambda: restart(running))


@pytest.mark.mariadb
def test_mariadb_dead_connection_after_a_statement_is_not_retried(
    maria_running: Server, spec: SQLSpec
) -> None:
    config = spec.add_config(make_config("asyncmy", maria_running, max_size=2))
    check_lost_connection_is_not_retried(spec, config, lambda: restart(maria_running))


def restart(server: Server) -> None:
    server.control.halt()
    server.control.resume()


def check_lost_connection_is_not_retried(
    spec: SQLSpec, config: Any, restart_server: Callable[[], None]
) -> None:
    # Once a statement of the session ran, its work died with the connection: rerunning only
    # the next statement on a new connection would commit half a unit of work.
    with spec.provide_sync_session(config) as db:
        db.execute("CREATE TABLE IF NOT EXISTS half (id INTEGER PRIMARY KEY)")
        db.execute("DELETE FROM half")
        db.commit()
    with spec.provide_sync_session(config) as db:
        db.execute("INSERT INTO half (id) VALUES (1)")
        restart_server()
        with pytest.raises(ConnectionError, match="connection to the database was lost") as error:
            db.execute("INSERT INTO half (id) VALUES (2)")
        assert "not rerun" in str(error.value)
        db.rollback()  # the server rolled it back already: not an error
    with spec.provide_sync_session(config) as db:
        assert db.select("SELECT id FROM half") == []
        db.execute("INSERT INTO half (id) VALUES (3)")
        restart_server()
        with pytest.raises(ConnectionError, match="during COMMIT") as error:
            db.commit()  # never retried: its outcome is unknown in general
        assert "may or may not have been committed" in str(error.value)
    with spec.provide_sync_session(config) as db:
        assert db.select("SELECT id FROM half") == []
    assert config.pool_stats().in_use == 0


# -- (b) a 15 s outage -------------------------------------------------------------------------


OUTAGE = 15.0


@pytest.mark.postgres
def test_outage_then_first_request_succeeds_at_once(running: Server, spec: SQLSpec) -> None:
    configs = {
        adapter: spec.add_config(make_config(adapter, running, min_size=1, max_size=4))
        for adapter in POSTGRES_ADAPTERS
    }
    for config in configs.values():
        warm(spec, config, 4)

    running.control.halt("fast")
    down_since = time.monotonic()
    slowest = 0.0
    failures: dict[str, int] = dict.fromkeys(configs, 0)
    while time.monotonic() - down_since < OUTAGE:
        for adapter, config in configs.items():
            started = time.monotonic()
            with pytest.raises(ConnectionError) as error:
                one(spec, config)
            slowest = max(slowest, time.monotonic() - started)
            assert_names_server(error.value, running)
            failures[adapter] += 1
        time.sleep(0.5)
    assert slowest < 3.0, slowest
    assert min(failures.values()) >= 5, failures

    running.control.resume()  # returns once the server accepts connections
    up_at = time.monotonic()
    first_success: dict[str, float] = {}
    errors: list[BaseException] = []

    def first_request(adapter: str) -> None:
        try:
            assert one(spec, configs[adapter]) == 1
            first_success[adapter] = time.monotonic() - up_at
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first_request, args=(a,)) for a in configs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [], errors
    assert max(first_success.values()) < 1.0, first_success
    for config in configs.values():
        assert [one(spec, config) for _ in range(30)] == [1] * 30


# -- (c) SIGKILL mid-transaction ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
def test_sigkill_mid_transaction_keeps_acknowledged_writes_only(
    adapter: str, running: Server, spec: SQLSpec
) -> None:
    table = f"pairs_{adapter}"
    config = spec.add_config(make_config(adapter, running, min_size=1, max_size=4))
    with spec.provide_sync_session(config) as db:
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"CREATE TABLE {table} (k INTEGER, part TEXT, PRIMARY KEY (k, part))")
        db.commit()

    acknowledged: list[int] = []
    writer_errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        # Each transaction writes two rows; a commit that returned is acknowledged.
        for k in range(100_000):
            if stop.is_set():
                return
            try:
                with spec.provide_sync_session(config) as db:
                    db.execute(f"INSERT INTO {table} (k, part) VALUES (?, 'a')", k)
                    db.execute(f"INSERT INTO {table} (k, part) VALUES (?, 'b')", k)
                    db.commit()
                acknowledged.append(k)
            except SQLSpecError as error:
                writer_errors.append(error)
                return

    holder = spec.provide_sync_session(config)
    holder.__enter__()
    holder.execute(f"INSERT INTO {table} (k, part) VALUES (-1, 'a')")  # never committed

    thread = threading.Thread(target=writer)
    thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    running.control.kill()
    thread.join(30)
    stop.set()
    assert len(acknowledged) >= 20
    assert writer_errors
    assert all(isinstance(e, ConnectionError) for e in writer_errors), writer_errors

    with pytest.raises(ConnectionError, match="connection to the database was lost"):
        holder.execute(f"INSERT INTO {table} (k, part) VALUES (-1, 'b')")
    holder.close()

    running.control.resume()
    with spec.provide_sync_session(config) as db:
        rows = db.select(f"SELECT k, part FROM {table} ORDER BY k, part")
    parts: dict[int, list[str]] = {}
    for row in rows:
        parts.setdefault(row["k"], []).append(row["part"])
    assert all(found == ["a", "b"] for found in parts.values()), "a partial transaction"
    assert -1 not in parts
    assert set(acknowledged) <= set(parts), sorted(set(acknowledged) - set(parts))


# -- (d) server down: fail fast with the real cause --------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
@pytest.mark.parametrize("pool_state", ["new", "warm"])
def test_server_down_fails_fast_with_the_cause(
    adapter: str, pool_state: str, running: Server, spec: SQLSpec
) -> None:
    config = spec.add_config(make_config(adapter, running, min_size=1, max_size=4))
    if pool_state == "warm":
        warm(spec, config, 2)
    running.control.halt("fast")
    for _ in range(3):  # the first borrow, and the ones after it
        started = time.monotonic()
        with pytest.raises(ConnectionError) as error:
            one(spec, config)
        elapsed = time.monotonic() - started
        assert elapsed < 3.0, elapsed
        assert_names_server(error.value, running)
        assert re.search("refused", str(error.value), re.IGNORECASE), str(error.value)


@pytest.mark.mariadb
def test_mariadb_down_fails_fast_with_the_cause(maria_running: Server, spec: SQLSpec) -> None:
    config = spec.add_config(make_config("asyncmy", maria_running, password=SECRET))
    maria_running.control.halt()
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(ConnectionError) as error:
            one(spec, config)
        assert time.monotonic() - started < 3.0
        assert_names_server(error.value, maria_running)
        assert re.search("refused", str(error.value), re.IGNORECASE), str(error.value)


def test_default_connect_timeout_is_a_few_seconds_and_explicit_values_are_kept() -> None:
    server = Server(PostgresServer("127.0.0.1", 1, "u", "d"), None)
    sync_default = make_config("psycopg", server)._pool_arguments()[1]
    assert sync_default["connect_timeout"] == 5
    explicit = make_config("psycopg", server, connect_timeout=9)._pool_arguments()[1]
    assert explicit["connect_timeout"] == 9
    in_conninfo = PsycopgConfig(pool_config={"conninfo": "host=x connect_timeout=7"})
    assert "connect_timeout" not in in_conninfo._pool_arguments()[1]


# -- (e) a real exhaustion still says so -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
def test_real_exhaustion_says_the_pool_is_exhausted(
    adapter: str, running: Server, spec: SQLSpec
) -> None:
    config = spec.add_config(make_config(adapter, running, min_size=1, max_size=1, timeout=0.6))
    with spec.provide_sync_session(config) as held:
        held.select_value("SELECT 1")
        started = time.monotonic()
        with pytest.raises(PoolTimeoutError, match=r"pool is exhausted.*in use") as error:
            one(spec, config)
        assert 0.5 <= time.monotonic() - started < 2.5
        assert SECRET not in str(error.value)


@pytest.mark.mariadb
def test_mariadb_real_exhaustion_says_so(maria_running: Server, spec: SQLSpec) -> None:
    config = spec.add_config(make_config("asyncmy", maria_running, max_size=1, timeout=0.6))
    with spec.provide_sync_session(config) as held:
        held.select_value("SELECT 1")
        with pytest.raises(PoolTimeoutError, match=r"pool is exhausted.*in use"):
            one(spec, config)


# -- no extra round trip -----------------------------------------------------------------------


@pytest.mark.postgres
def test_a_request_costs_three_statements(running: Server, spec: SQLSpec) -> None:
    # The S4 request (a GET in autocommit mode): BEGIN, the SELECT, COMMIT; no liveness ping
    # (BEGIN and the SELECT travel in one pipeline: benchmarks/bench_roundtrips.py counts that).
    config = spec.add_config(make_config("psycopg", running, flask=True, min_size=1, max_size=1))
    warm(spec, config, 1)
    with spec.provide_session(config) as db:
        db.execute_script("ALTER SYSTEM SET log_statement = 'all'", transaction=False)
        db.execute_script("SELECT pg_reload_conf()", transaction=False)
    time.sleep(0.5)  # the reload reaches the backend at its next command
    client = flask_client(spec)
    try:
        log = Path(running.control.logfile)
        client.get("/one")  # the backend reads the new setting
        before = log.read_text(errors="replace")
        for _ in range(5):
            assert client.get("/one").status_code == 200
        time.sleep(0.2)
        logged = log.read_text(errors="replace")[len(before) :]
    finally:
        with spec.provide_session(config) as db:
            db.execute_script("ALTER SYSTEM RESET log_statement", transaction=False)
            db.execute_script("SELECT pg_reload_conf()", transaction=False)
    statements = re.findall(r"LOG:  (?:statement|execute [^:]*): (.*)", logged)
    assert statements == ["BEGIN", "SELECT 1", "COMMIT"] * 5, statements
