"""The Flask extension on the async adapters (asyncpg, aiosqlite, psycopg async, asyncmy).

A sync Flask view calls ``plugin.get_session()`` and gets the sync facade of an async session:
each call runs on the portal's event loop and returns plain results. The request lifecycle and
the 1000 mixed requests hold for every adapter and run on these too (``test_lifecycle.py``,
``test_load.py``). Here is what belongs to the async adapters: the guide's "Async Adapters"
example run verbatim, sync and async databases in one request, ``isolated()`` refusing async
configs, many threads through one portal, the portal timeout (of a statement and of a borrow
from an exhausted pool) and the portal thread (started at ``init_app``, never for sync-only
apps). A COMMIT that fails (``test_commit_failure.py``) and statement logging
(``test_observability.py``) are checked on every adapter, these included.

What a request left behind is always read through a fresh session (committed data only).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.exceptions import ImproperConfigurationError, PortalTimeoutError
from sqlspec.extensions.flask import SQLSpecPlugin
from sqlspec.portal import get_portal
from sqlspec.portal_session import PortalSession
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import (
    ASYNC_BACKENDS,
    ITEMS_DDL,
    PORTAL_THREAD,
    POSTGRES_ASYNC_BACKENDS,
    Backend,
    add_write_route,
    backend_fixture,
    count,
    in_use,
    new_app,
    portal_threads,
    run_sql,
    tags,
)
from tests.servers import PostgresServer

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "flask.md"

backend = backend_fixture(ASYNC_BACKENDS)
on_async_postgres = pytest.mark.parametrize("backend", POSTGRES_ASYNC_BACKENDS, indirect=True)


# =========================================================================== the guide

#: The "Async Adapters (Experimental)" block of docs/flask.md, verbatim.
ASYNC_GUIDE = """\
from sqlspec.adapters.asyncpg import AsyncpgConfig

sqlspec = SQLSpec()
config = AsyncpgConfig(
    pool_config={"dsn": "postgresql://localhost/mydb"},
    extension_config={
        "flask": {"commit_mode": "autocommit", "session_key": "db"}
    }
)
sqlspec.add_config(config)

app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec, app)  # Portal auto-created for async configs

@app.route("/users")
def list_users():
    # Async operations run via portal (adds ~1-2ms overhead)
    db = plugin.get_session()
    result = db.execute("SELECT * FROM users")
    return {"users": result.all()}
"""

GUIDE_IMPORT = "from sqlspec.adapters.asyncpg import AsyncpgConfig"
GUIDE_CONFIG = 'config = AsyncpgConfig(\n    pool_config={"dsn": "postgresql://localhost/mydb"},'
GUIDE_DATABASE = "mydb"
GUIDE_USERS = [{"id": 1, "email": "ada@example.com"}, {"id": 2, "email": "bob@example.com"}]


def test_async_guide_block_is_verbatim_in_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert ASYNC_GUIDE in text
    assert ASYNC_GUIDE in re.findall(r"```python\n(.*?)```", text, re.S)  # a whole block
    assert text.count(GUIDE_IMPORT) == 1
    assert ASYNC_GUIDE.count(GUIDE_CONFIG) == 1


def runs_as_written(backend: Backend) -> bool:
    """Whether the guide's block constructs a config of ``backend``'s class."""
    cls = backend.config_class
    return f"from {cls.__module__} import {cls.__name__}" == GUIDE_IMPORT


def guide_source(backend: Backend) -> str:
    """The guide block with its config construction line swapped for ``backend``'s."""
    cls = backend.config_class
    module = cls.__module__
    pool_config = backend.pool_config()
    source = ASYNC_GUIDE.replace(GUIDE_IMPORT, f"from {module} import {cls.__name__}")
    source = source.replace(
        GUIDE_CONFIG, f"config = {cls.__name__}(\n    pool_config={pool_config!r},"
    )
    assert source.count(cls.__name__) == 2, source
    return source


