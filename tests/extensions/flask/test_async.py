"""The Flask extension on the async adapters (asyncpg, aiosqlite, psycopg async, asyncmy).

A sync Flask view calls ``plugin.get_session()`` and gets the sync facade of an async session:
each call runs on the portal's event loop and returns plain results. These tests mirror the sync
suite (``test_lifecycle.py``, ``test_commit_failure.py``, ``test_load.py``,
``test_observability.py``) on every async adapter: the guide's "Async Adapters" example run
verbatim, the commit policy of every mode, a COMMIT that fails, clean-up on every exit path (and
after 1000 mixed requests), sync and async databases in one request, many threads through one
portal, the portal timeout (of a statement and of a borrow from an exhausted pool), laziness (no
pool, and no portal thread for sync-only apps) and statement logging.

What a request left behind is always read through a fresh session (committed data only).
"""

from __future__ import annotations

import json
import logging
import random
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click
import psycopg
import pytest
from flask import Flask, Response, abort, request, stream_with_context
from flask.cli import with_appcontext

from sqlspec import SQLSpec, SQLSpecError
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.async_driver import PortalSession
from sqlspec.exceptions import ConnectionError as SQLSpecConnectionError
from sqlspec.exceptions import (
    ForeignKeyViolationError,
    ImproperConfigurationError,
    PortalTimeoutError,
)
from sqlspec.extensions.flask import SQLSpecPlugin
from sqlspec.portal import get_portal
from tests.extensions.flask.async_helpers import (
    ADAPTERS,
    ITEMS_DDL,
    PORTAL_THREAD,
    POSTGRES_ADAPTERS,
    Backend,
    count,
    in_use,
    mariadb_query,
    open_backend,
    portal_threads,
    run_sql,
    tags,
)
from tests.extensions.flask.helpers import add_write_route, new_app
from tests.servers import PostgresServer

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "flask.md"

MakeAsync = Callable[..., Any]


@pytest.fixture(params=ADAPTERS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from open_backend(request, str(request.param), tmp_path)


@pytest.fixture(params=POSTGRES_ADAPTERS)
def pg_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from open_backend(request, str(request.param), tmp_path)


@pytest.fixture
def make_async(backend: Backend, spec: SQLSpec) -> MakeAsync:
    """Build and register a config of the test's adapter; keywords are its Flask settings
    (``pool=`` pool settings, ``portal_timeout=``)."""

    def make(**settings: Any) -> Any:
        return spec.add_config(backend.make(**settings))

    return make


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
    if backend.name == "asyncpg" and server is not None and server.host == "127.0.0.1":
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
    if backend.name == "asyncpg" and backend.postgres and backend.postgres.host == "127.0.0.1":
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


# =========================================================================== commit policy

POLICY_GROUPS = [
    # (commit_mode, extra settings, {status: committed})
    (
        "autocommit",
        {},
        {200: True, 201: True, 204: True, 299: True, 301: False, 302: False, 400: False}
        | {404: False, 500: False},
    ),
    (
        "autocommit_include_redirect",
        {},
        {200: True, 302: True, 303: True, 399: True, 400: False, 500: False},
    ),
    ("autocommit", {"extra_commit_statuses": {409, 302}}, {409: True, 302: True, 400: False}),
    ("autocommit", {"extra_rollback_statuses": {201}}, {201: False, 200: True}),
    ("autocommit_include_redirect", {"extra_rollback_statuses": {302}}, {302: False, 301: True}),
    ("autocommit_include_redirect", {"extra_commit_statuses": {418}}, {418: True, 404: False}),
    ("manual", {}, {200: False, 201: False, 302: False, 400: False}),
]


@pytest.mark.parametrize(
    ("mode", "extra", "expected"),
    POLICY_GROUPS,
    ids=[f"{mode}-{'-'.join(sorted(extra)) or 'plain'}" for mode, extra, _ in POLICY_GROUPS],
)
def test_commit_policy(
    make_async: MakeAsync,
    spec: SQLSpec,
    mode: str,
    extra: dict[str, Any],
    expected: dict[int, bool],
) -> None:
    config = make_async(commit_mode=mode, **extra)
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)
    add_write_route(app, plugin)
    client = app.test_client()

    for status in expected:
        assert client.post(f"/write/{status}?tag=s{status}").status_code == status
        assert in_use(config) == 0

    assert tags(config) == sorted(f"s{status}" for status, kept in expected.items() if kept)


