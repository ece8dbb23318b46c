"""The session API for async adapters.

:class:`AsyncDriver` is :class:`~sqlspec.driver.SyncDriver` with coroutines: the same method
names, parameter styles, results, errors and transaction model (a transaction opens at the first
statement; ``commit()``/``rollback()`` end it; leaving the ``async with`` block rolls back what is
left and returns the connection).

An operation that is interrupted (its task cancelled, or a portal timeout) leaves the connection
in an unknown state; the session then rolls it back before anything else runs on it, or discards
it when the adapter cannot make it healthy, so it is never handed to the next borrower half-broken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import Self

from sqlspec._session import (
    OUTSIDE_TRANSACTION_MESSAGE,
    RECOVERY_TIMEOUT,
    SessionBase,
    SessionConnection,
    collect_parameters,
    column_names,
    lone_none_as_null,
    raise_failure,
    report_failure,
    source_of,
    view_of,
)
from sqlspec._values import UnbindableValue, too_many_parameters
from sqlspec.exceptions import SQLSpecError, StatementTimeoutError, TransactionError
from sqlspec.observe import HUB, StatementEvent, begin_statement, observes_statements
from sqlspec.protocols import AsyncSession
from sqlspec.result import SQLResult
from sqlspec.schema import rows_converter
from sqlspec.statement import PreparedStatement, prepare
from sqlspec.translate import with_context

if TYPE_CHECKING:
    from sqlspec.config import AsyncDatabaseConfig, AsyncPool

__all__ = ("AsyncDriver", "Fetched")

_logger = logging.getLogger("sqlspec.driver")

_ConnT = TypeVar("_ConnT")
_SchemaT = TypeVar("_SchemaT")

#: What an adapter's ``_run`` returns: (description or ``None`` when the statement returned no
#: result set, the rows as sequences, rowcount or -1, last inserted id or ``None``). Column names
#: are ``description[i][0]``.
Fetched = tuple[Sequence[Sequence[Any]] | None, Sequence[Sequence[Any]], int, Any]


class AsyncDriver(SessionBase[_ConnT], AsyncSession):
    """An async database session over one pooled connection.

    Use it as an async context manager (``async with config.provide_session() as session``):
    entering borrows a connection, leaving rolls back whatever is still uncommitted and returns
    it. The transaction opens at the first statement and ends with :meth:`commit` or
    :meth:`rollback` (or the same calls on :attr:`connection`).
    """

    __slots__ = ("_busy", "_closed_message", "_connection_view", "_lost")

    def __init__(self, config: AsyncDatabaseConfig[_ConnT, Any, Any]) -> None:
        self.config = config
        self._connection: _ConnT | None = None
        self._connection_view: SessionConnection | None = None
        self._pool: AsyncPool[_ConnT] | None = None
        self._rewrite = config.statement_config.rewrite_parameters
        # True while an operation is under way on the connection; still True afterwards means
        # it was interrupted.
        self._busy = False
        self._lost: str | None = None
        # True until a statement of the session has run (see SyncDriver).
        self._fresh = True
        #: What using the session closed says (the sync facade replaces it with sync advice).
        self._closed_message = (
            "this session is closed or was never opened: use it inside `async with "
            "config.provide_session() as session:`"
        )
        self._log = observes_statements(config)
        #: A label put on logged statements (the Flask extension sets the endpoint).
        self.log_context: str | None = None
        self._wrote = False
        self._on_acquire()

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._connection is None:
            pool = await self.config.get_pool()
            self._connection = await pool.acquire()
            self._pool = pool
            self._busy = False
            self._lost = None
            self._fresh = True
            self._on_acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Roll back anything uncommitted and return the connection to its pool (idempotent)."""
        if self._busy:
            await self._recover()
        conn, self._connection = self._connection, None
        pool, self._pool = self._pool, None
        self._wrote = False
        if conn is not None and pool is not None:
            # Shielded: even if this task is cancelled, the connection goes back (or is closed).
            await asyncio.shield(pool.release(conn))

    @property
    def connection(self) -> Any:
        """The connection for driver-level calls; ``await session.connection.commit()`` /
        ``rollback()`` end this session's transaction."""
        return view_of(self, self._open_connection())

    def _open_connection(self) -> _ConnT:
        conn = self._connection
        if conn is None:
            if self._lost is not None:
                raise SQLSpecError(self._lost)
            raise SQLSpecError(self._closed_message)
        return conn

    async def _usable_connection(self) -> _ConnT:
        """The connection, after cleaning up an interrupted operation if there was one."""
        if self._busy:
            await self._recover()
        return self._open_connection()

    async def _recover(self) -> None:
        """Make the connection healthy after an interrupted operation (roll back), or discard
        it when that fails or the adapter cannot tell its state."""
        conn = self._connection
        self._busy = False
        if conn is None:
            return
        try:
            healthy = await asyncio.wait_for(self._reset_interrupted(conn), RECOVERY_TIMEOUT)
        except Exception:
            _logger.warning(
                "%s: could not roll back a connection after an interrupted operation; "
                "discarding it",
                self.config.describe(),
                exc_info=True,
            )
            healthy = False
        if healthy:
            return
        self._connection = None
        self._lost = (
            "this session's connection was discarded after an interrupted operation (timeout or "
            "cancellation) left it in an unknown state; open a new session"
        )
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.shield(pool.discard(conn))

    # -- statements ----------------------------------------------------------------------------

    def _prepare(self, sql: str) -> PreparedStatement:
        if self._rewrite:
            stmt = prepare(sql, self.parameter_style, self.dialect)
            limit = self.parameter_limit
            if limit is not None and len(stmt.order) > limit:
                raise too_many_parameters(stmt, limit, type(self.config).__name__)
            return stmt
        return PreparedStatement.passthrough(sql, self.parameter_style)

    async def _execute(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> SQLResult[Any]:
        """:meth:`execute`: its typed signature (the overloads) is the protocol's."""
        stmt = self._prepare(sql)
        params = stmt.bind(
            lone_none_as_null(stmt, parameters, collect_parameters(parameters, named))
        )
        conn = self._connection
        if conn is None or self._busy:
            conn = await self._usable_connection()
        event = (
            begin_statement(self, "execute", sql, params) if self._log or HUB.observers else None
        )
        self._busy = True
        try:
            await self._begin_implicit(conn)
            description, raw_rows, rowcount, last_id = await self._run(conn, stmt.sql, params)
        except BaseException as error:
            await self._raise_unless_rerun(error, event, stmt)
            return await self._execute(sql, *parameters, schema_type=schema_type, **named)
        self._busy = False
        self._fresh = False
        if stmt.writes:
            self._wrote = True
        if event is not None:
            event.finish(rowcount, len(raw_rows) if description else None)
        if not description:
            return SQLResult(sql, [], (), rowcount, last_id)
        names = column_names(description)
        rows: list[Any] = [dict(zip(names, row, strict=False)) for row in raw_rows]
        if schema_type is not None:
            rows = rows_converter(schema_type)(rows)  # type: ignore[arg-type]
        return SQLResult(sql, rows, names, rowcount if rowcount >= 0 else len(rows))

    if not TYPE_CHECKING:  # type checkers see the protocol's overloads of execute()
        execute = _execute

    async def execute_many(
        self, sql: str, parameters: Iterable[Sequence[Any] | Mapping[str, Any]], /
    ) -> SQLResult[dict[str, Any]]:
        """Run one statement once per parameter row (the driver's ``executemany``, awaited)."""
        stmt, rows = self._bound_rows(sql, parameters)
        if not rows:
            return SQLResult(sql, [], (), 0)
        conn = await self._usable_connection()
        event = self._observed("execute_many", sql, rows)
        while True:
            self._busy = True
            try:
                await self._begin_implicit(conn)
                rowcount = await self._run_many(conn, stmt.sql, rows)
                break
            except BaseException as error:
                await self._raise_unless_rerun(error, event, stmt)
                conn = self._open_connection()
        self._busy = False
        self._ran(stmt.writes, event, rowcount)
        return SQLResult(sql, [], (), rowcount)

    async def execute_script(self, sql: str, /, *, transaction: bool = True) -> None:
        """Run several ``;``-separated statements (no parameters) inside the session's
        transaction; ``transaction=False`` runs them outside any transaction (see
        :meth:`SyncDriver.execute_script <sqlspec.driver.SyncDriver.execute_script>`)."""
        conn = await self._usable_connection()
        if not transaction and self._in_transaction(conn):
            raise TransactionError(OUTSIDE_TRANSACTION_MESSAGE)
        event = self._observed("execute_script", sql)
        while True:
            self._busy = True
            try:
                if transaction:
                    await self._begin_implicit(conn)
                    await self._run_script(conn, sql)
                else:
                    await self._run_outside_transaction(conn, sql)
                break
            except BaseException as error:
                await self._raise_unless_rerun(error, event, sql)
                conn = self._open_connection()
        self._busy = False
        self._ran(True, event)  # scripts are taken to write (they are schema and data loads)

    # -- transactions --------------------------------------------------------------------------

    async def begin(self) -> None:
        """Open the transaction now rather than at the next statement."""
        conn = await self._usable_connection()
        if self._in_transaction(conn):
            raise TransactionError("a transaction is already open on this session")
        self._busy = True
        try:
            await self._begin(conn)
        except self.driver_errors as error:
            self._busy = False
            if self._fresh and await self._reconnected(error, conn):
                await self.begin()
                return
            raise await self._failed(error, "BEGIN") from error
        self._busy = False
        self._fresh = False

    async def commit(self) -> None:
        """Commit the open transaction (no-op when none is open)."""
        conn = await self._usable_connection()
        self._wrote = False
        self._busy = True
        try:
            await self._commit(conn)
        except self.driver_errors as error:
            self._busy = False
            raise await self._failed(error, "COMMIT", committing=True) from error
        self._busy = False

    async def rollback(self) -> None:
        """Roll back the open transaction (no-op when none is open; also when the connection
        was lost, since the server has then rolled the transaction back itself)."""
        conn = await self._usable_connection()
        self._wrote = False
        self._busy = True
        try:
            await self._rollback(conn)
        except self.driver_errors as error:
            self._busy = False
            if self._is_disconnect(error, conn):
                return
            raise with_context(self._translate(error), self.config, "ROLLBACK") from error
        self._busy = False

    # -- failures and lost connections ---------------------------------------------------------

    async def _raise_unless_rerun(
        self, error: BaseException, event: StatementEvent | None, stmt: PreparedStatement | str
    ) -> None:
        """The async side of ``SyncDriver._raise_unless_rerun`` (return to rerun ``stmt`` on a
        fresh connection, or raise the error to show); an interruption (cancellation, a
        timeout) leaves the session busy, to be recovered."""
        if isinstance(error, UnbindableValue):
            self._busy = False  # refused before anything was sent: the connection is fine
        if not isinstance(error, self.driver_errors):
            raise_failure(event, error, stmt)
        self._busy = False
        conn = self._connection
        if self._fresh and conn is not None and await self._reconnected(error, conn):
            return
        raise report_failure(event, await self._failed(error, source_of(stmt)), error) from error

    async def _reconnected(self, error: BaseException, conn: _ConnT) -> bool:
        """After the session's first statement failed: if ``conn`` turned out dead, discard it
        (and the idle connections that died with it) and borrow a fresh one for a single rerun
        (see :meth:`SyncDriver._reconnected <sqlspec.driver.SyncDriver._reconnected>`)."""
        pool = self._pool
        if pool is None or not self._is_disconnect(error, conn):
            return False
        self._connection = None
        self._pool = None
        await asyncio.shield(pool.discard_dead(conn))
        self._lost = (
            "this session's connection was lost and no new one could be opened; open a new session"
        )
        fresh = await pool.acquire()  # server down: its ConnectionError says so
        self._lost = None
        self._adopt(pool, fresh)
        return True

    # -- adapter hooks -------------------------------------------------------------------------

    async def _begin_implicit(self, conn: _ConnT) -> None:
        """Open a transaction if none is open (before every statement)."""

    async def _run(self, conn: _ConnT, sql: str, params: Sequence[Any]) -> Fetched:
        raise NotImplementedError

    async def _run_many(self, conn: _ConnT, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run ``sql`` once per row; return the rows affected (-1 when the driver cannot tell)."""
        raise NotImplementedError

    async def _run_script(self, conn: _ConnT, sql: str) -> None:
        raise NotImplementedError

    async def _run_outside_transaction(self, conn: _ConnT, sql: str) -> None:
        """Run a script in the database's autocommit mode. The default suits drivers that run
        statements on their own until the session sends ``BEGIN`` (asyncpg, aiosqlite); a
        transaction the server opened anyway (MySQL with autocommit off) is committed."""
        await self._run_script(conn, sql)
        if self._in_transaction(conn):
            await self._commit(conn)

    async def _begin(self, conn: _ConnT) -> None:
        raise NotImplementedError

    async def _commit(self, conn: _ConnT) -> None:
        await conn.commit()  # type: ignore[attr-defined]

    async def _rollback(self, conn: _ConnT) -> None:
        await conn.rollback()  # type: ignore[attr-defined]

    async def _reset_interrupted(self, conn: _ConnT) -> bool:
        """After an interrupted operation: make ``conn`` usable (roll back) and return True, or
        return False to have it discarded."""
        await self._rollback(conn)
        return True

    async def _failed(
        self, error: BaseException, sql: str, *, committing: bool = False
    ) -> SQLSpecError:
        """The sqlspec error for a driver error while running ``sql``, naming the database and
        the statement: a clear one when the connection died. After a statement timeout the
        transaction is rolled back first, so the session (and its connection) can go on; if that
        rollback is interrupted or fails, the connection stays marked busy and is recovered (or
        discarded) before its next use."""
        translated = self._error_for(self.config, error, sql, committing)
        conn = self._connection
        if conn is not None and isinstance(translated, StatementTimeoutError):
            self._busy = True
            try:
                await self._rollback(conn)
            except self.driver_errors:
                _logger.warning(
                    "%s: rolling back after a statement timeout failed",
                    self.config.describe(),
                    exc_info=True,
                )
                return translated
            self._busy = False
        return translated
