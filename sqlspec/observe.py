"""Statement observation: the one place where logging, recording, counting and tracing hook in.

Every session (sync, async, and the portal facade's async session) hands each statement to
:func:`begin_statement` when something is observing, and to nothing otherwise: with no observer
registered and the ``sqlspec.statements`` _logger quiet, a statement costs one attribute check.

An observer is any object with the two methods of :class:`StatementObserver`. It is registered
process-wide with :func:`add_observer` (the Flask extension's recorder, the OpenTelemetry
instrumentor) and sees every statement of every config; it filters what it wants. Observers run
in the thread of the statement (the portal's thread for an async config used from sync code)
but in the caller's :mod:`contextvars` context (the portal runs each call in a copy of the
caller's context), so the caller's Flask app context and current span are visible to them. An
observer that raises is logged and never breaks the statement.

This module does no I/O of its own and imports no extension.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter
from types import CodeType, FrameType
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

__all__ = (
    "HUB",
    "DatabaseTarget",
    "StatementEvent",
    "StatementObserver",
    "add_observer",
    "begin_statement",
    "caller_location",
    "database_target",
    "log_statement",
    "mark_caller",
    "observes_statements",
    "remove_observer",
    "request_id",
    "statement_logger",
    "unmark_caller",
)

#: Statements are logged here: at DEBUG each one (SQL text, duration, caller context), at WARNING
#: those slower than ``StatementConfig.slow_query_ms``. Never parameter values.
statement_logger = logging.getLogger("sqlspec.statements")
_logger = logging.getLogger("sqlspec.observe")

#: The request id of the current request (set by the Flask extension's correlation middleware);
#: put on statement log records as ``sqlspec_request_id`` and on spans.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sqlspec_request_id", default=None
)
# Set by the portal facade in the caller's context copy: the caller's source location, which the
# portal thread's own stack cannot show.
_caller_location: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sqlspec_caller_location", default=None
)


class StatementObserver(Protocol):
    """What an observer implements. ``wants_parameters``/``wants_location`` (optional
    attributes, default False) ask for :attr:`StatementEvent.parameters` and for the caller's
    location to be captured across the portal."""

    def statement_started(self, event: StatementEvent) -> Any:
        """Called before the statement runs; the return value comes back to
        :meth:`statement_finished` (e.g. a span)."""

    def statement_finished(self, event: StatementEvent, token: Any) -> None:
        """Called once the statement has finished, successfully or not (``event.error``)."""


class _Hub:
    """The registered observers, replaced as a whole (readers never lock)."""

    __slots__ = ("_lock", "observers", "wants_location", "wants_parameters")

    def __init__(self) -> None:
        # Re-entrant: a weakly registered observer collected while the lock is held (the
        # garbage collector runs inside any allocation) unregisters itself in the same thread.
        self._lock = threading.RLock()
        self.observers: tuple[StatementObserver, ...] = ()
        self.wants_parameters = False
        self.wants_location = False

    def _set(self, observers: tuple[StatementObserver, ...]) -> None:
        observers = tuple(o for o in observers if not _is_dead(o))
        self.wants_parameters = any(getattr(o, "wants_parameters", False) for o in observers)
        self.wants_location = any(getattr(o, "wants_location", False) for o in observers)
        self.observers = observers

    def refresh(self) -> None:
        """Re-read the observers' ``wants_*`` attributes (after an observer changed them)."""
        with self._lock:
            self._set(self.observers)


#: The process-wide registry; ``HUB.observers`` is the tuple the hot path checks.
HUB = _Hub()