def test_manual_mode_commit_through_connection(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async(commit_mode="manual")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/items")
    def create() -> tuple[dict[str, Any], int]:
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES ('kept')")
        connection = plugin.get_connection()
        assert connection is plugin.get_connection()
        connection.commit()  # sync, even on an async driver: it runs on the portal
        db.execute("INSERT INTO items (tag) VALUES ('undone')")
        plugin.get_connection().rollback()
        db.execute("INSERT INTO items (tag) VALUES ('lost')")  # never committed
        return {"in_transaction": db.in_transaction}, 201

    response = app.test_client().post("/items")

    assert (response.status_code, response.json) == (201, {"in_transaction": True})
    assert tags(config) == ["kept"]
    assert in_use(config) == 0


def test_manual_mode_session_commit(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async()  # manual is the default
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/items/<tag>")
    def create(tag: str) -> tuple[str, int]:
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES (?)", (tag,))
        if request.args.get("commit"):
            db.commit()
        return "", 400  # the status never commits or rolls back in manual mode

    client = app.test_client()
    assert client.post("/items/a?commit=1").status_code == 400
    assert client.post("/items/b").status_code == 400

    assert tags(config) == ["a"]
    assert in_use(config) == 0


def test_autocommit_2xx_commits_and_400_really_undoes(make_async: MakeAsync, spec: SQLSpec) -> None:
    # Several statements per request; asyncpg runs statements on their own unless the session
    # opened a transaction, so a 400 must undo all of them, not just the last.
    config = make_async(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/batch/<int:status>")
    def batch(status: int) -> tuple[dict[str, int], int]:
        db = plugin.get_session()
        for n in range(3):
            db.execute("INSERT INTO items (tag) VALUES (?)", (f"{status}-{n}",))
        return {"seen": db.select_value("SELECT COUNT(*) FROM items")}, status

    client = app.test_client()
    assert client.post("/batch/201").json == {"seen": 3}
    assert client.post("/batch/400").json == {"seen": 6}  # its own rows were visible to it

    assert tags(config) == ["201-0", "201-1", "201-2"]
    assert count(config, "items") == 3
    assert in_use(config) == 0


# =========================================================================== commit failure

FK_SCHEMA = (
    "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
    "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
    "REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
    "INSERT INTO parents (id) VALUES (1)",
)
MARIADB_SCHEMA = (
    "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
    "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL)",
    "INSERT INTO parents (id) VALUES (1)",
)


def children_app(
    spec: SQLSpec, backend: Backend, *, testing: bool = False
) -> tuple[Flask, SQLSpecPlugin]:
    """``POST /children/<id>/<parent>`` answers 201; the orphan is only detected at COMMIT.

    MariaDB has no deferred constraints: there the COMMIT fails because the server ends the
    request's connection (``KILL``) between the INSERT and the commit, which loses the
    transaction just as a failed COMMIT does.
    """
    app, plugin = new_app(spec, testing=testing)

    @app.post("/children/<int:child_id>/<int:parent_id>")
    def add_child(child_id: int, parent_id: int) -> tuple[dict[str, bool], int]:
        db = plugin.get_session()
        db.execute("INSERT INTO children (id, parent_id) VALUES (?, ?)", (child_id, parent_id))
        if backend.name == "asyncmy" and parent_id == 999:
            assert backend.mariadb is not None
            connection_id = int(db.select_value("SELECT CONNECTION_ID()"))
            mariadb_query(backend.mariadb, f"KILL CONNECTION {connection_id}")
        return {"created": True}, 201

    @app.get("/children")
    def list_children() -> dict[str, Any]:
        rows = plugin.get_session().select("SELECT id FROM children ORDER BY id")
        return {"children": [row["id"] for row in rows]}

    return app, plugin


def commit_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "sqlspec.flask"
        and record.levelno == logging.ERROR
        and "commit failed" in record.getMessage()
    ]


@pytest.fixture
def fk_config(make_async: MakeAsync, backend: Backend) -> Any:
    config = make_async(commit_mode="autocommit")
    run_sql(config, *(MARIADB_SCHEMA if backend.name == "asyncmy" else FK_SCHEMA))
    return config


def expected_commit_error(backend: Backend) -> type[Exception]:
    return SQLSpecConnectionError if backend.name == "asyncmy" else ForeignKeyViolationError


def test_failed_commit_turns_201_into_500(
    fk_config: Any, backend: Backend, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = children_app(spec, backend)
    app.logger.disabled = True
    client = app.test_client()

    response = client.post("/children/1/999")

    assert response.status_code == 500
    assert b"Internal Server Error" in response.data
    [record] = commit_failures(caplog)
    assert "POST /children/1/999" in record.getMessage()
    assert isinstance(record.exc_info[1], expected_commit_error(backend))  # type: ignore[index]
    assert in_use(fk_config) == 0
    assert count(fk_config, "children") == 0
    # The pool serves the next requests normally.
    assert client.get("/children").json == {"children": []}
    assert client.post("/children/2/1").status_code == 201
    assert client.get("/children").json == {"children": [2]}
    assert in_use(fk_config) == 0


def test_failed_commit_goes_through_the_app_500_handler(
    fk_config: Any, backend: Backend, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = children_app(spec, backend)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "could not save"}, 500

    response = app.test_client().post("/children/1/999")

    assert (response.status_code, response.json) == (500, {"error": "could not save"})
    assert len(commit_failures(caplog)) == 1
    assert app.test_client().get("/children").json == {"children": []}
    assert in_use(fk_config) == 0


def test_failed_commit_is_raised_in_testing_mode(
    fk_config: Any, backend: Backend, spec: SQLSpec
) -> None:
    app, _ = children_app(spec, backend, testing=True)

    with pytest.raises(expected_commit_error(backend)):
        app.test_client().post("/children/1/999")

    assert in_use(fk_config) == 0
    assert app.test_client().get("/children").json == {"children": []}
    assert app.test_client().post("/children/3/1").status_code == 201
    assert count(fk_config, "children") == 1


# =========================================================================== clean-up

MODES = ("manual", "autocommit", "autocommit_include_redirect")


@pytest.mark.parametrize("mode", MODES)
def test_propagating_exception_rolls_back_and_releases(
    make_async: MakeAsync, spec: SQLSpec, mode: str
) -> None:
    # app.testing: PROPAGATE_EXCEPTIONS, Flask skips after_request; teardown still cleans up.
    config = make_async(commit_mode=mode)
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/items")
    def create() -> None:
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES ('committed')")
        db.commit()
        db.execute("INSERT INTO items (tag) VALUES ('lost')")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        app.test_client().post("/items")

    assert tags(config) == ["committed"]
    assert in_use(config) == 0


def test_unhandled_exception_is_a_500_and_rolls_back(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec, testing=False)
    app.logger.disabled = True

    @app.post("/items")
    def create() -> None:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('lost')")
        raise RuntimeError("boom")

    assert app.test_client().post("/items").status_code == 500
    assert tags(config) == []
    assert in_use(config) == 0


@pytest.mark.parametrize("status", [404, 409])
def test_abort_rolls_back_and_releases(make_async: MakeAsync, spec: SQLSpec, status: int) -> None:
    config = make_async(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/items")
    def create() -> None:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('lost')")
        abort(status)

    assert app.test_client().post("/items").status_code == status
    assert tags(config) == []
    assert in_use(config) == 0


def test_errorhandler_turning_an_exception_into_201_commits(
    make_async: MakeAsync, spec: SQLSpec
) -> None:
    config = make_async(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    class AlreadyDone(Exception):
        pass

    @app.errorhandler(AlreadyDone)
    def already_done(error: AlreadyDone) -> tuple[dict[str, bool], int]:
        return {"created": True}, 201

    @app.post("/items")
    def create() -> None:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('kept')")
        raise AlreadyDone

    assert app.test_client().post("/items").status_code == 201
    assert tags(config) == ["kept"]
    assert in_use(config) == 0


def test_errorhandler_turning_an_exception_into_409_rolls_back(
    make_async: MakeAsync, spec: SQLSpec
) -> None:
    config = make_async(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.errorhandler(KeyError)
    def conflict(error: KeyError) -> tuple[dict[str, str], int]:
        return {"error": "conflict"}, 409

    @app.post("/items")
    def create() -> None:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('lost')")
        raise KeyError("tag")

    assert app.test_client().post("/items").status_code == 409
    assert tags(config) == []
    assert in_use(config) == 0


def test_failing_statement_rolls_back_the_request(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async(commit_mode="autocommit")
    run_sql(config, "CREATE TABLE items (tag VARCHAR(100) NOT NULL UNIQUE)")
    app, plugin = new_app(spec, testing=False)
    app.logger.disabled = True

    @app.post("/items")
    def create() -> tuple[str, int]:
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES (?)", (request.args["tag"],))
        db.execute("INSERT INTO items (tag) VALUES ('dup')")
        return "", 201

    client = app.test_client()
    assert client.post("/items?tag=a").status_code == 201
    assert client.post("/items?tag=b").status_code == 500  # 'dup' again: unique violation
    assert client.post("/items?tag=c").status_code == 500
    assert tags(config) == ["a", "dup"]
    assert in_use(config) == 0


def test_streamed_response_releases_after_streaming(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.get("/stream")
    def stream() -> Response:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('before')")

        def rows() -> Iterator[str]:
            db = plugin.get_session()
            db.execute("INSERT INTO items (tag) VALUES ('during')")  # after the 200's commit
            for row in db.select("SELECT tag FROM items ORDER BY tag"):
                yield row["tag"] + ","
            yield f"in_use={in_use(config)}"

        return Response(stream_with_context(rows()))

    response = app.test_client().get("/stream")
    body = response.get_data(as_text=True)
    response.close()

    assert body == "before,during,in_use=1"
    assert in_use(config) == 0
    assert tags(config) == ["before"]


def test_stream_failing_midway_releases(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.get("/stream")
    def stream() -> Response:
        def rows() -> Iterator[str]:
            plugin.get_session().execute("INSERT INTO items (tag) VALUES ('during')")
            yield "first,"
            raise RuntimeError("stream broke")

        return Response(stream_with_context(rows()))

    response = app.test_client().get("/stream")
    with pytest.raises(RuntimeError, match="stream broke"):
        response.get_data()
    response.close()

    assert in_use(config) == 0
    assert tags(config) == []


def test_view_session_is_not_usable_after_the_view_returned(
    make_async: MakeAsync, spec: SQLSpec
) -> None:
    # Mirrors test_lifecycle's test: Flask tears the app context down when the view returns
    # and pushes it again while streaming; the view's session was released.
    config = make_async(commit_mode="autocommit")
    app, plugin = new_app(spec)

    @app.get("/stream")
    def stream() -> Response:
        db = plugin.get_session()

        def rows() -> Iterator[str]:
            yield str(db.select_value("SELECT 1"))

        return Response(stream_with_context(rows()))

    with pytest.raises(SQLSpecError, match="session is closed") as raised:
        app.test_client().get("/stream").get_data()
    assert in_use(config) == 0
    assert "plugin.get_session()" in str(raised.value)
    assert "async with" not in str(raised.value)


def test_get_session_in_cli_command(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async()
    app, plugin = new_app(spec)

    @click.command("answer")
    @with_appcontext
    def answer() -> None:
        click.echo(plugin.get_session().select_value("SELECT 6 * 7"))
        click.echo(in_use(config))

    app.cli.add_command(answer)

    result = app.test_cli_runner().invoke(args=["answer"])

    assert (result.exit_code, result.output) == (0, "42\n1\n"), result.output
    assert in_use(config) == 0


def test_sync_and_async_databases_in_one_request(
    backend: Backend, spec: SQLSpec, tmp_path: Path
) -> None:
    main = spec.add_config(
        SqliteConfig(
            pool_config={"database": str(tmp_path / "main.db")},
            extension_config={"flask": {"session_key": "main", "commit_mode": "autocommit"}},
        )
    )
    other = spec.add_config(backend.make(session_key="other", commit_mode="autocommit"))
    with main.provide_session() as session:
        session.execute(ITEMS_DDL)
        session.commit()
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

    with main.provide_session() as session:
        assert [row["tag"] for row in session.select("SELECT tag FROM items")] == ["201"]
    assert tags(other) == ["201"]
    assert (in_use(main), in_use(other)) == (0, 0)
    assert not isinstance(main.provide_sync_session(), PortalSession)


def test_isolated_rejects_async_configs(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async()
    app, plugin = new_app(spec)

    with (
        app.app_context(),
        pytest.raises(ImproperConfigurationError, match=r"supports sync configs.*is async"),
        plugin.isolated(),
    ):
        pass
    assert config._pool is None


# --------------------------------------------------------------------------- 1000 requests

MIXED_STATUS = {"created": 201, "bad": 400, "crash": 500, "aborted": 404, "stream": 200}
MIXED_REQUESTS = {"asyncpg": 1000, "psycopg_async": 1000, "aiosqlite": 1000, "asyncmy": 1000}


def mixed_app(spec: SQLSpec) -> Flask:
    app, plugin = new_app(spec, testing=False)
    app.logger.disabled = True  # the expected 500s would each log a traceback

    def insert(tag: str) -> None:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES (?)", (tag,))

    @app.post("/created/<tag>")
    def created(tag: str) -> tuple[str, int]:
        insert(tag)
        return "", 201

    @app.post("/bad/<tag>")
    def bad(tag: str) -> tuple[str, int]:
        insert(tag)
        return "", 400

    @app.post("/crash/<tag>")
    def crash(tag: str) -> None:
        insert(tag)
        raise RuntimeError("boom")

    @app.post("/aborted/<tag>")
    def aborted(tag: str) -> None:
        insert(tag)
        abort(404)

    @app.get("/stream/<tag>")
    def stream(tag: str) -> Response:
        def chunks() -> Iterator[str]:
            insert(tag)  # written while streaming, after the commit decision: rolled back
            yield "a"
            yield "b"

        return Response(stream_with_context(chunks()))

    return app


def test_mixed_requests_leave_only_201_rows(
    make_async: MakeAsync, spec: SQLSpec, backend: Backend
) -> None:
    config = make_async(commit_mode="autocommit", pool={"max_size": 4})
    run_sql(config, ITEMS_DDL)
    app = mixed_app(spec)
    total = MIXED_REQUESTS[backend.name]
    rng = random.Random(total)
    plan = [(rng.choice(list(MIXED_STATUS)), f"r{i}") for i in range(total)]

    def send(item: tuple[str, str]) -> tuple[str, str, int]:
        kind, tag = item
        client = app.test_client()
        if kind == "stream":
            response = client.get(f"/stream/{tag}")
            assert response.get_data() == b"ab"
            response.close()
        else:
            response = client.post(f"/{kind}/{tag}")
        return kind, tag, response.status_code

    with ThreadPoolExecutor(4) as executor:
        results = list(executor.map(send, plan, timeout=60))

    assert [status for _, _, status in results] == [MIXED_STATUS[kind] for kind, _ in plan]
    assert min(Counter(kind for kind, _ in plan).values()) > total // 10
    stats = config.pool_stats()
    assert (stats.in_use, stats.waiting) == (0, 0), stats
    assert stats.size <= 4
    expected = sorted(tag for _, tag, status in results if status == 201)
    assert count(config, "items") == len(expected)
    assert tags(config) == expected


# =========================================================================== threads, one portal

LOAD_THREADS = 16
LOAD_INSERTS = 50


def test_threads_share_one_portal(pg_backend: Backend, spec: SQLSpec) -> None:
    config = spec.add_config(
        pg_backend.make(commit_mode="autocommit", pool={"min_size": 1, "max_size": 8})
    )
    run_sql(config, f"CREATE TABLE items (id {pg_backend.serial}, tag VARCHAR(100) NOT NULL)")
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

#: A statement that takes well over the 1 s limit (or forever) on the server.
SLOW_SQL = {
    "asyncpg": "SELECT pg_sleep(5)",
    "psycopg_async": "SELECT pg_sleep(5)",
    # asyncmy cancels nothing on the server: a discarded connection's SLEEP runs to its end,
    # holding the transaction's locks (the next test's DROP TABLE would wait for them).
    "asyncmy": "SELECT SLEEP(3)",
    "aiosqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
}


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
    slow_sql = SLOW_SQL[backend.name]

    @app.errorhandler(PortalTimeoutError)
    def timed_out(error: PortalTimeoutError) -> None:
        errors.append(error)
        raise error  # keep Flask's own handling (500, or re-raised in testing mode)

    @app.post("/slow")
    def slow() -> tuple[str, int]:
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES ('slow')")
        db.execute(slow_sql)
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
    assert slow_sql in message
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


def test_slow_request_does_not_hold_up_the_others(pg_backend: Backend, spec: SQLSpec) -> None:
    # One portal loop serves every thread: a request waiting on the server must not block it.
    config = spec.add_config(pg_backend.make(pool={"min_size": 2, "max_size": 4}))
    app, plugin = new_app(spec)
    assert pg_backend.postgres is not None

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
        while not active_sleeps(pg_backend.postgres) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert active_sleeps(pg_backend.postgres) == 1
        started = time.monotonic()
        client = app.test_client()
        answers = [client.get("/fast").data for _ in range(20)]
        fast_elapsed = time.monotonic() - started
        assert not pending.done()
        assert pending.result(timeout=10) == b"slow"

    assert answers == [b"1"] * 20
    assert fast_elapsed < 0.75, f"20 fast requests took {fast_elapsed:.2f} s beside a slow one"
    assert in_use(config) == 0


# =========================================================================== laziness


def test_route_without_database_borrows_nothing(make_async: MakeAsync, spec: SQLSpec) -> None:
    config = make_async(commit_mode="autocommit")
    app, plugin = new_app(spec)

    @app.route("/ping")
    def ping() -> str:
        return "pong"

    client = app.test_client()
    for _ in range(20):
        assert client.get("/ping").data == b"pong"

    assert config._pool is None  # the pool was never even created
    assert config.pool_stats().size == 0
    assert plugin.pool_stats()["default"]["in_use"] == 0
    assert [thread.name for thread in portal_threads()] == [PORTAL_THREAD]


def test_session_is_borrowed_on_first_use_and_released_at_teardown(
    make_async: MakeAsync, spec: SQLSpec
) -> None:
    config = make_async()
    app, plugin = new_app(spec)

    @app.route("/value")
    def value() -> dict[str, Any]:
        before = in_use(config)
        answer = plugin.get_session().select_value("SELECT 41 + 1")
        same = plugin.get_session() is plugin.get_session("default")
        return {"before": before, "during": in_use(config), "answer": answer, "same": same}

    expected = {"before": 0, "during": 1, "answer": 42, "same": True}
    assert app.test_client().get("/value").json == expected
    assert in_use(config) == 0

    with app.app_context():
        assert plugin.get_session().select_value("SELECT 1") == 1
        assert in_use(config) == 1
    assert in_use(config) == 0


def test_portal_thread_starts_at_init_app(make_async: MakeAsync, spec: SQLSpec) -> None:
    make_async()
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


# =========================================================================== logging


def test_statements_are_logged_with_the_endpoint(
    make_async: MakeAsync, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    make_async()
    app, plugin = new_app(spec)

    @app.route("/answer")
    def answer_endpoint() -> str:
        return str(plugin.get_session().select_value("SELECT 6 * ?", 7))

    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")
    assert app.test_client().get("/answer").data == b"42"

    [record] = [r for r in caplog.records if r.name == "sqlspec.statements"]
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert "[answer_endpoint]" in message
    assert "SELECT 6 * ?" in message
    assert "7" not in message.split("SELECT 6 * ?")[1]  # values are never logged
    assert record.sqlspec_context == "answer_endpoint"  # type: ignore[attr-defined]
