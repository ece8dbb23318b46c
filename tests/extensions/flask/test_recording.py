"""Recorded queries, query counts and plugin.shutdown(), on SQLite, PostgreSQL (psycopg, and
asyncpg through the portal) and DuckDB."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError, UniqueViolationError
from sqlspec.extensions.flask import QueryCount, RecordedQuery, SQLSpecPlugin
from sqlspec.observe import HUB
from tests.extensions.flask.helpers import Backend, new_app, portal_threads, run_sql
from tests.extensions.observed import ObservedDB, observed_db

__all__ = ("observed_db",)

THIS_FILE = "test_recording.py"


def _registered(plugin: SQLSpecPlugin) -> bool:
    """Whether the plugin's observer is in the statement path (registered weakly)."""
    return any(
        getattr(observer, "ref", None) is not None and observer.ref() is plugin._recorder
        for observer in HUB.observers
    )


def test_recorded_queries_in_a_request(observed_db: ObservedDB) -> None:
    config = observed_db.make(session_key="main")
    run_sql(config, "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50))")
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]
    seen: list[RecordedQuery] = []

    @app.post("/users")
    def create_user() -> str:
        db = plugin.get_session()
        db.execute("INSERT INTO users (id, name) VALUES (?, ?)", (1, "ada"))
        db.execute_many("INSERT INTO users (id, name) VALUES (?, ?)", [(2, "bob"), (3, "cy")])
        db.select("SELECT id, name FROM users WHERE id > ?", 0)
        seen.extend(plugin.get_recorded_queries())
        return "ok"

    assert app.test_client().post("/users").status_code == 200

    assert [q.statement for q in seen] == [
        "INSERT INTO users (id, name) VALUES (?, ?)",
        "INSERT INTO users (id, name) VALUES (?, ?)",
        "SELECT id, name FROM users WHERE id > ?",
    ]
    for query in seen:
        assert query.parameters is None  # never recorded by default
        assert query.session_key == "main"
        assert query.database == config.describe()
        assert query.start <= query.end
        assert query.duration == pytest.approx(query.end - query.start)
        assert query.duration > 0
        assert query.location is not None
        assert THIS_FILE in query.location
        assert query.location.endswith("(create_user)")
        assert query.error is None
    many = 2 if observed_db.backend.info.many_rowcount else -1  # asyncpg's executemany: none
    assert [q.rows_affected for q in seen] == [1, many, 3]
    assert seen[0].end <= seen[1].start


def test_parameters_are_recorded_only_when_asked(observed_db: ObservedDB) -> None:
    observed_db.make(record_parameters=True)
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]
    with app.app_context():
        plugin.get_session().select_value("SELECT CAST(? AS INTEGER) + ?", 2, 3)
        [query] = plugin.get_recorded_queries()
    assert list(query.parameters) == [2, 3]


def test_recording_across_two_databases_in_one_request(
    observed_db: ObservedDB, tmp_path: Any
) -> None:
    observed_db.make("main", session_key="main")
    other = ObservedDB.local("sqlite", tmp_path, observed_db.spec)
    other.make("other", session_key="other")
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]

    @app.get("/")
    def both() -> dict[str, Any]:
        plugin.get_session("main").select_value("SELECT 1")
        plugin.get_session("other").select_value("SELECT 2")
        plugin.get_session("main").select_value("SELECT 3")
        return {"queries": [[q.session_key, q.statement] for q in plugin.get_recorded_queries()]}

    assert app.test_client().get("/").json == {
        "queries": [["main", "SELECT 1"], ["other", "SELECT 2"], ["main", "SELECT 3"]]
    }
    # Each request starts afresh.
    assert len(app.test_client().get("/").json["queries"]) == 3


def test_a_failed_statement_is_recorded_with_its_error(observed_db: ObservedDB) -> None:
    config = observed_db.make()
    run_sql(config, "CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO t (id) VALUES (1)")
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]
    with app.app_context():
        with pytest.raises(UniqueViolationError):
            plugin.get_session().execute("INSERT INTO t (id) VALUES (?)", 1)
        [query] = plugin.get_recorded_queries()
    assert isinstance(query.error, UniqueViolationError)
    assert query.rows_affected == -1


