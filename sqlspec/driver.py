"""The session API shared by every sync adapter.

A session owns one borrowed connection. Statements go through the same steps on every adapter:
prepare (cached rewrite to the driver's parameter style), bind (checked before the driver runs),
open the transaction if none is open, run, build dict rows from the cursor's description. An
adapter fills in the few hooks that differ (see :class:`SyncDriver`'s ``_`` methods).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from typing_extensions import Self

from sqlspec._session import (
    _SCALARS,
    CLOSED_SESSION_MESSAGE,
    OUTSIDE_TRANSACTION_MESSAGE,
    SessionBase,
    collect_parameters,
    duplicate_columns_error,
    lone_none_as_null,
    raise_failure,
    report_failure,
    source_of,
)
from sqlspec._session import SessionConnection as SessionConnection
from sqlspec._values import too_many_parameters
from sqlspec.exceptions import SQLSpecError, StatementTimeoutError, TransactionError
from sqlspec.observe import HUB, StatementEvent, begin_statement, observes_statements
from sqlspec.protocols import SyncSession
from sqlspec.result import SQLResult
from sqlspec.schema import rows_converter
from sqlspec.statement import PreparedStatement, prepare
from sqlspec.translate import with_context

if TYPE_CHECKING:
    from sqlspec.config import SyncDatabaseConfig

__all__ = ("Cursor", "SessionConnection", "SyncDriver")

_ConnT = TypeVar("_ConnT")
_SchemaT = TypeVar("_SchemaT")


class Cursor(Protocol):
    """What the core reads from a driver cursor after running a statement."""

    @property
    def description(self) -> Sequence[Sequence[Any]] | None: ...
    @property
    def rowcount(self) -> int: ...
    def fetchall(self) -> Sequence[Sequence[Any]]: ...


_STATEMENT_CACHE_SIZE = 4096


class SyncDriver(SessionBase[_ConnT], SyncSession):
    """A database session over one pooled connection.

    Use it as a context manager (``with spec.provide_session(config) as session``): entering
    borrows a connection, leaving rolls back whatever is still uncommitted and returns it.

    The transaction opens at the first statement and ends with :meth:`commit` or :meth:`rollback`
    (or the same calls on :attr:`connection`).
    """

    __slots__ = ()
    _statements: ClassVar[dict[str, PreparedStatement]] = {}

    def __init__(self, config: SyncDatabaseConfig[_ConnT, Any, Any]) -> None:
        self.config = config
        self._connection: _ConnT | None = None
        self._pool: Any = None
        self._rewrite = config.statement_config.rewrite_parameters
        # Decided once per session (DEBUG logging, or a slow-statement threshold): with it off
        # and no observer registered, a statement costs two attribute reads.
        self._log = observes_statements(config)
        #: A label put on logged statements (the Flask extension sets the endpoint).
        self.log_context: str | None = None
        self._wrote = False
        # True until a statement of the session has run: only then may a statement that finds
        # the pooled connection dead be rerun on a fresh one.
        self._fresh = True

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._connection is None:
            self._pool = self.config.get_pool()
            self._connection = self._pool.acquire()
            self._fresh = True
            self._on_acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Roll back anything uncommitted and return the connection to its pool (idempotent)."""
        conn, self._connection = self._connection, None
        self._wrote = False
        if conn is not None and self._pool is not None:
            self._pool.release(conn)
            self._pool = None

    @property
    def connection(self) -> Any:
        """The connection for driver-level calls; its ``commit()``/``rollback()`` end this
        session's transaction."""
        return self._open_connection()

    def _open_connection(self) -> _ConnT:
        conn = self._connection
        if conn is None:
            raise SQLSpecError(CLOSED_SESSION_MESSAGE)
        return conn

    # -- statements ----------------------------------------------------------------------------

    def _prepare(self, sql: str) -> PreparedStatement:
        if not self._rewrite:
            return PreparedStatement.passthrough(sql, self.parameter_style)
        cache = self._statements
        stmt = cache.get(sql)
        if stmt is None:
            stmt = prepare(sql, self.parameter_style, self.dialect)
            limit = self.parameter_limit
            if limit is not None and len(stmt.order) > limit:
                raise too_many_parameters(stmt, limit, type(self.config).__name__)
            if len(cache) >= _STATEMENT_CACHE_SIZE:
                cache.clear()
            cache[sql] = stmt
        return stmt

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # One prepared-statement dict per driver (one parameter style): a plain dict lookup is
        # the cheapest cache hit on the hot path.
        cls._statements = {}

    def _execute(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> SQLResult[Any]:
        """:meth:`execute`: its typed signature (the overloads) is the protocol's."""
        stmt = self._statements.get(sql) if self._rewrite else None
        if stmt is None:
            stmt = self._prepare(sql)
        # Fast paths: one tuple already in the driver's order goes to the driver as it is, and
        # so does one scalar for a statement with one placeholder (what binding would return).
        if (
            len(parameters) == 1
            and not named
            and (
                (parameters[0].__class__ is tuple and len(parameters[0]) == stmt.direct_length)
                or (stmt.direct_length == 1 and parameters[0].__class__ in _SCALARS)
            )
        ):
            params: Sequence[Any] = (
                parameters[0] if parameters[0].__class__ is tuple else parameters
            )
        else:
            params = stmt.bind(
                lone_none_as_null(stmt, parameters, collect_parameters(parameters, named))
            )
        conn = self._connection
        if conn is None:
            conn = self._open_connection()
        event = (
            begin_statement(self, "execute", sql, params) if self._log or HUB.observers else None
        )
        try:
            self._begin_implicit(conn)
            cursor = self._run(conn, stmt.sql, params)
            names = self._column_names(cursor)
            if names is not None:
                raw_rows = cursor.fetchall()
            rowcount = cursor.rowcount
        except BaseException as error:
            self._raise_unless_rerun(error, event, stmt)
            return self._execute(sql, *parameters, schema_type=schema_type, **named)
        self._fresh = False
        if stmt.writes:
            self._wrote = True
        if event is not None:
            event.finish(rowcount, None if names is None else len(raw_rows))
        if names is None:
            return SQLResult(sql, [], (), rowcount, self._last_inserted_id(cursor))
        rows: list[Any] = [dict(zip(names, row)) for row in raw_rows]  # noqa: B905 (hot path)
        del raw_rows
        if (len(rows[0]) if rows else len(set(names))) != len(names):
            raise duplicate_columns_error(names)
        if schema_type is not None:
            rows = rows_converter(schema_type)(rows)  # type: ignore[arg-type]
        return SQLResult(sql, rows, names, rowcount if rowcount >= 0 else len(rows))

    if not TYPE_CHECKING:  # type checkers see the protocol's overloads of execute()
        execute = _execute

    def execute_many(
        self, sql: str, parameters: Iterable[Sequence[Any] | Mapping[str, Any]], /
    ) -> SQLResult[dict[str, Any]]:
        """Run one statement once per parameter row (the driver's ``executemany``)."""
        stmt, rows = self._bound_rows(sql, parameters)
        if not rows:
            return SQLResult(sql, [], (), 0)
        conn = self._open_connection()
        event = self._observed("execute_many", sql, rows)
        while True:
            try:
                self._begin_implicit(conn)
                cursor = self._run_many(conn, stmt.sql, rows)
                rowcount = cursor.rowcount
                break
            except BaseException as error:
                self._raise_unless_rerun(error, event, stmt)
                conn = self._open_connection()
        self._ran(stmt.writes, event, rowcount)
        return SQLResult(sql, [], (), rowcount)

    def execute_script(self, sql: str, /, *, transaction: bool = True) -> None:
        """Run several ``;``-separated statements (no parameters) inside the session's
        transaction.

        ``transaction=False`` runs them outside any transaction instead, each committed by the
        database as it completes, for statements a database refuses inside one (PostgreSQL's
        ``CREATE INDEX CONCURRENTLY``, SQLite's ``VACUUM``); it raises
        :class:`~sqlspec.exceptions.TransactionError` while the session has a transaction open
        (commit or roll back first). PostgreSQL runs a multi-statement string as one implicit
        transaction, so give it such statements one at a time.
        """
        conn = self._open_connection()
        event = self._observed("execute_script", sql)
        while True:
            try:
                if transaction:
                    self._begin_implicit(conn)
                    self._run_script(conn, sql)
                else:
                    if self._in_transaction(conn):
                        raise TransactionError(OUTSIDE_TRANSACTION_MESSAGE)
                    self._run_outside_transaction(conn, sql)
                break
            except BaseException as error:
                self._raise_unless_rerun(error, event, sql)
                conn = self._open_connection()
        self._ran(True, event)  # scripts are taken to write (they are schema and data loads)

    # -- transactions --------------------------------------------------------------------------

    def begin(self) -> None:
        """Open the transaction now rather than at the next statement."""
        conn = self._open_connection()
        if getattr(conn, "sqlspec_isolated", False):
            return  # inside sqlspec.testing.isolated(): the savepoint is this session's transaction
        if self._in_transaction(conn):
            raise TransactionError("a transaction is already open on this session")
        try:
            self._begin(conn)
        except BaseException as error:
            self._raise_unless_rerun(error, None, "BEGIN")
            self.begin()
            return
        self._fresh = False

    def commit(self) -> None:
        """Commit the open transaction (no-op when none is open)."""
        conn = self._open_connection()
        self._wrote = False
        try:
            self._commit(conn)
        except self.driver_errors as error:
            raise self._failed(error, "COMMIT", committing=True) from error

    def rollback(self) -> None:
        """Roll back the open transaction (no-op when none is open; also when the connection
        was lost, since the server has then rolled the transaction back itself)."""
        conn = self._open_connection()
        self._wrote = False
        try:
            self._rollback(conn)
        except self.driver_errors as error:
            if self._is_disconnect(error, conn):
                return
            raise with_context(self._translate(error), self.config, "ROLLBACK") from error

    # -- failures and lost connections ---------------------------------------------------------

    def _raise_unless_rerun(
        self, error: BaseException, event: StatementEvent | None, stmt: PreparedStatement | str
    ) -> None:
        """After running ``stmt`` (a prepared statement, or a script's or ``BEGIN``'s text)
        raised ``error``: return when the statement is to be rerun on the fresh connection
        :meth:`_reconnected` borrowed; otherwise raise the error to show (a driver error
        translated), reported to the statement's observers."""
        if not isinstance(error, self.driver_errors):
            raise_failure(event, error, stmt)
        conn = self._connection
        if self._fresh and conn is not None and self._reconnected(error, conn):
            return
        raise report_failure(event, self._failed(error, source_of(stmt)), error) from error

    def _reconnected(self, error: BaseException, conn: _ConnT) -> bool:
        """After the session's first statement failed: if ``conn`` turned out dead, discard it
        (and the idle connections that died with it) and borrow a fresh one for a single rerun.

        Safe because nothing of this session had run: the failed statement ran, if at all, in
        a transaction the dead connection's server rolled back.
        """
        pool = self._pool
        if (
            pool is None
            or getattr(conn, "sqlspec_isolated", False)
            or not self._is_disconnect(error, conn)
        ):
            return False
        self._connection = None
        self._pool = None
        pool.discard_dead(conn)
        fresh = pool.acquire()  # server down: its ConnectionError says so
        self._adopt(pool, fresh)
        return True

    # -- adapter hooks -------------------------------------------------------------------------

    def _begin_implicit(self, conn: _ConnT) -> None:
        """Open a transaction if none is open (before every statement)."""

    def _run(self, conn: _ConnT, sql: str, params: Sequence[Any]) -> Cursor:
        raise NotImplementedError

    def _run_many(self, conn: _ConnT, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        raise NotImplementedError

    def _run_script(self, conn: _ConnT, sql: str) -> None:
        raise NotImplementedError

    def _run_outside_transaction(self, conn: _ConnT, sql: str) -> None:
        """Run a script in the database's autocommit mode. The default suits drivers that run
        statements on their own until the session sends ``BEGIN`` (sqlite3, DuckDB)."""
        self._run_script(conn, sql)

    def _last_inserted_id(self, cursor: Any) -> Any:
        return None

    def _column_names(self, cursor: Any) -> tuple[str, ...] | None:
        """The result set's column names, ``None`` when the statement returned no result set."""
        description = cursor.description
        return tuple([column[0] for column in description]) if description else None

    def _begin(self, conn: _ConnT) -> None:
        raise NotImplementedError

    def _commit(self, conn: _ConnT) -> None:
        conn.commit()  # type: ignore[attr-defined]

    def _rollback(self, conn: _ConnT) -> None:
        conn.rollback()  # type: ignore[attr-defined]

    def _failed(self, error: BaseException, sql: str, *, committing: bool = False) -> SQLSpecError:
        """The sqlspec error for a driver error while running ``sql``, naming the database and
        the statement: a clear one when the connection died. After a statement timeout the
        transaction is rolled back first, so the session (and its connection) can go on."""
        translated = self._error_for(self.config, error, sql, committing)
        conn = self._connection
        if conn is not None and isinstance(translated, StatementTimeoutError):
            with contextlib.suppress(*self.driver_errors):
                self._rollback(conn)
        return translated