@pytest.fixture
def guide_database(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Prepare what the guide's example needs; yields the block text to run.

    asyncpg on the throwaway server runs the block exactly as written: the database ``mydb``
    exists there, and ``PGPORT``/``PGUSER`` tell asyncpg the port and user the guide's DSN
    leaves out (it connects to ``localhost``). The other adapters (and an external
    ``SQLSPEC_PG_DSN`` server) run the same text with the config construction swapped.
    """
    ddl = f"CREATE TABLE users (id {backend.serial}, email VARCHAR(100) NOT NULL)"
    rows = "INSERT INTO users (email) VALUES ('ada@example.com'), ('bob@example.com')"
    server: PostgresServer | None = backend.postgres
    if runs_as_written(backend) and server is not None and server.host == "127.0.0.1":
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {GUIDE_DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {GUIDE_DATABASE}")
        with psycopg.connect(server.conninfo, dbname=GUIDE_DATABASE, autocommit=True) as conn:
            conn.execute(ddl)
            conn.execute(rows)
        monkeypatch.setenv("PGPORT", str(server.port))
        monkeypatch.setenv("PGUSER", server.user)
        monkeypatch.delenv("PGHOST", raising=False)
        try:
            yield ASYNC_GUIDE
        finally:
            with psycopg.connect(server.conninfo, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {GUIDE_DATABASE} WITH (FORCE)")
        return
    setup = backend.make()
    try:
        run_sql(setup, ddl, rows)
    finally:
        setup.close_pool()
    yield guide_source(backend)


def test_guide_async_example(guide_database: str, backend: Backend) -> None:
    namespace: dict[str, Any] = {
        "__name__": "guide_example",
        "SQLSpec": SQLSpec,
        "Flask": Flask,
        "SQLSpecPlugin": SQLSpecPlugin,
    }
    if runs_as_written(backend) and backend.postgres and backend.postgres.host == "127.0.0.1":
        assert guide_database == ASYNC_GUIDE  # the throwaway server: run exactly as written
    exec(compile(guide_database, str(DOC), "exec"), namespace)
    app: Flask = namespace["app"]
    plugin: SQLSpecPlugin = namespace["plugin"]
    config = namespace["config"]
    try:
        assert type(config) is backend.config_class
        assert portal_threads(), "the portal thread is started by SQLSpecPlugin(sqlspec, app)"
        assert plugin.session_keys() == ("db",)

        # The view itself returns plain rows: a list of dicts, not a coroutine.
        with app.test_request_context("/users"):
            returned = namespace["list_users"]()
            assert isinstance(plugin.get_session(), PortalSession)
        assert type(returned["users"]) is list
        assert all(type(row) is dict for row in returned["users"])
        assert sorted(returned["users"], key=lambda row: row["id"]) == GUIDE_USERS

        client = app.test_client()
        for _ in range(3):
            response = client.get("/users")
            assert response.status_code == 200
            assert response.is_json
            assert sorted(response.json["users"], key=lambda row: row["id"]) == GUIDE_USERS
        assert in_use(config) == 0
        assert plugin.pool_stats()["db"]["in_use"] == 0
    finally:
        namespace["sqlspec"].close_all_pools()


# =========================================================================== sync and async


def test_sync_and_async_databases_in_one_request(
    backend: Backend, sqlite_config: MakeConfig, spec: SQLSpec
) -> None:
    main = sqlite_config("main", session_key="main", commit_mode="autocommit")
    other = spec.add_config(backend.make(session_key="other", commit_mode="autocommit"))
    run_sql(main, ITEMS_DDL)
    run_sql(other, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/both/<int:status>")
    def both(status: int) -> tuple[str, int]:
        for key in ("main", "other"):
            plugin.get_session(key).execute("INSERT INTO items (tag) VALUES (?)", (str(status),))
        return "", status

    client = app.test_client()
    assert client.post("/both/201").status_code == 201
    assert client.post("/both/400").status_code == 400

    assert tags(main) == ["201"]
    assert tags(other) == ["201"]
    assert (in_use(main), in_use(other)) == (0, 0)
    assert not isinstance(main.provide_sync_session(), PortalSession)


def test_isolated_rejects_async_configs(make_config: MakeConfig, spec: SQLSpec) -> None:
    config = make_config()
    app, plugin = new_app(spec)

    with (
        app.app_context(),
        pytest.raises(ImproperConfigurationError, match=r"supports sync configs.*is async"),
        plugin.isolated(),
    ):
        pass
    assert config._pool is None


# =========================================================================== threads, one portal

LOAD_THREADS = 16
LOAD_INSERTS = 50


@on_async_postgres
def test_threads_share_one_portal(backend: Backend, spec: SQLSpec) -> None:
    config = spec.add_config(
        backend.make(commit_mode="autocommit", pool={"min_size": 1, "max_size": 8})
    )
    run_sql(config, f"CREATE TABLE items (id {backend.serial}, tag VARCHAR(100) NOT NULL)")
    app, plugin = new_app(spec)

    @app.post("/items/<tag>")
    def create(tag: str) -> tuple[dict[str, Any], int]:
        db = plugin.get_session()
        row_id = db.select_value("INSERT INTO items (tag) VALUES (?) RETURNING id", (tag,))
        return {"id": row_id}, 201

    @app.get("/items/<int:row_id>")
    def read(row_id: int) -> dict[str, Any]:
        db = plugin.get_session()
        row = db.select_one("SELECT id, tag FROM items WHERE id = ?", (row_id,))
        return {"row": row, "total": db.select_value("SELECT COUNT(*) FROM items")}

    def worker(n: int) -> list[int]:
        client = app.test_client()
        ids = []
        for i in range(LOAD_INSERTS):
            tag = f"t{n}-{i}"
            created = client.post(f"/items/{tag}")
            assert created.status_code == 201, created.data
            row_id = created.json["id"]
            got = client.get(f"/items/{row_id}")
            assert got.status_code == 200, got.data
            assert got.json["row"] == {"id": row_id, "tag": tag}  # committed, read back at once
            assert got.json["total"] >= i + 1
            ids.append(row_id)
        return ids

    started = time.monotonic()
    with ThreadPoolExecutor(LOAD_THREADS) as executor:
        futures = [executor.submit(worker, n) for n in range(LOAD_THREADS)]
        created = [row_id for future in futures for row_id in future.result(timeout=60)]
    elapsed = time.monotonic() - started

    assert len(created) == len(set(created)) == LOAD_THREADS * LOAD_INSERTS
    assert count(config, "items") == LOAD_THREADS * LOAD_INSERTS
    stats = config.pool_stats()
    assert (stats.in_use, stats.waiting) == (0, 0), stats
    assert stats.size <= 8
    assert len(portal_threads()) == 1
    assert elapsed < 30, f"{LOAD_THREADS * LOAD_INSERTS * 2} requests took {elapsed:.1f} s"


# =========================================================================== portal timeout


def slow_sql(backend: Backend) -> str:
    """A statement that takes well over the 1 s limit (or forever) on the server."""
    if backend.info.is_mysql:
        # MariaDB cancels nothing on the server: a discarded connection's SLEEP runs to its
        # end, holding the transaction's locks (the next test's DROP TABLE would wait for them).
        return "SELECT SLEEP(3)"
    return backend.info.sleep_5


def active_sleeps(server: PostgresServer) -> int:
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%'"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("testing", [True, False], ids=["testing", "production"])
def test_portal_timeout_fails_fast_and_returns_the_connection(
    backend: Backend, spec: SQLSpec, testing: bool
) -> None:
    config = spec.add_config(backend.make(commit_mode="autocommit", portal_timeout=1))
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec, testing=testing)
    app.logger.disabled = True
    errors: list[BaseException] = []
    statement = slow_sql(backend)

    @app.errorhandler(PortalTimeoutError)
    def timed_out(error: PortalTimeoutError) -> None:
        errors.append(error)
        raise error  # keep Flask's own handling (500, or re-raised in testing mode)

    @app.post("/slow")
    def slow() -> tuple[str, int]:
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES ('slow')")
        db.execute(statement)
        return "", 201

    @app.post("/fast")
    def fast() -> tuple[dict[str, Any], int]:
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES ('fast')")
        return {"one": db.select_value("SELECT 1")}, 201

    client = app.test_client()
    started = time.monotonic()
    if testing:
        with pytest.raises(PortalTimeoutError) as raised:
            client.post("/slow")
        error: BaseException = raised.value
    else:
        response = client.post("/slow")
        assert response.status_code == 500
        [error] = errors
    elapsed = time.monotonic() - started

    assert 0.8 <= elapsed <= 2.5, f"the request took {elapsed:.2f} s with portal_timeout=1"
    message = str(error)
    assert "portal timeout of 1 s" in message
    assert statement in message
    assert f"{type(config).__name__}(..., portal_timeout=<seconds>)" in message
    assert in_use(config) == 0
    if backend.postgres is not None:  # the query was cancelled on the server too
        deadline = time.monotonic() + 2
        while active_sleeps(backend.postgres) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert active_sleeps(backend.postgres) == 0, "the server still runs the cancelled query"

    # The connection came back healthy (or was replaced): the next requests succeed.
    for _ in range(3):
        response = client.post("/fast")
        assert (response.status_code, response.json) == (201, {"one": 1})
    assert in_use(config) == 0
    assert tags(config) == ["fast", "fast", "fast"]


def test_portal_timeout_while_borrowing_from_an_exhausted_pool(
    backend: Backend, spec: SQLSpec
) -> None:
    # The pool would wait 30 s for a connection; the portal gives up after 0.5 s, and the
    # cancelled borrow leaves nothing behind.
    pool: dict[str, Any] = {"max_size": 1}
    if backend.is_postgres:
        pool["min_size"] = 1
    config = spec.add_config(backend.make(commit_mode="autocommit", portal_timeout=0.5, pool=pool))
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)
    add_write_route(app, plugin)
    client = app.test_client()
    holder = config.provide_sync_session()
    holder.__enter__()
    try:
        started = time.monotonic()
        with pytest.raises(
            PortalTimeoutError, match=r"'borrowing a connection'.*timeout of 0\.5 s"
        ):
            client.post("/write/201?tag=waited")
        elapsed = time.monotonic() - started
        stats = config.pool_stats()
        assert (stats.in_use, stats.waiting) == (1, 0), stats  # only the holder's
    finally:
        holder.close()

    assert 0.4 <= elapsed <= 2.0, elapsed
    assert in_use(config) == 0
    assert client.post("/write/201?tag=later").status_code == 201
    assert tags(config) == ["later"]
    assert in_use(config) == 0


@on_async_postgres
def test_slow_request_does_not_hold_up_the_others(backend: Backend, spec: SQLSpec) -> None:
    # One portal loop serves every thread: a request waiting on the server must not block it.
    config = spec.add_config(backend.make(pool={"min_size": 2, "max_size": 4}))
    app, plugin = new_app(spec)
    assert backend.postgres is not None

    @app.get("/slow")
    def slow() -> str:
        plugin.get_session().execute("SELECT pg_sleep(1.5)")
        return "slow"

    @app.get("/fast")
    def fast() -> str:
        return str(plugin.get_session().select_value("SELECT 1"))

    with ThreadPoolExecutor(1) as executor:
        pending = executor.submit(lambda: app.test_client().get("/slow").data)
        deadline = time.monotonic() + 1
        while not active_sleeps(backend.postgres) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert active_sleeps(backend.postgres) == 1
        started = time.monotonic()
        client = app.test_client()
        answers = [client.get("/fast").data for _ in range(20)]
        fast_elapsed = time.monotonic() - started
        assert not pending.done()
        assert pending.result(timeout=10) == b"slow"

    assert answers == [b"1"] * 20
    assert fast_elapsed < 0.75, f"20 fast requests took {fast_elapsed:.2f} s beside a slow one"
    assert in_use(config) == 0


# =========================================================================== portal thread


def test_portal_thread_starts_at_init_app(make_config: MakeConfig, spec: SQLSpec) -> None:
    make_config()
    SQLSpecPlugin(spec, Flask("portal_at_init"))

    assert get_portal().running
    assert [thread.name for thread in portal_threads()] == [PORTAL_THREAD]
    assert all(thread.daemon for thread in portal_threads())


def run_python(code: str, cwd: Path) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last output line, parsed as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(REPO), "TMPDIR": str(cwd), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_sync_only_app_never_starts_a_portal_thread(tmp_path: Path) -> None:
    seen = run_python(
        f"""
        import json, threading
        from flask import Flask
        from sqlspec import SQLSpec
        from sqlspec.adapters.sqlite import SqliteConfig
        from sqlspec.extensions.flask import SQLSpecPlugin

        spec = SQLSpec()
        spec.add_config(SqliteConfig(pool_config={{"database": {str(tmp_path / "s.db")!r}}},
                                     extension_config={{"flask": {{"commit_mode": "autocommit"}}}}))
        app = Flask("sync_only")
        plugin = SQLSpecPlugin(spec, app)

        @app.route("/answer")
        def answer():
            return str(plugin.get_session().select_value("SELECT 6 * 7"))

        body = app.test_client().get("/answer").data.decode()
        import sqlspec.portal as portal
        print(json.dumps({{
            "body": body,
            "threads": sorted(t.name for t in threading.enumerate()),
            "portal_running": portal._portal is not None and portal._portal.running,
        }}))
        """,
        tmp_path,
    )

    assert seen == {"body": "42", "threads": ["MainThread"], "portal_running": False}


def test_async_config_starts_the_portal_at_init_app_in_a_fresh_interpreter(
    tmp_path: Path,
) -> None:
    seen = run_python(
        f"""
        import json, threading
        from flask import Flask
        from sqlspec import SQLSpec
        from sqlspec.adapters.aiosqlite import AiosqliteConfig
        from sqlspec.extensions.flask import SQLSpecPlugin

        def names():
            return sorted(t.name for t in threading.enumerate())

        spec = SQLSpec()
        database = {str(tmp_path / "a.db")!r}
        config = spec.add_config(AiosqliteConfig(pool_config={{"database": database}}))
        app = Flask("async_lazy")
        before = names()
        plugin = SQLSpecPlugin(spec, app)
        after_init = names()

        @app.route("/ping")
        def ping():
            return "pong"

        body = app.test_client().get("/ping").data.decode()
        print(json.dumps({{
            "before": before,
            "after_init": after_init,
            "after_request": names(),
            "body": body,
            "pool_created": config._pool is not None,
        }}))
        """,
        tmp_path,
    )

    assert seen == {
        "before": ["MainThread"],
        "after_init": ["MainThread", PORTAL_THREAD],
        "after_request": ["MainThread", PORTAL_THREAD],
        "body": "pong",
        "pool_created": False,
    }