class _WeakObserver:
    """Stands in for an observer registered with ``weak=True``: forwards while it lives, and
    is unregistered when it is garbage-collected."""

    __slots__ = ("__weakref__", "ref")

    def __init__(self, observer: StatementObserver) -> None:
        self.ref = weakref.ref(observer, lambda _: _remove(self))

    @property
    def wants_parameters(self) -> bool:
        return bool(getattr(self.ref(), "wants_parameters", False))

    @property
    def wants_location(self) -> bool:
        return bool(getattr(self.ref(), "wants_location", False))

    def statement_started(self, event: StatementEvent) -> Any:
        observer = self.ref()
        if observer is None:  # collected, and its callback lost a race: leave now
            _remove(self)
            return None
        return observer.statement_started(event)

    def statement_finished(self, event: StatementEvent, token: Any) -> None:
        observer = self.ref()
        if observer is not None:
            observer.statement_finished(event, token)


def _is_dead(registered: Any) -> bool:
    return isinstance(registered, _WeakObserver) and registered.ref() is None


def _target(registered: Any) -> Any:
    return registered.ref() if isinstance(registered, _WeakObserver) else registered


def add_observer(observer: StatementObserver, *, weak: bool = False) -> None:
    """Register ``observer`` for every statement of every session (no-op if registered).

    With ``weak=True`` the registry does not keep the observer alive: it is unregistered when
    nothing else references it (an extension object that lives as long as its app)."""
    with HUB._lock:
        if any(_target(o) is observer for o in HUB.observers):
            return
        HUB._set((*HUB.observers, _WeakObserver(observer) if weak else observer))


def remove_observer(observer: StatementObserver) -> None:
    """Unregister ``observer`` (no-op if it is not registered). Statements already under way
    still report their end to it."""
    with HUB._lock:
        HUB._set(tuple(o for o in HUB.observers if _target(o) is not observer))


def _remove(registered: _WeakObserver) -> None:
    with HUB._lock:
        HUB._set(tuple(o for o in HUB.observers if o is not registered))


class StatementEvent:
    """One statement as observers see it.

    ``sql`` is the SQL as written (before any placeholder rewrite); ``parameters`` the bound
    values, only when an observer asked for them (``None`` otherwise, and always for scripts).
    ``operation`` is ``"execute"``, ``"execute_many"`` or ``"execute_script"``. Timings are
    :func:`time.perf_counter` seconds. After the end: ``rowcount`` (-1 when unknown),
    ``returned_rows`` (``None`` for a statement without a result set) and ``error`` (the
    exception raised to the caller, a :class:`~sqlspec.exceptions.SQLSpecError` for a database
    error).
    """

    __slots__ = (
        "_log",
        "_observers",
        "_tokens",
        "batch_size",
        "config",
        "context",
        "ended",
        "error",
        "operation",
        "parameters",
        "request_id",
        "returned_rows",
        "rowcount",
        "sql",
        "started",
    )

    def __init__(
        self, config: Any, context: str | None, operation: str, sql: str, log: bool
    ) -> None:
        self.config = config
        self.context = context
        self.operation = operation
        self.sql = sql
        self.parameters: Any = None
        self.batch_size: int | None = None
        self.request_id = request_id.get()
        self.started = 0.0
        self.ended = 0.0
        self.rowcount = -1
        self.returned_rows: int | None = None
        self.error: BaseException | None = None
        self._log = log
        self._observers: tuple[StatementObserver, ...] = ()
        self._tokens: list[Any] = []

    @property
    def duration(self) -> float:
        """Seconds the statement took (0.0 before it has finished)."""
        return self.ended - self.started if self.ended else 0.0

    def finish(self, rowcount: int = -1, returned_rows: int | None = None) -> None:
        """Record a successful end and tell the observers."""
        self.rowcount = rowcount
        self.returned_rows = returned_rows
        self._end()

    def fail(self, error: BaseException) -> None:
        """Record a failed end (``error`` is what the caller gets) and tell the observers."""
        self.error = error
        self._end()

    def _end(self) -> None:
        self.ended = perf_counter()
        for observer, token in zip(self._observers, self._tokens, strict=True):
            try:
                observer.statement_finished(self, token)
            except Exception:
                _logger.warning("statement observer %r failed", observer, exc_info=True)
        if self._log:
            _log_event(self)


