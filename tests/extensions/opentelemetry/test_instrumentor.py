"""SQLSpecInstrumentor: spans and metrics on the stable database conventions, checked attribute by
attribute with the SDK's in-memory exporter and reader, on SQLite, PostgreSQL (psycopg, and
asyncpg through the portal) and DuckDB; native async sessions too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from flask import Flask
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.exceptions import UniqueViolationError
from sqlspec.extensions.flask import SQLSpecPlugin
from sqlspec.extensions.opentelemetry import SQLSpecInstrumentor
from sqlspec.observe import HUB
from tests.extensions.observed import ObservedDB, observed_db
from tests.extensions.opentelemetry.conftest import Telemetry
from tests.servers import PostgresServer

__all__ = ("observed_db",)


def finished(telemetry: Telemetry) -> list[ReadableSpan]:
    return list(telemetry.spans.get_finished_spans())


def expected_namespace(observed_db: ObservedDB, config: Any) -> str:
    if observed_db.has_server:
        assert observed_db.backend is not None
        assert observed_db.backend.postgres is not None
        return observed_db.backend.postgres.dbname
    return str(config.pool_config["database"])


def server_attributes(observed_db: ObservedDB) -> dict[str, Any]:
    if not observed_db.has_server:
        return {}
    assert observed_db.backend is not None
    assert observed_db.backend.postgres is not None
    server = observed_db.backend.postgres
    return {"server.address": server.host, "server.port": server.port}


def metric_points(telemetry: Telemetry, name: str) -> list[Any]:
    data = telemetry.metrics.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_a_client_span_per_statement(observed_db: ObservedDB, telemetry: Telemetry) -> None:
    config = observed_db.make()
    with config.provide_sync_session() as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50))")
        db.execute("INSERT INTO users (id, name) VALUES (?, ?)", (1, "secret-name"))
        db.select("SELECT id, name FROM users WHERE id = ?", 1)
    spans = finished(telemetry)

    assert [span.name for span in spans] == ["CREATE", "INSERT users", "SELECT users"]
    select = spans[-1]
    assert select.kind is SpanKind.CLIENT
    assert select.instrumentation_scope is not None
    assert select.instrumentation_scope.name == "sqlspec"
    assert dict(select.attributes or {}) == {
        "db.system.name": observed_db.system,
        "db.namespace": expected_namespace(observed_db, config),
        "db.operation.name": "SELECT",
        "db.collection.name": "users",
        "db.query.summary": "SELECT users",
        "db.query.text": "SELECT id, name FROM users WHERE id = ?",
        "db.response.returned_rows": 1,
        **server_attributes(observed_db),
    }
    assert select.status.status_code is StatusCode.UNSET
    insert_attributes = dict(spans[1].attributes or {})
    assert "db.response.returned_rows" not in insert_attributes  # no result set
    for span in spans:  # parameter values never reach a span
        assert "secret-name" not in repr(dict(span.attributes or {}))
    assert all(span.end_time is not None for span in spans)


def test_a_failed_statement(observed_db: ObservedDB, telemetry: Telemetry) -> None:
    config = observed_db.make()
    with config.provide_sync_session() as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        db.execute("INSERT INTO t (id) VALUES (?)", 7)
        with pytest.raises(UniqueViolationError):
            db.execute("INSERT INTO t (id) VALUES (?)", 7)
    span = finished(telemetry)[-1]

    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "UniqueViolationError"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "UniqueViolationError"
    if observed_db.system == "postgresql":
        assert attributes["db.response.status_code"] == "23505"
    if observed_db.system == "sqlite":
        assert attributes["db.response.status_code"] == "SQLITE_CONSTRAINT_PRIMARYKEY"
    assert "7" not in repr(span.events)  # the message (with the key's value) is not recorded
    [failed] = [
        p
        for p in metric_points(telemetry, "db.client.operation.duration")
        if "error.type" in p.attributes
    ]
    assert failed.attributes["error.type"] == "UniqueViolationError"


def test_batches_and_scripts(observed_db: ObservedDB, telemetry: Telemetry) -> None:
    config = observed_db.make()
    with config.provide_sync_session() as db:
        db.execute_script("CREATE TABLE t (id INTEGER); INSERT INTO t (id) VALUES (1)")
        db.execute_many("INSERT INTO t (id) VALUES (?)", [(2,), (3,), (4,)])
    script, batch = finished(telemetry)

    assert script.name == expected_namespace(observed_db, config)
    assert "db.query.text" not in dict(script.attributes or {})  # literals may be in a script
    assert "db.operation.name" not in dict(script.attributes or {})
    assert batch.name == "BATCH INSERT t"
    assert batch.attributes is not None
    assert batch.attributes["db.operation.name"] == "BATCH INSERT"
    assert batch.attributes["db.operation.batch.size"] == 3
    assert batch.attributes["db.query.text"] == "INSERT INTO t (id) VALUES (?)"


def test_spans_are_children_of_the_current_span(
    observed_db: ObservedDB, telemetry: Telemetry
) -> None:
    config = observed_db.make()
    tracer = telemetry.tracer_provider.get_tracer("app")
    with config.provide_sync_session() as db:
        with tracer.start_as_current_span("handler") as parent:
            db.select_value("SELECT 1")
        db.select_value("SELECT 2")
    statement, handler, orphan = finished(telemetry)

    assert handler.name == "handler"
    assert statement.parent is not None
    assert statement.parent.span_id == parent.get_span_context().span_id
    assert statement.context is not None
    assert statement.context.trace_id == parent.get_span_context().trace_id
    assert orphan.parent is None


def test_spans_are_children_of_the_flask_request_span(
    observed_db: ObservedDB, telemetry: Telemetry
) -> None:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    observed_db.make(enable_correlation_middleware=True)
    app = Flask(__name__)
    plugin = SQLSpecPlugin(observed_db.spec, app)  # type: ignore[arg-type]

    @app.get("/users")
    def users() -> str:
        return str(plugin.get_session().select_value("SELECT 1"))

    FlaskInstrumentor().instrument_app(app, tracer_provider=telemetry.tracer_provider)
    try:
        response = app.test_client().get("/users", headers={"X-Request-ID": "rid-1"})
    finally:
        FlaskInstrumentor().uninstrument_app(app)
    assert response.data == b"1"
    statement, request_span = finished(telemetry)

    assert request_span.kind is SpanKind.SERVER
    assert statement.parent is not None
    assert statement.parent.span_id == request_span.context.span_id  # type: ignore[union-attr]
    assert statement.attributes is not None
    assert statement.attributes["sqlspec.request_id"] == "rid-1"


def test_duration_histogram(observed_db: ObservedDB, telemetry: Telemetry) -> None:
    config = observed_db.make()
    with config.provide_sync_session() as db:
        for _ in range(3):
            db.select_value("SELECT 1")
    [point] = metric_points(telemetry, "db.client.operation.duration")

    assert dict(point.attributes) == {
        "db.system.name": observed_db.system,
        "db.namespace": expected_namespace(observed_db, config),
        "db.operation.name": "SELECT",
        **server_attributes(observed_db),
    }
    assert point.count == 3
    assert 0 < point.sum < 5  # seconds
    assert list(point.explicit_bounds) == [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0]
    data = telemetry.metrics.get_metrics_data()
    assert data is not None
    [metric] = [
        m
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
        if m.name == "db.client.operation.duration"
    ]
    assert metric.unit == "s"


def test_connection_count(observed_db: ObservedDB, telemetry: Telemetry) -> None:
    config = observed_db.make()
    with config.provide_sync_session() as db:
        db.select_value("SELECT 1")
        used = {
            p.attributes["db.client.connection.state"]: p.value
            for p in metric_points(telemetry, "db.client.connection.count")
            if p.attributes["db.client.connection.pool.name"] == config.describe()
        }
    idle = {
        p.attributes["db.client.connection.state"]: p.value
        for p in metric_points(telemetry, "db.client.connection.count")
        if p.attributes["db.client.connection.pool.name"] == config.describe()
    }
    stats = config.pool_stats()

    assert used["used"] == 1
    assert idle == {"used": 0, "idle": stats.idle}
    assert stats.idle >= 1


def test_uninstrument_stops_spans_and_costs_nothing(
    observed_db: ObservedDB, telemetry: Telemetry
) -> None:
    config = observed_db.make()
    assert SQLSpecInstrumentor() is telemetry.instrumentor  # one instrumentor per process
    assert telemetry.instrumentor.is_instrumented_by_opentelemetry
    telemetry.instrumentor.instrument()  # a second instrument() changes nothing
    with config.provide_sync_session() as db:
        db.select_value("SELECT 1")
        telemetry.instrumentor.uninstrument()
        db.select_value("SELECT 2")
    assert [s.attributes["db.query.text"] for s in finished(telemetry)] == [  # type: ignore[index]
        "SELECT 1"
    ]
    assert not telemetry.instrumentor.is_instrumented_by_opentelemetry
    assert not any(type(o).__name__ == "_SpanObserver" for o in HUB.observers)


def test_native_async_sessions(tmp_path: Any, telemetry: Telemetry) -> None:
    config = AiosqliteConfig(pool_config={"database": str(tmp_path / "a.db")})
    tracer = telemetry.tracer_provider.get_tracer("app")

    async def main() -> None:
        try:
            async with config.provide_session() as db:
                with tracer.start_as_current_span("task"):
                    await db.select_value("SELECT 1")
        finally:
            await config.close_pool_async()

    asyncio.run(main())
    statement, task = finished(telemetry)
    assert statement.name == "SELECT"
    assert statement.attributes is not None
    assert statement.attributes["db.system.name"] == "sqlite"
    assert statement.parent is not None
    assert statement.parent.span_id == task.context.span_id  # type: ignore[union-attr]


@pytest.mark.postgres
def test_native_asyncpg_sessions(postgres_server: PostgresServer, telemetry: Telemetry) -> None:
    config = AsyncpgConfig(pool_config={"dsn": postgres_server.dsn})

    async def main() -> None:
        try:
            async with config.provide_session() as db:
                await db.select_value("SELECT 1")
        finally:
            await config.close_pool_async()

    asyncio.run(main())
    [span] = finished(telemetry)
    assert span.attributes is not None
    assert span.attributes["db.system.name"] == "postgresql"
    assert span.attributes["db.namespace"] == postgres_server.dbname
    assert span.attributes["server.address"] == postgres_server.host
    assert span.attributes["server.port"] == postgres_server.port
