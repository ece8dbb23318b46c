"""What the Flask extension sees of statements: recorded queries per app context, query counts,
and the request id of the correlation middleware.

One :class:`StatementRecorder` per plugin is registered with :mod:`sqlspec.observe` only while
it has something to do (recording on for some database of some app, or a ``count_queries()``
block open), so an app without either pays nothing per statement.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import Flask, has_app_context
from flask.globals import app_ctx

from sqlspec.config import DatabaseConfig
from sqlspec.observe import HUB, StatementEvent, add_observer, caller_location, remove_observer

__all__ = ("QueryCount", "RecordedQuery", "StatementRecorder", "new_request_id")

#: Where an app context's recorded queries live on ``g``.
RECORDED = "_sqlspec_recorded_queries"
# A request id taken from the client must look like one: it goes into logs and spans as it is.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")


def new_request_id(given: str | None) -> str:
    """The request's id: ``given`` (the client's header) when it is a plausible id, else a new
    random one (so nothing a client sends can forge a log line)."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RecordedQuery(NamedTuple):
    """One statement run in an app context, as ``plugin.get_recorded_queries()`` returns it.

    ``statement`` is the SQL as written; ``parameters`` the bound values only with
    ``"record_parameters": True`` (``None`` otherwise); ``start``/``end`` are
    :func:`time.perf_counter` seconds and ``duration`` their difference; ``location`` is
    ``"path/to/file.py:LINE (function)"`` of the code that ran it; ``rows_affected`` the
    driver's row count (the number of rows returned when the driver has none, -1 when unknown);
    ``error`` the exception the statement raised, if it failed.
    """

    statement: str
    parameters: Any
    start: float
    end: float
    duration: float
    location: str | None
    session_key: str
    database: str
    rows_affected: int
    error: BaseException | None = None


class QueryCount:
    """The statements counted by ``plugin.count_queries()`` (thread-safe).

    ``count`` is how many ran, ``statements`` their SQL in the order they finished. Its
    ``repr`` lists them, so ``assert counted.count <= 3, counted`` shows what ran.
    """

    __slots__ = ("_lock", "_statements")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statements: list[str] = []

    def add(self, sql: str) -> None:
        with self._lock:
            self._statements.append(sql)

    @property
    def count(self) -> int:
        return len(self._statements)

    @property
    def statements(self) -> list[str]:
        with self._lock:
            return list(self._statements)

    def __repr__(self) -> str:
        shown = "".join(
            f"\n  {i}. {' '.join(sql.split())}" for i, sql in enumerate(self.statements, 1)
        )
        return f"<QueryCount {self.count} statement(s){shown}>"


@dataclass(frozen=True, slots=True)
class _Recorded:
    session_key: str
    parameters: bool
    database: str


class StatementRecorder:
    """The plugin's statement observer: records per app context and feeds open counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._apps: dict[Flask, dict[DatabaseConfig, _Recorded]] = {}
        self._configs: frozenset[DatabaseConfig] = frozenset()
        self._counters: tuple[QueryCount, ...] = ()
        #: Read by :mod:`sqlspec.observe`: capture the caller's location across the portal.
        self.wants_location = False
        #: Read by :mod:`sqlspec.observe`: hand the bound parameter values over.
        self.wants_parameters = False

    # -- configuration -------------------------------------------------------------------------

    def add_app(
        self,
        app: Flask,
        configs: Iterable[DatabaseConfig],
        recorded: dict[DatabaseConfig, tuple[str, bool]],
    ) -> None:
        """Count ``configs`` from now on, and record ``recorded`` (config -> session key,
        record parameters) in ``app``'s app contexts."""
        with self._lock:
            self._configs = self._configs | frozenset(configs)
            if recorded:
                self._apps[app] = {
                    config: _Recorded(key, params, config.describe())
                    for config, (key, params) in recorded.items()
                }
            self._sync()

    def recording(self, app: Flask) -> bool:
        return app in self._apps

    def open_counter(self) -> QueryCount:
        counter = QueryCount()
        with self._lock:
            self._counters = (*self._counters, counter)
            self._sync()
        return counter

    def close_counter(self, counter: QueryCount) -> None:
        with self._lock:
            self._counters = tuple(c for c in self._counters if c is not counter)
            self._sync()

    def stop(self) -> None:
        """Unregister (``plugin.shutdown()``): nothing is recorded or counted afterwards."""
        with self._lock:
            self._apps.clear()
            self._counters = ()
            self._sync()

    def _sync(self) -> None:
        self.wants_location = bool(self._apps)
        self.wants_parameters = any(
            entry.parameters for recorded in self._apps.values() for entry in recorded.values()
        )
        if self._apps or self._counters:
            add_observer(self, weak=True)  # the plugin keeps it alive, as long as its apps
        else:
            remove_observer(self)
        HUB.refresh()

    # -- observer ------------------------------------------------------------------------------

    def statement_started(self, event: StatementEvent) -> None:
        return None

    def statement_finished(self, event: StatementEvent, token: Any) -> None:
        config = event.config
        if self._counters and config in self._configs:
            for counter in self._counters:
                counter.add(event.sql)
        if not self._apps or not has_app_context():
            return
        context = app_ctx._get_current_object()  # type: ignore[attr-defined]
        recorded = self._apps.get(context.app)
        entry = recorded.get(config) if recorded is not None else None
        if entry is None:
            return
        rows = event.rowcount
        if rows < 0 and event.returned_rows is not None:
            rows = event.returned_rows
        query = RecordedQuery(
            statement=event.sql,
            parameters=event.parameters if entry.parameters else None,
            start=event.started,
            end=event.ended,
            duration=event.ended - event.started,
            location=caller_location(),
            session_key=entry.session_key,
            database=entry.database,
            rows_affected=rows,
            error=event.error,
        )
        context.g.__dict__.setdefault(RECORDED, []).append(query)