def begin_statement(
    session: Any, operation: str, sql: str, parameters: Any = None
) -> StatementEvent:
    """Start observing one statement of ``session``; call ``finish()`` or ``fail()`` on the
    result. Used by the sessions only when ``session._log`` or ``HUB.observers`` is true."""
    event = StatementEvent(session.config, session.log_context, operation, sql, session._log)
    observers = HUB.observers
    if operation == "execute_many":
        event.batch_size = len(parameters)
    if HUB.wants_parameters:
        event.parameters = parameters
    if observers:
        event._observers = observers
        tokens = event._tokens
        for observer in observers:
            try:
                tokens.append(observer.statement_started(event))
            except Exception:
                _logger.warning("statement observer %r failed", observer, exc_info=True)
                tokens.append(None)
    event.started = perf_counter()
    return event


def observes_statements(config: Any) -> bool:
    """Whether a new session of ``config`` logs its statements itself (DEBUG logging on, or a
    slow-statement threshold configured); decided once per session."""
    return config.statement_config.slow_query_ms is not None or statement_logger.isEnabledFor(
        logging.DEBUG
    )


def log_statement(config: Any, context: str | None, sql: str, started: float) -> None:
    """Log one statement at DEBUG with its duration and context (e.g. the Flask endpoint)."""
    statement_logger.debug(
        "%s [%s] %.3f ms: %s",
        config.describe(),
        context or "-",
        (perf_counter() - started) * 1000,
        " ".join(sql.split()),
        extra={"sqlspec_context": context, "sqlspec_request_id": request_id.get()},
    )


def _log_event(event: StatementEvent) -> None:
    duration_ms = (event.ended - event.started) * 1000
    extra = {
        "sqlspec_context": event.context,
        "sqlspec_request_id": event.request_id,
        "sqlspec_duration_ms": duration_ms,
    }
    config = event.config
    threshold = config.statement_config.slow_query_ms
    if threshold is not None and duration_ms >= threshold:
        statement_logger.warning(
            "slow statement: %s [%s] %.3f ms (threshold %g ms)%s: %s",
            config.describe(),
            event.context or "-",
            duration_ms,
            threshold,
            _request_label(event),
            " ".join(event.sql.split()),
            extra=extra,
        )
    elif statement_logger.isEnabledFor(logging.DEBUG):
        statement_logger.debug(
            "%s [%s] %.3f ms%s: %s",
            config.describe(),
            event.context or "-",
            duration_ms,
            _request_label(event),
            " ".join(event.sql.split()),
            extra=extra,
        )


def _request_label(event: StatementEvent) -> str:
    return f" request {event.request_id}" if event.request_id else ""


# -- the caller, across the portal ----------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def caller_location() -> str | None:
    """``"path/to/file.py:LINE (function)"`` of the first frame outside sqlspec (the frame that
    ran the statement); across the portal, the sync caller's frame."""
    location = _caller_location.get()
    if location is not None:
        return location
    frame: FrameType | None = sys._getframe(1)
    internal = _internal_code
    while frame is not None:
        code = frame.f_code
        inside = internal.get(code)
        if inside is None:
            if len(internal) > 8192:
                internal.clear()
            filename = code.co_filename
            inside = internal[code] = filename.startswith(_PACKAGE_DIR) or _is_asyncio(filename)
        if not inside:
            key = (code, frame.f_lineno)
            location = _locations.get(key)
            if location is None:
                if len(_locations) > 8192:
                    _locations.clear()
                location = _locations[key] = (
                    f"{_shown_path(code.co_filename)}:{frame.f_lineno} ({code.co_name})"
                )
            return location
        frame = frame.f_back
    return None


# Per code object: is it sqlspec's own (or asyncio's)? Per (code, line): the location shown.
_internal_code: dict[CodeType, bool] = {}
_locations: dict[tuple[CodeType, int], str] = {}


