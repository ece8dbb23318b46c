"""Translate driver errors into the sqlspec exception family.

The mappings key on what the databases themselves report (PostgreSQL SQLSTATE, SQLite extended
result codes, MySQL error numbers), not on driver class names, so the sqlite3/aiosqlite and
psycopg/asyncpg pairs share one table each.
"""

from __future__ import annotations

import os
import re
import sqlite3
from typing import Any

from sqlspec import exceptions as exc

__all__ = (
    "connect_failure",
    "for_dbapi_class",
    "for_mysql_errno",
    "for_sqlite",
    "for_sqlstate",
    "translate",
    "with_context",
)

_SQLSTATE_EXACT: dict[str, type[exc.SQLSpecError]] = {
    "23505": exc.UniqueViolationError,
    "23503": exc.ForeignKeyViolationError,
    "23502": exc.NotNullViolationError,
    "23514": exc.CheckViolationError,
    "40001": exc.SerializationError,  # serialization_failure
    "40P01": exc.DeadlockError,  # deadlock_detected
    "25P02": exc.TransactionError,  # in_failed_sql_transaction
    "57014": exc.OperationalError,  # query_canceled (by a user; see for_sqlstate)
}
_SQLSTATE_CLASS: dict[str, type[exc.SQLSpecError]] = {
    "08": exc.ConnectionError,
    "22": exc.DataError,
    "23": exc.IntegrityError,
    "25": exc.TransactionError,
    "40": exc.TransactionError,
    "42": exc.ProgrammingError,
    "53": exc.OperationalError,
    "55": exc.OperationalError,
    "57": exc.ConnectionError,
    "58": exc.OperationalError,
}


def for_sqlstate(sqlstate: str | None, message: str = "") -> type[exc.SQLSpecError]:
    """The sqlspec class for a PostgreSQL SQLSTATE code (and the error's message, which tells a
    ``statement_timeout`` cancel from a user's: both are SQLSTATE 57014)."""
    if not sqlstate:
        return exc.SQLSpecError
    if sqlstate == "57014" and "statement timeout" in message:
        return exc.StatementTimeoutError
    found = _SQLSTATE_EXACT.get(sqlstate) or _SQLSTATE_CLASS.get(sqlstate[:2])
    return found or exc.SQLSpecError


#: DB-API 2 exception names (PEP 249) and the sqlspec class each maps to, checked in order.
_DBAPI_CLASSES = (
    ("IntegrityError", exc.IntegrityError),
    ("DataError", exc.DataError),
    ("ProgrammingError", exc.ProgrammingError),
)


def for_dbapi_class(error: BaseException, module: Any) -> type[exc.SQLSpecError] | None:
    """The sqlspec class for ``error`` by the DB-API class it is an instance of in ``module``
    (a driver's exceptions module), or ``None`` for none of integrity, data, programming."""
    for name, cls in _DBAPI_CLASSES:
        kind = getattr(module, name, None)
        if kind is not None and isinstance(error, kind):
            return cls
    return None


_SQLITE_EXTENDED: dict[str, type[exc.SQLSpecError]] = {
    "SQLITE_CONSTRAINT_UNIQUE": exc.UniqueViolationError,
    "SQLITE_CONSTRAINT_PRIMARYKEY": exc.UniqueViolationError,
    "SQLITE_CONSTRAINT_FOREIGNKEY": exc.ForeignKeyViolationError,
    "SQLITE_CONSTRAINT_NOTNULL": exc.NotNullViolationError,
    "SQLITE_CONSTRAINT_CHECK": exc.CheckViolationError,
    # A WAL read transaction whose snapshot a concurrent commit made stale cannot become a
    # writer; SQLite refuses at once (no busy wait) and only rerunning the transaction helps.
    "SQLITE_BUSY_SNAPSHOT": exc.SerializationError,
}


def for_sqlite(error: BaseException) -> type[exc.SQLSpecError]:
    """The sqlspec class for a sqlite3 exception (also raised by aiosqlite)."""
    name = getattr(error, "sqlite_errorname", None)
    if name is not None:
        found = _SQLITE_EXTENDED.get(name)
        if found is not None:
            return found
        if name.startswith("SQLITE_CONSTRAINT"):
            return exc.IntegrityError
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR")):
            return exc.OperationalError
        if name.startswith("SQLITE_CANTOPEN"):
            return exc.ConnectionError
        if name == "SQLITE_ERROR" and "too many SQL variables" in str(error):
            return exc.ParameterError
    found = for_dbapi_class(error, sqlite3)
    if found is not None:
        return found
    if isinstance(error, sqlite3.OperationalError):
        # sqlite3 reports syntax errors and unknown tables as OperationalError (SQLITE_ERROR).
        if name == "SQLITE_ERROR":
            return exc.ProgrammingError
        return exc.OperationalError
    return exc.SQLSpecError


