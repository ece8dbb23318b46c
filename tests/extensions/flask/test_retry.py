"""``plugin.retry_on_conflict()``: a view whose transaction conflicts is rolled back and run again,
through the test client, on SQLite (WAL: a stale snapshot) and PostgreSQL (SERIALIZABLE).

Conflicts are real: during the view's first attempt another session commits a change to the row
the view read, so the view's own write (or, on PostgreSQL, its COMMIT) is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.exceptions import (
    ImproperConfigurationError,
    SerializationError,
    UniqueViolationError,
)
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.helpers import Backend, new_app, run_sql, tags

COUNTER_DDL = "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"


def conflicting_config(backend: Backend, spec: SQLSpec, name: str = "main", **flask: Any) -> Any:
    """A registered config whose transactions refuse a write based on a stale read, with the
    ``counter`` (row 1 = 0) and ``items`` tables."""
    config: Any
    if backend.info.family == "sqlite":
        config = backend.config_class(
            pool_config=backend.pool_config(name, timeout=0.5),
            driver_features={"pragmas": {"journal_mode": "wal"}},
            extension_config={"flask": flask},
        )
    else:  # PostgreSQL through psycopg (the module's other sync backend)
        pool = backend.pool_config(name)
        pool["options"] += " -c default_transaction_isolation=serializable"
        config = backend.config_class(pool_config=pool, extension_config={"flask": flask})
    spec.add_config(config)
    return config


@pytest.fixture
def counter_app(backend: Backend, spec: SQLSpec) -> tuple[Any, Flask, SQLSpecPlugin]:
    config = conflicting_config(backend, spec, commit_mode="autocommit")
    run_sql(
        config,
        COUNTER_DDL,
        "INSERT INTO counter (id, n) VALUES (1, 0)",
        "CREATE TABLE items (tag VARCHAR(100) NOT NULL)",
    )
    app, plugin = new_app(spec)
    return config, app, plugin


def bump_elsewhere(config: Any) -> None:
    """Another session adds 1 to the counter and commits."""
    with config.provide_session() as other:
        other.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        other.commit()


def counter(config: Any) -> int:
    with config.provide_session() as db:
        return int(db.select_value("SELECT n FROM counter WHERE id = 1"))


def add_view(
    app: Flask, plugin: SQLSpecPlugin, interfere: Callable[[int], bool], attempts: int = 3
) -> list[int]:
    """``POST /add``: read the counter, insert ``attempt-<n>`` into items and add 10 to what was
    read; during the attempts for which ``interfere(n)`` is true, another session commits
    between the read and the writes."""
    calls: list[int] = []
    config = plugin.state().config

    @app.post("/add")
    @plugin.retry_on_conflict(attempts=attempts, base_delay=0.001)
    def add() -> tuple[dict[str, int], int]:
        calls.append(len(calls) + 1)
        db = plugin.get_session()
        seen = int(db.select_value("SELECT n FROM counter WHERE id = 1"))
        if interfere(calls[-1]):
            bump_elsewhere(config)
        # SQLite refuses this first write already; PostgreSQL accepts it and refuses the next.
        db.execute("INSERT INTO items (tag) VALUES (?)", f"attempt-{calls[-1]}")
        db.execute("UPDATE counter SET n = ? WHERE id = 1", seen + 10)
        return {"seen": seen}, 201

    return calls


def test_conflicting_view_is_rolled_back_and_retried_to_success(
    counter_app: tuple[Any, Flask, SQLSpecPlugin],
) -> None:
    config, app, plugin = counter_app
    calls = add_view(app, plugin, interfere=lambda attempt: attempt == 1)

    response = app.test_client().post("/add")

    assert (response.status_code, response.json) == (201, {"seen": 1})
    assert calls == [1, 2]
    assert counter(config) == 11  # the other commit and ours, both kept
    assert tags(config) == ["attempt-2"]  # the first attempt's insert was rolled back
    assert config.pool_stats().in_use == 0


def test_exhausted_attempts_raise_the_last_conflict(
    counter_app: tuple[Any, Flask, SQLSpecPlugin],
) -> None:
    config, app, plugin = counter_app
    calls = add_view(app, plugin, interfere=lambda attempt: True, attempts=2)

    with pytest.raises(SerializationError):
        app.test_client().post("/add")  # testing mode: the view's error propagates

    assert calls == [1, 2]
    assert counter(config) == 2  # only the other session's commits
    assert tags(config) == []


def test_exhausted_attempts_answer_500_outside_testing_mode(
    counter_app: tuple[Any, Flask, SQLSpecPlugin],
) -> None:
    config, app, plugin = counter_app
    app.testing = False
    add_view(app, plugin, interfere=lambda attempt: True, attempts=2)

    assert app.test_client().post("/add").status_code == 500
    assert tags(config) == []


def test_other_errors_are_not_retried(counter_app: tuple[Any, Flask, SQLSpecPlugin]) -> None:
    config, app, plugin = counter_app
    calls: list[int] = []

    @app.post("/duplicate")
    @plugin.retry_on_conflict(attempts=3, base_delay=0.001)
    def duplicate() -> str:
        calls.append(1)
        db = plugin.get_session()
        db.execute("INSERT INTO items (tag) VALUES ('kept-out')")
        db.execute("INSERT INTO counter (id, n) VALUES (1, 1)")
        return "unreachable"

    with pytest.raises(UniqueViolationError):
        app.test_client().post("/duplicate")
    assert calls == [1]
    assert tags(config) == []


def test_view_without_conflict_runs_once(counter_app: tuple[Any, Flask, SQLSpecPlugin]) -> None:
    config, app, plugin = counter_app
    calls = add_view(app, plugin, interfere=lambda attempt: False)

    assert app.test_client().post("/add").status_code == 201
    assert calls == [1]
    assert counter(config) == 10


def test_a_status_that_rolls_back_is_not_committed_by_the_retry(
    counter_app: tuple[Any, Flask, SQLSpecPlugin],
) -> None:
    config, app, plugin = counter_app

    @app.post("/refuse")
    @plugin.retry_on_conflict()
    def refuse() -> tuple[str, int]:
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('refused')")
        return "no", 409

    assert app.test_client().post("/refuse").status_code == 409
    assert tags(config) == []


@pytest.mark.parametrize("backend", ["psycopg"], indirect=True)
def test_conflict_reported_at_commit_is_retried(
    backend: Backend, counter_app: tuple[Any, Flask, SQLSpecPlugin]
) -> None:
    """Write skew under SERIALIZABLE: each transaction's write is accepted, and PostgreSQL
    refuses the view's COMMIT, which the decorator issues inside the retry."""
    config, app, plugin = counter_app
    run_sql(config, "INSERT INTO counter (id, n) VALUES (2, 0)")
    returned: list[int] = []

    @app.post("/skew")
    @plugin.retry_on_conflict(attempts=3, base_delay=0.001)
    def skew() -> tuple[str, int]:
        db = plugin.get_session()
        total = db.select_value("SELECT SUM(n) FROM counter")
        if not returned:
            with config.provide_session() as other:
                other.select_value("SELECT SUM(n) FROM counter")
                db.execute("UPDATE counter SET n = ? WHERE id = 1", total + 1)
                other.execute("UPDATE counter SET n = n + 1 WHERE id = 2")
                other.commit()
        else:
            db.execute("UPDATE counter SET n = ? WHERE id = 1", total + 1)
        returned.append(total)
        return "", 204

    assert app.test_client().post("/skew").status_code == 204
    assert returned == [0, 1]  # the first attempt's body completed: its COMMIT conflicted
    with config.provide_session() as db:
        assert db.select("SELECT id, n FROM counter ORDER BY id") == [
            {"id": 1, "n": 2},
            {"id": 2, "n": 1},
        ]


