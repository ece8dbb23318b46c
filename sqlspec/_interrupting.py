"""Statement timeouts for embedded databases that stop a running statement when another thread
calls the connection's ``interrupt()`` (sqlite3, duckdb): the process's watchdog thread calls
it once a statement runs past the config's ``statement_timeout``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlspec._timeouts import Materialized, Timer, watchdog
from sqlspec.driver import Cursor, SyncDriver
from sqlspec.exceptions import SQLSpecError, StatementTimeoutError

_ConnT = TypeVar("_ConnT")


class InterruptedPastTimeout(SyncDriver[_ConnT]):
    """A sync driver whose statements are interrupted once they run past ``statement_timeout``.

    List it before the adapter's driver class; the subclass adds ``"_timer"`` to its
    ``__slots__``, says which driver error an interrupt raises (:meth:`_is_interrupt`) and runs
    scripts (one limit per statement or per script). Rows are read while the limit is armed,
    since an embedded database may run a query as its rows are fetched. A statement stopped by
    the watchdog raises :class:`~sqlspec.exceptions.StatementTimeoutError`.
    """

    # The concrete driver declares the "_timer" slot (two bases with slots of their own cannot
    # be combined), hence the ignores on the assignments below.
    __slots__ = ()
    _timer: Timer | None

    def _is_interrupt(self, error: BaseException) -> bool:
        raise NotImplementedError

    def _on_acquire(self) -> None:
        super()._on_acquire()
        self._timer = None  # type: ignore[misc]

    def _arm(self, conn: _ConnT) -> Timer:
        timer = watchdog().arm(self.config.statement_timeout, conn.interrupt)  # type: ignore[attr-defined]
        self._timer = timer  # type: ignore[misc]
        return timer

    def _run(self, conn: _ConnT, sql: str, params: Sequence[Any]) -> Cursor:
        timer = self._arm(conn)
        try:
            cursor = super()._run(conn, sql, params)
            description = cursor.description
            if description is None:
                return cursor
            return Materialized(description, cursor.fetchall(), cursor.rowcount, None)
        finally:
            watchdog().disarm(timer)

    def _run_many(self, conn: _ConnT, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        timer = self._arm(conn)
        try:
            return super()._run_many(conn, sql, rows)
        finally:
            watchdog().disarm(timer)

    def _translate(self, error: BaseException) -> SQLSpecError:
        timer = self._timer
        self._timer = None  # type: ignore[misc]
        if timer is not None and timer.fired and self._is_interrupt(error):
            return StatementTimeoutError(
                f"{self.config.describe()}: the statement ran past statement_timeout "
                f"({timer.seconds:g} s) and was interrupted; the transaction is rolled back"
            )
        return super()._translate(error)