def _is_asyncio(filename: str) -> bool:
    return f"{os.sep}asyncio{os.sep}" in filename


def _shown_path(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith("..") else relative


def mark_caller() -> contextvars.Token[str | None]:
    """Put the caller's location in its context before handing work to the portal (whose
    tasks run in a copy of the caller's context but on their own stack); undo it with
    :func:`unmark_caller`. The portal facade calls this only when an observer wants it."""
    return _caller_location.set(caller_location())


def unmark_caller(token: contextvars.Token[str | None]) -> None:
    _caller_location.reset(token)


# -- what a config points at -----------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseTarget:
    """What a config's statements run against, in OpenTelemetry's terms: ``system`` is
    ``db.system.name`` (``postgresql``, ``sqlite``, ``mysql``, ``duckdb`` or the adapter's
    name), ``namespace`` the database (or file) name, ``address``/``port`` the server when
    there is one and it is known from the settings."""

    system: str
    namespace: str | None
    address: str | None
    port: int | None


_SYSTEMS = {
    "sqlite": "sqlite",
    "aiosqlite": "sqlite",
    "duckdb": "duckdb",
    "psycopg": "postgresql",
    "asyncpg": "postgresql",
    "asyncmy": "mysql",
}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_targets: dict[int, tuple[Any, DatabaseTarget]] = {}


def database_target(config: Any) -> DatabaseTarget:
    """The :class:`DatabaseTarget` of ``config``, read from its settings (no I/O; cached)."""
    cached = _targets.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1]
    target = _target_of(config)
    if len(_targets) > 1024:
        _targets.clear()
    _targets[id(config)] = (config, target)
    return target


def _target_of(config: Any) -> DatabaseTarget:
    adapter = type(config).__module__.rsplit(".", 1)[-1]
    system = _SYSTEMS.get(adapter, adapter)
    settings: dict[str, Any] = dict(config.pool_config)
    if system == "postgresql":
        for key in ("conninfo", "dsn"):
            value = settings.get(key)
            if isinstance(value, str) and value:
                settings = {**_parse_postgres_dsn(value), **settings}
        namespace = settings.get("dbname") or settings.get("database")
        address = settings.get("host") or settings.get("hostaddr")
    elif system in ("sqlite", "duckdb"):
        namespace = settings.get("database")
        address = None
    else:
        namespace = settings.get("database") or settings.get("db")
        address = settings.get("host")
    port: int | None = None
    if address is not None:
        address = str(address).split(",")[0]
        if address.startswith("/"):  # a Unix socket directory is not a server address
            address = None
        else:
            raw_port = settings.get("port")
            try:
                port = int(str(raw_port).split(",")[0]) if raw_port else _DEFAULT_PORTS.get(system)
            except ValueError:
                port = None
    return DatabaseTarget(
        system, str(namespace) if namespace not in (None, "") else None, address, port
    )


def _parse_postgres_dsn(dsn: str) -> dict[str, str]:
    if "://" in dsn:
        parts = urlsplit(dsn)
        found = {"host": parts.hostname or "", "dbname": unquote(parts.path.lstrip("/"))}
        if parts.port:
            found["port"] = str(parts.port)
        return {key: value for key, value in found.items() if value}
    found = {}
    for item in _split_conninfo(dsn):
        key, _, value = item.partition("=")
        if key in ("host", "hostaddr", "port", "dbname"):
            found[key.strip()] = value.strip().strip("'")
    return found


def _split_conninfo(dsn: str) -> Sequence[str]:
    # key=value pairs separated by spaces; values may be quoted ('a b') and spaces around '='.
    normalised = " ".join(dsn.replace(" =", "=").replace("= ", "=").split())
    items: list[str] = []
    current = ""
    quoted = False
    for char in normalised:
        if char == "'":
            quoted = not quoted
        if char == " " and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    if current:
        items.append(current)
    return items
