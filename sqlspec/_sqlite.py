"""Helpers shared by the adapters built on ``sqlite3`` (sqlite and aiosqlite): settings,
script splitting, SQLITE_BUSY handling, bad values and the parameter limit. Private: adapters
import it, users do not."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, ClassVar

from sqlspec._timeouts import statement_timeout
from sqlspec._values import UnbindableValue, locate, locate_in_rows
from sqlspec.config import DatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.statement import Dialect, ParamStyle

_PRAGMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRAGMA_VALUE = re.compile(r"-?[A-Za-z0-9_.]+")


@lru_cache(maxsize=128)
def split_script(sql: str) -> tuple[str, ...]:
    """Split a script into complete statements, using SQLite's own notion of completeness
    (string literals, comments and ``CREATE TRIGGER ... END`` bodies are respected)."""
    statements: list[str] = []
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                statements.append(buffer.strip())
            buffer = ""
    rest = buffer[:-1].strip()
    if rest:
        statements.append(rest)
    return tuple(statements)


def session_settings(config: DatabaseConfig) -> tuple[tuple[str, ...], str]:
    """Validate a SQLite config's ``pragmas`` and ``transaction_mode`` driver features (shared
    with aiosqlite): returns the pragma statements and the BEGIN statement."""
    name = type(config).__name__
    features = config.driver_features
    pragmas = {"foreign_keys": "on", **dict(features.get("pragmas") or {})}
    for key, value in pragmas.items():
        if not _PRAGMA_NAME.fullmatch(str(key)) or not _PRAGMA_VALUE.fullmatch(str(value)):
            raise ImproperConfigurationError(
                f"{name}: invalid pragma {key!r} = {value!r}; names are identifiers and values "
                "are words or numbers"
            )
    mode = str(features.get("transaction_mode", "deferred")).upper()
    if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
        raise ImproperConfigurationError(
            f"{name}: transaction_mode must be 'deferred', 'immediate' or 'exclusive', got "
            f"{features['transaction_mode']!r}"
        )
    if int(config.pool_config.get("max_size", 10)) < 1:
        raise ImproperConfigurationError(f"{name}: max_size must be at least 1")
    statements = tuple(f"PRAGMA {key} = {value}" for key, value in pragmas.items())
    return statements, "BEGIN" if mode == "DEFERRED" else f"BEGIN {mode}"


class SqliteSettings(DatabaseConfig):
    """The configuration the sqlite and aiosqlite configs share: pool and feature keys, their
    validation, and the pool's options; each names its :attr:`timed_driver`."""

    file_database = True
    pool_keys = frozenset({"min_size", "max_size", "acquire_timeout"})
    feature_keys = frozenset({"pragmas", "transaction_mode", "statement_timeout"})
    driver_type: ClassVar[type[Any]]
    #: The session class when ``statement_timeout`` is set (only those pay for arming it).
    timed_driver: ClassVar[type[Any]]
    pragmas: tuple[str, ...]
    begin_statement: str
    statement_timeout: float | None

    def _validate(self) -> None:
        self.pool_config.setdefault("database", ":memory:")
        #: The pragmas run on every new connection, and the statement sessions begin with.
        self.pragmas, self.begin_statement = session_settings(self)
        #: Seconds a statement may run (``None``: no limit).
        self.statement_timeout = statement_timeout(self)
        if self.statement_timeout is not None:
            self.driver_type = self.timed_driver  # type: ignore[misc]

    @property
    def is_memory(self) -> bool:
        """Whether the database is ``":memory:"`` (one in-memory database per config)."""
        return is_memory_database(self.pool_config["database"])

    def _pool_options(self, reset: Callable[..., Any], close: Callable[..., Any]) -> dict[str, Any]:
        return {
            "max_size": self.max_pool_size(),
            "min_size": int(self._setting("min_size", 0)),
            "timeout": float(self._setting("acquire_timeout", 30.0)),
            "reset": reset,
            "close": close,
            "name": self.describe(),
        }


def is_memory_database(database: object) -> bool:
    return str(database) in (":memory:", "")


def is_busy(error: BaseException) -> bool:
    return str(getattr(error, "sqlite_errorname", "")).startswith("SQLITE_BUSY")


def busy_retry_delays(timeout: float) -> Iterator[float | None]:
    """Pauses between attempts at a statement SQLite refuses with SQLITE_BUSY without calling
    its busy handler (a pragma switching the journal mode while other connections open the
    file); ``None`` marks the last attempt."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while time.monotonic() + delay <= deadline:
        yield delay
        delay = min(delay * 2, 0.1)
    yield None


#: What ``sqlite3`` raises for a value it cannot bind (the last two are bare Python errors).
BIND_ERRORS = (sqlite3.ProgrammingError, sqlite3.InterfaceError, UnicodeEncodeError, OverflowError)


def _variable_limit() -> int | None:
    """SQLite's limit on parameters per statement (``SQLITE_LIMIT_VARIABLE_NUMBER``), read from
    the library itself; ``None`` before Python 3.11, where the driver's own "too many SQL
    variables" error is translated instead."""
    probe = sqlite3.connect(":memory:")
    try:
        getlimit = getattr(probe, "getlimit", None)
        return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if getlimit else None  # type: ignore[attr-defined,unused-ignore]
    finally:
        probe.close()


VARIABLE_LIMIT = _variable_limit()


class SqliteFacts:
    """The driver facts of a session over ``sqlite3`` (the sqlite and aiosqlite drivers list
    this class before their driver base)."""

    parameter_style: ClassVar[ParamStyle] = ParamStyle.QMARK
    dialect: ClassVar[Dialect] = Dialect.SQLITE
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error,)
    parameter_limit: ClassVar[int | None] = VARIABLE_LIMIT
    __slots__ = ()


def find_unbindable(values: object, rows: bool = False) -> UnbindableValue | None:
    """The first value (of a parameter set, or of every row with ``rows=True``) that ``sqlite3``
    refuses to bind, found by binding each value alone on a scratch connection: the driver's own
    rules, registered adapters included. Only called after the driver refused a statement."""
    probe = sqlite3.connect(":memory:")

    def check(value: object) -> str | None:
        try:
            probe.execute("SELECT ?", (value,))
        except (sqlite3.Error, UnicodeError, OverflowError, TypeError, ValueError) as error:
            return str(error).removeprefix("Error binding parameter 1: ")
        return None

    try:
        return locate_in_rows(values, check) if rows else locate(values, check)  # type: ignore[arg-type]
    finally:
        probe.close()
