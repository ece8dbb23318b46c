"""1000 requests mixing every outcome, from four threads, in autocommit mode, on every adapter:
afterwards no connection is in use and the table holds exactly the rows of the requests answered
201."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask, Response, abort, stream_with_context

from sqlspec import SQLSpec
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import (
    ALL_BACKENDS,
    ITEMS_DDL,
    Backend,
    backend_fixture,
    count,
    in_use,
    new_app,
    run_sql,
    tags,
)

backend = backend_fixture(ALL_BACKENDS)

REQUESTS = 1000
THREADS = 4
EXPECTED_STATUS = {
    "created": 201,
    "bad": 400,
    "crash": 500,
    "conflict": 409,
    "aborted": 404,
    "stream": 200,
}


def mixed_app(spec: SQLSpec) -> Flask:
    app, plugin = new_app(spec, testing=False)
    app.logger.disabled = True  # the ~170 expected 500s would each log a traceback

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

    @app.post("/conflict/<tag>")
    def conflict(tag: str) -> None:
        insert(tag)
        abort(409)

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


def wait_until_released(config: Any, timeout: float = 2.0) -> int:
    """``in_use`` once it reaches 0 (psycopg_pool may still be opening a connection it grew)."""
    deadline = time.monotonic() + timeout
    while in_use(config) and time.monotonic() < deadline:
        time.sleep(0.01)
    return in_use(config)


@pytest.mark.slow
def test_mixed_requests_leave_only_201_rows(
    make_config: MakeConfig, spec: SQLSpec, backend: Backend
) -> None:
    config = make_config(commit_mode="autocommit", pool={"max_size": THREADS})
    run_sql(config, ITEMS_DDL)
    app = mixed_app(spec)
    rng = random.Random(REQUESTS)
    plan = [(rng.choice(list(EXPECTED_STATUS)), f"r{i}") for i in range(REQUESTS)]

    def send(request: tuple[str, str]) -> tuple[str, str, int]:
        kind, tag = request
        client = app.test_client()
        if kind == "stream":
            response = client.get(f"/stream/{tag}")
            assert response.get_data() == b"ab"
            response.close()
        else:
            response = client.post(f"/{kind}/{tag}")
        return kind, tag, response.status_code

    with ThreadPoolExecutor(THREADS) as executor:
        results = list(executor.map(send, plan, timeout=60))

    assert [status for _, _, status in results] == [EXPECTED_STATUS[k] for k, _ in plan]
    assert min(Counter(kind for kind, _ in plan).values()) > 150  # every outcome well exercised
    if backend.info.on_demand_pool:  # psycopg_pool: see wait_until_released
        assert wait_until_released(config) == 0
    stats = config.pool_stats()
    assert (stats.in_use, stats.waiting) == (0, 0), stats
    assert stats.size <= THREADS
    expected = sorted(tag for _, tag, status in results if status == 201)
    assert count(config, "items") == len(expected)
    assert tags(config) == expected
