"""Request lifecycle: sessions are borrowed lazily, released at teardown on every path, and in
the automatic modes committed or rolled back by the final response status.

Every test runs on every backend the extension supports, sync and async (``ALL_BACKENDS``: all of
``tests.backends`` but DuckDB, which the extension refuses, see
``tests/extensions/flask/test_isolation.py``): on an async one the plugin hands a sync view the
portal facade of an async session, and the same behaviour must hold.
What a request left behind is always read through a fresh session (committed data only).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

import click
import pytest
from flask import Flask, Response, abort, request, stream_with_context
from flask.cli import with_appcontext

from sqlspec import SQLSpec, SQLSpecError
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import (
    ALL_BACKENDS,
    ITEMS_DDL,
    PORTAL_THREAD,
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

backend = backend_fixture(ALL_BACKENDS)


class ItemsApp(NamedTuple):
    config: Any
    app: Flask
    plugin: SQLSpecPlugin


class MakeItemsApp(Protocol):
    def __call__(self, *, ddl: str = ..., testing: bool = ..., **flask: Any) -> ItemsApp: ...


@pytest.fixture
def items_app(make_config: MakeConfig, spec: SQLSpec) -> MakeItemsApp:
    """``items_app(**flask)``: a registered config with these Flask settings, its ``items``
    table created (``ddl``), and a new app (``testing``) with the plugin on it."""

    def make(*, ddl: str = ITEMS_DDL, testing: bool = True, **flask: Any) -> ItemsApp:
        config = make_config(**flask)
        run_sql(config, ddl)
        app, plugin = new_app(spec, testing=testing)
        return ItemsApp(config, app, plugin)

    return make


# --------------------------------------------------------------------------- laziness


def test_route_without_database_borrows_nothing(
    make_config: MakeConfig, spec: SQLSpec, backend: Backend
) -> None:
    config = make_config(commit_mode="autocommit")
    app, plugin = new_app(spec)

    @app.route("/ping")
    def ping() -> str:
        return "pong"

    client = app.test_client()
    for _ in range(20):
        assert client.get("/ping").data == b"pong"

    assert config._pool is None  # the pool was never even created
    assert config.pool_stats().size == 0
    stats = plugin.pool_stats()["default"]
    assert (stats["size"], stats["in_use"]) == (0, 0)
    if backend.is_async:  # the portal started at init_app, and nothing else did
        assert [thread.name for thread in portal_threads()] == [PORTAL_THREAD]


def test_session_is_borrowed_on_first_use_and_released_at_teardown(
    make_config: MakeConfig, spec: SQLSpec
) -> None:
    config = make_config()
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

    with app.app_context():  # after a request, an app context borrows its own
        assert plugin.get_session().select_value("SELECT 1") == 1
        assert in_use(config) == 1
    assert in_use(config) == 0


def test_get_session_in_app_context_block(make_config: MakeConfig, spec: SQLSpec) -> None:
    config = make_config()
    app, plugin = new_app(spec)

    with app.app_context():
        assert plugin.get_session().select_value("SELECT 1") == 1
        assert in_use(config) == 1
    assert in_use(config) == 0


def test_get_session_in_cli_command(make_config: MakeConfig, spec: SQLSpec) -> None:
    config = make_config()
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


def test_get_session_outside_app_context_raises(make_config: MakeConfig, spec: SQLSpec) -> None:
    make_config()
    _, plugin = new_app(spec)

    with pytest.raises(SQLSpecError, match="needs an application context"):
        plugin.get_session()


def test_one_session_and_connection_per_request(
    make_config: MakeConfig, spec: SQLSpec, backend: Backend
) -> None:
    # min_size 0: the pool opens no connection of its own (psycopg_pool would open its first
    # one in the background and may grow past it while the request waits), so its size counts
    # the request's connections.
    config = make_config(pool={"min_size": 0})
    app, plugin = new_app(spec)

    @app.route("/same")
    def same() -> dict[str, bool]:
        session = plugin.get_session()
        connection = plugin.get_connection()
        return {
            "session": session is plugin.get_session() is plugin.get_session("default"),
            "connection": connection is plugin.get_connection() is session.connection,
        }

    assert app.test_client().get("/same").json == {"session": True, "connection": True}
    assert config.pool_stats().size == 1


def test_each_request_gets_a_fresh_session(make_config: MakeConfig, spec: SQLSpec) -> None:
    make_config()
    app, plugin = new_app(spec)
    seen: list[Any] = []

    @app.route("/session")
    def session() -> str:
        seen.append(plugin.get_session())
        return ""

    client = app.test_client()
    client.get("/session")
    client.get("/session")

    assert seen[0] is not seen[1]
    assert [session.closed for session in seen] == [True, True]


# --------------------------------------------------------------------------- commit policy

POLICY = [
    # (commit_mode, extra settings, status, committed)
    ("autocommit", {}, 200, True),
    ("autocommit", {}, 201, True),
    ("autocommit", {}, 204, True),
    ("autocommit", {}, 299, True),
    ("autocommit", {}, 301, False),
    ("autocommit", {}, 302, False),
    ("autocommit", {}, 400, False),
    ("autocommit", {}, 404, False),
    ("autocommit", {}, 500, False),
    ("autocommit_include_redirect", {}, 200, True),
    ("autocommit_include_redirect", {}, 302, True),
    ("autocommit_include_redirect", {}, 303, True),
    ("autocommit_include_redirect", {}, 399, True),
    ("autocommit_include_redirect", {}, 400, False),
    ("autocommit_include_redirect", {}, 500, False),
    ("autocommit", {"extra_commit_statuses": {409}}, 409, True),
    ("autocommit", {"extra_commit_statuses": {302}}, 302, True),
    ("autocommit", {"extra_commit_statuses": {409, 302}}, 409, True),
    ("autocommit", {"extra_commit_statuses": {409, 302}}, 302, True),
    ("autocommit", {"extra_commit_statuses": {409, 302}}, 400, False),
    ("autocommit", {"extra_rollback_statuses": {201}}, 201, False),
    ("autocommit", {"extra_rollback_statuses": {201}}, 200, True),
    ("autocommit_include_redirect", {"extra_rollback_statuses": {302}}, 302, False),
    ("autocommit_include_redirect", {"extra_rollback_statuses": {302}}, 301, True),
    ("autocommit_include_redirect", {"extra_commit_statuses": {418}}, 418, True),
    ("autocommit_include_redirect", {"extra_commit_statuses": {418}}, 404, False),
    ("manual", {}, 200, False),
    ("manual", {}, 201, False),
    ("manual", {}, 302, False),
    ("manual", {}, 400, False),
]


def policy_id(mode: str, extra: dict[str, set[int]], status: int, committed: bool) -> str:
    """E.g. ``autocommit+extra_commit_statuses=302,409-400-rolls_back``."""
    settings = "".join(
        f"+{key}={','.join(map(str, sorted(statuses)))}" for key, statuses in extra.items()
    )
    return f"{mode}{settings}-{status}-{'commits' if committed else 'rolls_back'}"


@pytest.mark.parametrize(
    ("mode", "extra", "status", "committed"), POLICY, ids=[policy_id(*row) for row in POLICY]
)
def test_commit_policy(
    items_app: MakeItemsApp, mode: str, extra: dict[str, Any], status: int, committed: bool
) -> None:
    config, app, plugin = items_app(commit_mode=mode, **extra)
    add_write_route(app, plugin)

    assert app.test_client().post(f"/write/{status}?tag=t").status_code == status

    assert in_use(config) == 0
    assert tags(config) == (["t"] if committed else [])


def test_autocommit_2xx_commits_and_400_really_undoes(items_app: MakeItemsApp) -> None:
    # Several statements per request; asyncpg runs statements on their own unless the session
    # opened a transaction, so a 400 must undo all of them, not just the last.
    config, app, plugin = items_app(commit_mode="autocommit")

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


def test_errorhandler_turning_an_exception_into_201_commits(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="autocommit")

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


def test_errorhandler_turning_an_exception_into_409_rolls_back(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="autocommit")

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


def test_after_request_hook_registered_later_sets_the_final_status(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="autocommit")
    add_write_route(app, plugin)

    @app.after_request
    def refuse(response: Response) -> Response:
        response.status_code = 400
        return response

    assert app.test_client().post("/write/201?tag=t").status_code == 400
    assert tags(config) == []


def test_after_request_hook_registered_before_init_app_sets_the_final_status(
    make_config: MakeConfig, spec: SQLSpec
) -> None:
    config = make_config(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    app = Flask("sqlspec_flask_tests")

    @app.after_request
    def accept(response: Response) -> Response:
        response.status_code = 201
        return response

    plugin = SQLSpecPlugin(spec, app)
    add_write_route(app, plugin)

    assert app.test_client().post("/write/400?tag=t").status_code == 201
    assert tags(config) == ["t"]


@pytest.mark.parametrize("status", [404, 409])
def test_abort_rolls_back_and_releases(items_app: MakeItemsApp, status: int) -> None:
    config, app, plugin = items_app(commit_mode="autocommit")

    @app.post("/items")
    def create() -> None:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('lost')")
        abort(status)

    assert app.test_client().post("/items").status_code == status
    assert tags(config) == []
    assert in_use(config) == 0


# --------------------------------------------------------------------------- exceptions

MODES = ("manual", "autocommit", "autocommit_include_redirect")


@pytest.mark.parametrize("mode", MODES)
def test_propagating_exception_rolls_back_and_releases(items_app: MakeItemsApp, mode: str) -> None:
    # app.testing: PROPAGATE_EXCEPTIONS, Flask skips after_request; teardown still cleans up.
    config, app, plugin = items_app(commit_mode=mode)

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


def test_unhandled_exception_is_a_500_and_rolls_back(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="autocommit", testing=False)
    app.logger.disabled = True

    @app.post("/items")
    def create() -> None:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('lost')")
        raise RuntimeError("boom")

    assert app.test_client().post("/items").status_code == 500
    assert tags(config) == []
    assert in_use(config) == 0


def test_failing_statement_rolls_back_the_request(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(
        commit_mode="autocommit",
        ddl="CREATE TABLE items (tag VARCHAR(100) NOT NULL UNIQUE)",
        testing=False,
    )
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


# --------------------------------------------------------------------------- streaming


def test_streamed_response_releases_after_streaming(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="autocommit")

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
    assert tags(config) == ["before"]  # nothing written while streaming is left behind


def test_view_session_is_not_usable_after_the_view_returned(
    make_config: MakeConfig, spec: SQLSpec
) -> None:
    # Flask (3.1) tears the app context down when the view returns and pushes it again while
    # streaming: the view's session was released; the generator asks for its own.
    config = make_config(commit_mode="autocommit")
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
    assert "async with" not in str(raised.value)  # the sync advice, on async adapters too


def test_stream_failing_midway_releases(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="autocommit")

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


# --------------------------------------------------------------------------- manual mode


def test_manual_mode_without_commit_leaves_nothing(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="manual")
    add_write_route(app, plugin)

    client = app.test_client()
    for status in (200, 201, 302, 400):
        assert client.post(f"/write/{status}?tag=t{status}").status_code == status

    assert tags(config) == []
    assert in_use(config) == 0


def test_manual_mode_commit_through_connection(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app(commit_mode="manual")

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


def test_manual_mode_session_commit(items_app: MakeItemsApp) -> None:
    config, app, plugin = items_app()  # manual is the default

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


# --------------------------------------------------------------------------- leaks


def test_get_session_in_an_earlier_registered_teardown_is_released(
    make_config: MakeConfig, spec: SQLSpec
) -> None:
    config = make_config()
    app = Flask("sqlspec_flask_tests")
    plugin: SQLSpecPlugin

    @app.teardown_appcontext
    def audit(exception: BaseException | None) -> None:
        plugin.get_session().execute("SELECT 1")

    plugin = SQLSpecPlugin(spec, app)
    with app.app_context():
        plugin.get_session()

    assert in_use(config) == 0


def test_get_session_in_an_app_without_init_app_raises(
    make_config: MakeConfig, spec: SQLSpec
) -> None:
    config = make_config()
    _, plugin = new_app(spec)
    other = Flask("not_initialised")

    with other.app_context(), pytest.raises(ImproperConfigurationError, match="not initialised"):
        plugin.get_session()
    assert in_use(config) == 0
