"""``SQLSpecInstrumentor``: a CLIENT span and a duration measurement per statement, and the
connection counts of every pool, on OpenTelemetry's stable database semantic conventions.

Spans carry ``db.system.name``, ``db.namespace``, ``db.operation.name``, ``db.collection.name``
and ``db.query.summary`` (when the statement names one table), ``db.query.text`` (the SQL as
written, with its placeholders; never parameter values, and not for ``execute_script``, whose
text may hold literals), ``server.address``/``server.port`` (server databases),
``db.operation.batch.size`` (``execute_many``), ``db.response.returned_rows``, and on failure
``error.type`` (the sqlspec exception class, e.g. ``UniqueViolationError``),
``db.response.status_code`` (the SQLSTATE, or SQLite's error name, when the driver gives one)
and an ERROR status. The request id of the Flask correlation middleware is
``sqlspec.request_id``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from sqlspec.config import DatabaseConfig, live_configs
from sqlspec.observe import StatementEvent, add_observer, database_target, remove_observer

__all__ = ("SQLSpecInstrumentor",)

_SCOPE = "sqlspec"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.33.0"
#: The bucket boundaries the convention advises for ``db.client.operation.duration``.
_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

_COMMENT = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.DOTALL)
_KEYWORD = re.compile(r"\s*([A-Za-z]+)")
_NAME = r"((?:\"[^\"]+\"|`[^`]+`|[A-Za-z_][\w$]*)(?:\.(?:\"[^\"]+\"|`[^`]+`|[A-Za-z_][\w$]*))*)"
_TABLE_AFTER = {
    "SELECT": re.compile(r"\bFROM\s+" + _NAME, re.IGNORECASE),
    "DELETE": re.compile(r"\bFROM\s+" + _NAME, re.IGNORECASE),
    "INSERT": re.compile(r"\bINTO\s+" + _NAME, re.IGNORECASE),
    "REPLACE": re.compile(r"\bINTO\s+" + _NAME, re.IGNORECASE),
    "UPDATE": re.compile(r"^\s*UPDATE\s+(?:ONLY\s+)?" + _NAME, re.IGNORECASE),
}
# A second table or a sub-select makes "the" collection ambiguous: then none is named.
_SEVERAL_TABLES = re.compile(r"\bJOIN\b|\(\s*SELECT\b|\bFROM\s+[^;]*?,", re.IGNORECASE)


def _describe_sql(sql: str) -> tuple[str | None, str | None]:
    """(operation, collection) of a statement: its first keyword, and its one table when it
    plainly names exactly one."""
    text = sql
    while True:
        match = _COMMENT.match(text)
        if match is None or not match.group(0):
            break
        text = text[match.end() :]
    keyword = _KEYWORD.match(text)
    if keyword is None:
        return None, None
    operation = keyword.group(1).upper()
    pattern = _TABLE_AFTER.get(operation)
    if pattern is None or _SEVERAL_TABLES.search(text):
        return operation, None
    table = pattern.search(text)
    return operation, table.group(1) if table else None


class _Described:
    """What the spans and measurements of one statement of one config share (cached)."""

    __slots__ = ("config", "measured", "name", "operation", "started")

    def __init__(self, event: StatementEvent) -> None:
        self.config = event.config
        target = database_target(event.config)
        is_script = event.operation == "execute_script"
        operation, collection = (None, None) if is_script else _describe_sql(event.sql)
        batch = event.batch_size if event.batch_size is not None and event.batch_size > 1 else None
        if operation is not None and batch is not None:
            operation = f"BATCH {operation}"
        self.operation = operation
        summary = f"{operation} {collection}" if operation and collection else operation
        self.name = summary or (target.namespace if target.namespace is not None else target.system)
        common: dict[str, Any] = {"db.system.name": target.system}
        if target.namespace is not None:
            common["db.namespace"] = target.namespace
        if operation is not None:
            common["db.operation.name"] = operation
        if target.address is not None:
            common["server.address"] = target.address
            if target.port is not None:
                common["server.port"] = target.port
        self.measured = common
        started = dict(common)
        if collection is not None:
            started["db.collection.name"] = collection
        if summary is not None:
            started["db.query.summary"] = summary
        if not is_script:
            started["db.query.text"] = event.sql
        if batch is not None:
            started["db.operation.batch.size"] = batch
        self.started = started


_described: dict[tuple[int, str, str, int | None], _Described] = {}


def _describe(event: StatementEvent) -> _Described:
    key = (id(event.config), event.sql, event.operation, event.batch_size)
    found = _described.get(key)
    if found is None or found.config is not event.config:
        found = _Described(event)
        if len(_described) >= 4096:
            _described.clear()
        _described[key] = found
    return found


class _SpanObserver:
    """The statement observer: starts the span before the statement, ends it after."""

    def __init__(self, tracer: trace.Tracer, duration: metrics.Histogram) -> None:
        self._tracer = tracer
        self._duration = duration

    def statement_started(self, event: StatementEvent) -> Any:
        described = _describe(event)
        attributes = described.started
        if event.request_id is not None:
            attributes = {**attributes, "sqlspec.request_id": event.request_id}
        return self._tracer.start_span(described.name, kind=SpanKind.CLIENT, attributes=attributes)

    def statement_finished(self, event: StatementEvent, span: Any) -> None:
        described = _describe(event)
        measured = described.measured
        error = event.error
        if span is not None:
            if event.returned_rows is not None:
                span.set_attribute("db.response.returned_rows", event.returned_rows)
            if error is not None:
                error_type = type(error).__qualname__
                span.set_attribute("error.type", error_type)
                code = _status_code(error)
                if code is not None:
                    span.set_attribute("db.response.status_code", code)
                # The message may quote values (a unique violation's key): only the class.
                span.set_status(Status(StatusCode.ERROR, error_type))
            span.end()
        if error is not None:
            measured = {**measured, "error.type": type(error).__qualname__}
            code = _status_code(error)
            if code is not None:
                measured["db.response.status_code"] = code
        self._duration.record(event.duration, measured)


def _status_code(error: BaseException) -> str | None:
    for candidate in (error, error.__cause__):
        for attribute in ("sqlstate", "pgcode", "sqlite_errorname"):
            code = getattr(candidate, attribute, None)
            if isinstance(code, str) and code:
                return code
    return None


class SQLSpecInstrumentor:
    """Instruments every sqlspec session of the process (sync, async and through the portal).

    Follows the OpenTelemetry instrumentors' convention: one instance per process (every
    ``SQLSpecInstrumentor()`` is the same object), ``instrument(tracer_provider=...,
    meter_provider=...)`` (the global providers when omitted) and ``uninstrument()``. Calling
    ``instrument()`` twice without ``uninstrument()`` in between does nothing the second time.
    Spans are children of the span current in the caller (the Flask request's, under
    ``opentelemetry-instrumentation-flask``). Not instrumented, it costs the statement path
    nothing.

    Metrics: ``db.client.operation.duration`` (histogram, seconds) per statement, and
    ``db.client.connection.count`` (observed from ``config.pool_stats()`` at each collection,
    with ``db.client.connection.state`` ``idle``/``used`` and
    ``db.client.connection.pool.name``) for ``configs`` (default: every live config).
    """

    _instance: SQLSpecInstrumentor | None = None
    _lock = threading.Lock()

    def __new__(cls) -> SQLSpecInstrumentor:
        with cls._lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._observer = None
                instance._configs = None
                cls._instance = instance
            return cls._instance

    _observer: _SpanObserver | None
    _configs: tuple[DatabaseConfig, ...] | None

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        """True between ``instrument()`` and ``uninstrument()``."""
        return self._observer is not None

    def instrument(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        configs: Sequence[DatabaseConfig] | None = None,
        **_: Any,
    ) -> None:
        """Start emitting spans and metrics (see the class docstring)."""
        with self._lock:
            if self._observer is not None:
                return
            from sqlspec import __version__

            tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=_SCHEMA_URL)
            meter = metrics.get_meter(_SCOPE, __version__, meter_provider, schema_url=_SCHEMA_URL)
            duration = meter.create_histogram(
                "db.client.operation.duration",
                unit="s",
                description="Duration of database client operations.",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            )
            self._configs = tuple(configs) if configs is not None else None
            meter.create_observable_up_down_counter(
                "db.client.connection.count",
                callbacks=[self._observe_connections],
                unit="{connection}",
                description="The number of connections that are currently in the given state.",
            )
            self._observer = _SpanObserver(tracer, duration)
            add_observer(self._observer)

    def uninstrument(self, **_: Any) -> None:
        """Stop emitting spans and measurements (statements under way still end their span).
        The connection-count callback stays registered with its meter but reports nothing."""
        with self._lock:
            observer, self._observer = self._observer, None
            if observer is not None:
                remove_observer(observer)

    def _observe_connections(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._observer is None:
            return []
        configs = self._configs if self._configs is not None else live_configs()
        observations = []
        for config in configs:
            try:
                stats = config.pool_stats()  # type: ignore[attr-defined]
            except Exception:
                continue
            target = database_target(config)
            base = {
                "db.client.connection.pool.name": config.describe(),
                "db.system.name": target.system,
            }
            observations.append(
                Observation(stats.idle, {**base, "db.client.connection.state": "idle"})
            )
            observations.append(
                Observation(stats.in_use, {**base, "db.client.connection.state": "used"})
            )
        return observations