@pytest.mark.parametrize("backend", ["psycopg"], indirect=True)
def test_no_retry_once_another_database_committed(backend: Backend, spec: SQLSpec) -> None:
    first = conflicting_config(
        backend, spec, "first", session_key="first", commit_mode="autocommit"
    )
    second = conflicting_config(
        backend,
        spec,
        "second",
        session_key="second",
        connection_key="second_conn",
        commit_mode="autocommit",
    )
    run_sql(first, "CREATE TABLE items (tag VARCHAR(100) NOT NULL)", COUNTER_DDL)
    run_sql(first, "INSERT INTO counter (id, n) VALUES (1, 0), (2, 0)")
    app, plugin = new_app(spec)
    calls: list[int] = []

    @app.post("/both")
    @plugin.retry_on_conflict(attempts=3, base_delay=0.001)
    def both() -> tuple[str, int]:
        calls.append(1)
        plugin.get_session("first").execute("INSERT INTO items (tag) VALUES ('first')")
        db = plugin.get_session("second")
        total = db.select_value("SELECT SUM(n) FROM counter")
        with second.provide_session() as other:
            other.select_value("SELECT SUM(n) FROM counter")
            db.execute("UPDATE counter SET n = ? WHERE id = 1", total + 1)
            other.execute("UPDATE counter SET n = n + 1 WHERE id = 2")
            other.commit()
        return "", 201

    with pytest.raises(SerializationError):
        app.test_client().post("/both")
    assert calls == [1]  # rerunning would insert 'first' a second time
    assert tags(first) == ["first"]


def test_async_view_is_retried(counter_app: tuple[Any, Flask, SQLSpecPlugin]) -> None:
    config, app, plugin = counter_app
    calls: list[int] = []

    @plugin.retry_on_conflict(attempts=3, base_delay=0.001)
    async def view() -> tuple[str, int]:
        calls.append(1)
        plugin.get_session().execute("INSERT INTO items (tag) VALUES (?)", f"async-{len(calls)}")
        await asyncio.sleep(0)
        if len(calls) == 1:
            raise SerializationError("conflict raised by the test")
        return "", 201

    with app.test_request_context("/", method="POST"):
        response = asyncio.run(view())
        assert response.status_code == 201
    assert calls == [1, 1]
    assert tags(config) == ["async-2"]  # committed by the retry; the first attempt rolled back


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, r"plugin.retry_on_conflict: attempts must be an integer of at least 1"),
        ({"attempts": None}, "attempts must be an integer"),
        ({"base_delay": -1}, "base_delay must be a finite number of seconds >= 0"),
        ({"base_delay": 1, "max_delay": 0.5}, "max_delay .* must be at least base_delay"),
    ],
)
def test_bad_arguments_are_refused_at_decoration(
    counter_app: tuple[Any, Flask, SQLSpecPlugin], kwargs: dict[str, Any], message: str
) -> None:
    _, _, plugin = counter_app
    with pytest.raises(ImproperConfigurationError, match=message):
        plugin.retry_on_conflict(**kwargs)