_MYSQL_ERRNO: dict[int, type[exc.SQLSpecError]] = {
    1062: exc.UniqueViolationError,  # ER_DUP_ENTRY
    1586: exc.UniqueViolationError,  # ER_DUP_ENTRY_WITH_KEY_NAME
    1451: exc.ForeignKeyViolationError,  # ER_ROW_IS_REFERENCED_2
    1452: exc.ForeignKeyViolationError,  # ER_NO_REFERENCED_ROW_2
    1216: exc.ForeignKeyViolationError,
    1217: exc.ForeignKeyViolationError,
    1048: exc.NotNullViolationError,  # ER_BAD_NULL_ERROR
    1364: exc.NotNullViolationError,  # ER_NO_DEFAULT_FOR_FIELD
    3819: exc.CheckViolationError,  # MySQL ER_CHECK_CONSTRAINT_VIOLATED
    4025: exc.CheckViolationError,  # MariaDB ER_CONSTRAINT_FAILED
    1969: exc.StatementTimeoutError,  # MariaDB ER_STATEMENT_TIMEOUT (max_statement_time)
    3024: exc.StatementTimeoutError,  # MySQL ER_QUERY_TIMEOUT (max_execution_time)
    1390: exc.ParameterError,  # ER_PS_MANY_PARAM: a prepared statement's 65,535 placeholders
    1213: exc.DeadlockError,  # ER_LOCK_DEADLOCK: the transaction was rolled back
    # ER_CHECKREAD: under MariaDB's innodb_snapshot_isolation, a row changed since the snapshot;
    # the transaction is rolled back, as for a PostgreSQL serialization failure.
    1020: exc.SerializationError,
    # ER_LOCK_WAIT_TIMEOUT is a timeout, not a conflict: InnoDB rolls back only the statement
    # (unless innodb_rollback_on_timeout), so rerunning the whole unit of work is not implied.
    1205: exc.OperationalError,
    1064: exc.ProgrammingError,  # syntax
    1146: exc.ProgrammingError,  # no such table
    1054: exc.ProgrammingError,  # unknown column
    1264: exc.DataError,  # out of range
    1366: exc.DataError,  # incorrect value
    1406: exc.DataError,  # data too long
    1365: exc.DataError,  # division by zero
    2003: exc.ConnectionError,
    2006: exc.ConnectionError,
    2013: exc.ConnectionError,
}


def for_mysql_errno(errno: int | None) -> type[exc.SQLSpecError]:
    """The sqlspec class for a MySQL/MariaDB error number."""
    if errno is None:
        return exc.SQLSpecError
    return _MYSQL_ERRNO.get(errno, exc.SQLSpecError)


def translate(error: BaseException, cls: type[exc.SQLSpecError]) -> exc.SQLSpecError:
    """Build the sqlspec error for ``error``; the caller raises it ``from error``."""
    message = str(error).strip() or type(error).__name__
    return cls(message)


#: Statements longer than this are shortened in error messages.
_STATEMENT_LIMIT = 200


def with_context(error: exc.SQLSpecError, config: Any, sql: str) -> exc.SQLSpecError:
    """Append where a translated driver error happened: the database (``config.location()``:
    the file as an absolute path, or host and database) and the statement, shortened, never its
    parameter values. Returns ``error`` itself (same class; the caller chains the driver's)."""
    shown = " ".join(sql.split())
    if len(shown) > _STATEMENT_LIMIT:
        shown = shown[: _STATEMENT_LIMIT - 3] + "..."
    error.args = (f"{error} ({config.location()}; statement: {shown})",)
    return error


def connect_failure(name: str, error: BaseException) -> exc.ConnectionError:
    """The error for a connection attempt that failed: ``name`` (the config's description,
    secrets hidden, which names the server) and the driver's reason, with the OS's words for
    it when the driver only gave an errno (asyncio says "Connect call failed")."""
    reason = " ".join(str(error).split()) or "the connection attempt timed out"
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            words = os.strerror(seen.errno)
            if words.lower() not in reason.lower():
                reason = f"{reason}: {words}"
            break
        seen = seen.__cause__ or seen.__context__
    else:
        match = _ERRNO.search(reason)
        if match:
            words = os.strerror(int(match.group(1)))
            if words.lower() not in reason.lower():
                reason = f"{reason}: {words}"
    return exc.ConnectionError(f"{name}: cannot connect to the database server: {reason}")


#: An errno quoted in a driver's message ("[Errno 111] Connect call failed ...").
_ERRNO = re.compile(r"\[Errno (\d+)\]")