@pytest.mark.parametrize(
    ("debug", "testing", "setting", "recorded"),
    [
        (False, True, None, True),
        (True, False, None, True),
        (False, False, None, False),
        (False, True, False, False),
        (False, False, True, True),
    ],
)
def test_record_queries_default_follows_debug_and_testing(
    spec: SQLSpec,
    tmp_path: Any,
    debug: bool,
    testing: bool,
    setting: bool | None,
    recorded: bool,
) -> None:
    flask = {} if setting is None else {"record_queries": setting}
    ObservedDB.local("duckdb", tmp_path, spec).make(**flask)
    app = Flask(__name__)
    app.debug, app.testing = debug, testing
    plugin = SQLSpecPlugin(spec, app)
    with app.app_context():
        plugin.get_session().select_value("SELECT 1")
        assert len(plugin.get_recorded_queries()) == (1 if recorded else 0)
    # Off everywhere: the plugin's observer is not even registered (statements pay nothing).
    assert _registered(plugin) is recorded


def test_get_recorded_queries_needs_an_app_context(spec: SQLSpec, tmp_path: Any) -> None:
    ObservedDB.local("duckdb", tmp_path, spec).make()
    _, plugin = new_app(spec)
    with pytest.raises(SQLSpecError, match="application context"):
        plugin.get_recorded_queries()


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bad_observation_settings_are_refused(spec: SQLSpec, tmp_path: Any, value: Any) -> None:
    ObservedDB.local("duckdb", tmp_path, spec).make(record_queries=value)
    with pytest.raises(ImproperConfigurationError, match="record_queries must be True or False"):
        new_app(spec)


def test_count_queries_from_eight_threads(observed_db: ObservedDB) -> None:
    config = observed_db.make()
    elsewhere = ObservedDB(observed_db.backend).make(
        "elsewhere"
    )  # not registered with the plugin: not counted
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait(10)
            with app.app_context():
                db = plugin.get_session()
                for i in range(3):
                    db.select_value("SELECT CAST(? AS INTEGER)", n * 10 + i)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    with plugin.count_queries() as counted:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with elsewhere.provide_sync_session() as session:
            session.select_value("SELECT 1")
    with app.app_context():
        plugin.get_session().select_value("SELECT 1")  # after the block: not counted

    assert errors == []
    assert isinstance(counted, QueryCount)
    assert counted.count == 24
    assert counted.statements == ["SELECT CAST(? AS INTEGER)"] * 24
    assert "24 statement(s)" in repr(counted)
    assert config.pool_stats().in_use == 0
    elsewhere.close_pool()


def test_count_queries_blocks_nest(spec: SQLSpec, tmp_path: Any) -> None:
    spec.add_config(Backend.local("sqlite", tmp_path).make(record_queries=False))
    app, plugin = new_app(spec)
    assert not _registered(plugin)
    with app.app_context():
        db = plugin.get_session()
        with plugin.count_queries() as outer:
            db.select_value("SELECT 1")
            with plugin.count_queries() as inner:
                db.select_value("SELECT 2")
            db.select_value("SELECT 3")
    assert (outer.statements, inner.statements) == (
        ["SELECT 1", "SELECT 2", "SELECT 3"],
        ["SELECT 2"],
    )
    assert not _registered(plugin)  # unregistered once the last block closed


def test_shutdown_closes_the_pools_and_stops_the_portal(observed_db: ObservedDB) -> None:
    config = observed_db.make()
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]

    @app.get("/")
    def one() -> str:
        return str(plugin.get_session().select_value("SELECT 1"))

    assert app.test_client().get("/").data == b"1"
    assert config.pool_stats().size >= 1
    if observed_db.backend.is_async:
        assert portal_threads()

    plugin.shutdown()

    assert config.pool_stats().size == 0
    assert config._pool is None
    if observed_db.backend.is_async:
        assert portal_threads() == []
    assert not _registered(plugin)
    # A later request opens a new pool (and restarts the portal).
    assert app.test_client().get("/").data == b"1"
    plugin.shutdown()
