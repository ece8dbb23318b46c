"""Thread hops onto the portal's loop per unit of work through the sync facade (aiosqlite).

A hop (the caller blocking until the loop ran its coroutine) costs more than the driver work of a
short statement, so a request pays one for its first statement (borrow, BEGIN, statement) and one
for its commit or rollback with the release of its connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin
from sqlspec.portal import get_portal


class Hops:
    """Counts the callbacks the test's thread schedules onto the portal's loop (one per
    ``Portal.call``); aiosqlite's own worker threads schedule theirs too and are not counted."""

    def __init__(self) -> None:
        self.count = 0
        self.thread = threading.get_ident()

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


@pytest.fixture
def hops() -> Iterator[Hops]:
    loop = get_portal().loop
    counter = Hops()
    original = loop.call_soon_threadsafe

    def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == counter.thread:
            counter.count += 1
        return original(callback, *args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        del loop.call_soon_threadsafe


@pytest.fixture
def spec(tmp_path: Path) -> Iterator[SQLSpec]:
    spec = SQLSpec()
    yield spec
    spec.close_all_pools()


def lite(spec: SQLSpec, tmp_path: Path, **flask: Any) -> AiosqliteConfig:
    config = AiosqliteConfig(
        pool_config={"database": str(tmp_path / "hops.sqlite")},
        extension_config={"flask": flask} if flask else {},
    )
    spec.add_config(config)
    with spec.provide_sync_session(config) as db:
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        db.commit()
    return config


def in_use(config: AiosqliteConfig) -> int:
    return int(config.pool_stats().in_use)


def test_first_statement_is_one_hop_and_commit_with_release_another(
    spec: SQLSpec, tmp_path: Path, hops: Hops
) -> None:
    config = lite(spec, tmp_path)
    hops.take()
    with spec.provide_sync_session(config).open_lazily() as db:
        assert hops.take() == 0  # opened lazily: nothing borrowed yet
        assert not db.closed
        assert not db.in_transaction
        db.execute("INSERT INTO items (name) VALUES (?)", "a")  # borrow + BEGIN + INSERT
        assert hops.take() == 1
        assert db.in_transaction
        assert db.select_value("SELECT COUNT(*) FROM items") == 1
        assert hops.take() == 1
        db.commit(release=True)  # COMMIT + release
        assert hops.take() == 1
        assert not db.closed  # still open: the next use borrows again
        assert not db.in_transaction
    assert hops.take() == 0  # nothing left to release
    with spec.provide_sync_session(config) as db:  # entering borrows, as ever
        assert hops.take() == 1
        assert db.select_value("SELECT name FROM items") == "a"
    assert hops.take() == 2  # the SELECT, then leaving (rollback + release)


def test_an_unused_session_costs_no_hop(spec: SQLSpec, tmp_path: Path, hops: Hops) -> None:
    config = lite(spec, tmp_path)
    hops.take()
    with spec.provide_sync_session(config).open_lazily() as db:
        db.commit()
        db.rollback(release=True)
        assert db.connection is db.connection
    assert db.closed
    assert hops.take() == 0


def test_a_released_session_borrows_again_and_keeps_working(
    spec: SQLSpec, tmp_path: Path, hops: Hops
) -> None:
    config = lite(spec, tmp_path)
    with spec.provide_sync_session(config) as db:
        assert in_use(config) == 1
        db.execute("INSERT INTO items (name) VALUES (?)", "kept")
        db.rollback(release=True)
        assert in_use(config) == 0
        db.execute("INSERT INTO items (name) VALUES (?)", "b")
        assert in_use(config) == 1
        db.commit(release=True)
        assert in_use(config) == 0
        raw = db.connection.raw  # a driver-level attribute borrows (one hop)
        assert raw is db.session.connection.raw
    assert in_use(config) == 0
    with spec.provide_sync_session(config) as db:
        assert db.select("SELECT name FROM items ORDER BY id") == [{"name": "b"}]


def test_a_flask_request_costs_two_hops(spec: SQLSpec, tmp_path: Path, hops: Hops) -> None:
    config = lite(spec, tmp_path, commit_mode="autocommit")
    app = Flask(__name__)
    plugin = SQLSpecPlugin(spec, app)

    @app.post("/items/<name>")
    def add(name: str) -> tuple[dict[str, Any], int]:
        db = plugin.get_session()
        new_id = db.select_value("INSERT INTO items (name) VALUES (?) RETURNING id", name)
        return {"id": new_id}, 201

    @app.post("/fail/<name>")
    def fail(name: str) -> tuple[str, int]:
        plugin.get_session().execute("INSERT INTO items (name) VALUES (?)", name)
        return "no", 400

    @app.get("/ping")
    def ping() -> str:
        plugin.get_session()
        return "pong"

    client = app.test_client()
    hops.take()
    for name in ("x", "y"):
        assert client.post(f"/items/{name}").status_code == 201
        assert hops.take() == 2  # borrow + BEGIN + INSERT; COMMIT + release
    assert client.post("/fail/z").status_code == 400
    assert hops.take() == 2  # borrow + BEGIN + INSERT; ROLLBACK + release
    assert client.get("/ping").data == b"pong"
    assert hops.take() == 0
    assert in_use(config) == 0
    with spec.provide_sync_session(config) as db:
        assert db.select_value("SELECT group_concat(name) FROM items") == "x,y"
