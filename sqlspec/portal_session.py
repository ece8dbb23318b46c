"""The sync facade over an async session: what ``config.provide_sync_session()`` returns for an
async config (and the Flask plugin's ``get_session()`` in a sync view).

Each method runs the async session's coroutine of the same name on the :mod:`portal
<sqlspec.portal>`'s event loop and returns its plain result. A thread hop onto the loop costs more
than the driver work of a short statement, so a request makes as few as it can: a session opened
with :meth:`~PortalSession.open_lazily` borrows at its first operation, in that operation's hop
(borrow, ``BEGIN`` and statement in one), and ``commit(release=True)`` / ``rollback(release=True)``
end the transaction and return the connection in one hop (what the Flask plugin does per request).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlspec._session import CLOSED_SESSION_MESSAGE, RECOVERY_TIMEOUT, SessionConnection
from sqlspec.async_driver import AsyncDriver
from sqlspec.exceptions import PortalTimeoutError
from sqlspec.observe import HUB, mark_caller, unmark_caller
from sqlspec.portal import Portal, get_portal
from sqlspec.protocols import SyncSession
from sqlspec.result import SQLResult

__all__ = ("PortalSession",)

_logger = logging.getLogger("sqlspec.driver")

_T = TypeVar("_T")


async def _borrowing(session: AsyncDriver[Any], operation: Coroutine[Any, Any, _T]) -> _T:
    """Borrow the session's connection, then run ``operation`` (which opens the transaction):
    both on the loop, so the caller pays one hop for them."""
    try:
        await session.__aenter__()
    except BaseException:
        operation.close()
        raise
    return await operation


async def _releasing(session: AsyncDriver[Any], operation: Coroutine[Any, Any, None]) -> None:
    """Run ``operation`` (a commit or rollback), then return the connection, whatever happened."""
    try:
        await operation
    finally:
        await session.close()


class _FacadeConnection(SessionConnection):
    """The facade's connection view: the driver connection is the session's current one,
    borrowed (one hop) when a driver-level attribute is first needed; ``commit()`` and
    ``rollback()`` need none."""

    __slots__ = ()

    @property
    def raw(self) -> Any:
        """The driver's own connection object."""
        return self._session._current_connection()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    def __repr__(self) -> str:
        return f"<SessionConnection of {self._session!r}>"


class PortalSession:
    """The sync session API over an :class:`AsyncDriver`, for sync code (Flask views).

    Every method runs the async session's coroutine of the same name on the portal's event loop
    and returns its plain result: ``db.execute("SELECT * FROM users").all()`` is a list of dicts.
    Use it as a context manager (or call :meth:`close`). Each call may take ``portal_timeout``
    seconds (the config's); past that it is cancelled, the session's transaction is rolled back
    (or its connection discarded) and :class:`~sqlspec.exceptions.PortalTimeoutError` is raised.
    """

    __slots__ = ("_call", "_entered", "_portal", "_session", "_timeout", "_view", "config")

    def __init__(
        self,
        session: AsyncDriver[Any],
        portal: Portal | None = None,
        timeout: float | None = None,
    ) -> None:
        if portal is None:
            portal = get_portal()
        self._session = session
        session._closed_message = CLOSED_SESSION_MESSAGE
        self.config = session.config
        self._portal = portal
        # Entered and not closed since: an operation without a connection borrows one first.
        self._entered = False
        self._view = _FacadeConnection(self, None)
        self._call = portal.call
        self._timeout = session.config.portal_timeout if timeout is None else timeout

    @property
    def session(self) -> AsyncDriver[Any]:
        """The async session the calls run on."""
        return self._session

    @property
    def log_context(self) -> str | None:
        """The label put on this session's logged statements."""
        return self._session.log_context

    @log_context.setter
    def log_context(self, value: str | None) -> None:
        self._session.log_context = value

    def _pending(self) -> bool:
        """True when the session is open but holds no connection yet (:meth:`open_lazily`, or
        released by ``commit(release=True)``), so its next operation borrows first."""
        session = self._session
        return self._entered and session._connection is None and session._lost is None

    def _current_connection(self) -> Any:
        self.borrow()
        return self._session._open_connection()

    def borrow(self) -> None:
        """Borrow the connection now if the session was opened lazily or released (one hop);
        a no-op when it holds one."""
        if self._session._connection is None and self._pending():
            self._run(self._session.__aenter__(), "borrowing a connection")

    def _run(self, coro: Any, what: str) -> Any:
        borrowing = self._session._connection is None and self._pending()
        if borrowing:
            coro = _borrowing(self._session, coro)
        # The portal runs the call in a copy of this thread's context; observers also want the
        # caller's source location, which the portal thread's stack does not show.
        mark = mark_caller() if HUB.wants_location else None
        try:
            return self._call(coro, self._timeout, what)
        except PortalTimeoutError as error:
            if borrowing and self._session._connection is None:
                what = "borrowing a connection"  # the limit passed before the operation began
            raise self._after_timeout(error, what) from error
        finally:
            if mark is not None:
                unmark_caller(mark)

    def _after_timeout(self, error: PortalTimeoutError, what: str) -> PortalTimeoutError:
        """Roll back (or discard) the connection the timed-out operation left behind."""
        outcome = "the session holds no connection"
        if not self._session.closed:
            outcome = self._recover()
        shown = " ".join(what.split())
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return PortalTimeoutError(
            f"{self.config.describe()}: {shown!r} did not finish within the portal timeout of "
            f"{self._timeout:g} s and was cancelled; {outcome}. Make it faster, or raise the "
            f"limit with {type(self.config).__name__}(..., portal_timeout=<seconds>)"
        )

    def _recover(self) -> str:
        try:
            self._call(self._session._recover(), RECOVERY_TIMEOUT + 1.0, "recovery")
        except Exception:
            _logger.warning("could not clean up after a portal timeout", exc_info=True)
            return "cleaning up failed too; open a new session"
        if self._session.closed:
            return "its connection was discarded; open a new session"
        return "the session's transaction was rolled back"

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> PortalSession:
        if self._session.closed and not self._pending():  # opened lazily: it borrows later
            self._run(self._session.__aenter__(), "borrowing a connection")
        self._entered = True
        return self

    def open_lazily(self) -> PortalSession:
        """Open the session without borrowing yet (what the Flask plugin does): its first
        operation borrows the connection, opens the transaction and runs in one hop, and a pool
        timeout or an unreachable server is raised by that operation. A session opened so and
        never used costs no hop at all; ``with session.open_lazily():`` stays lazy."""
        session = self._session
        if session._connection is None:
            session._lost = None
            self._entered = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Roll back anything uncommitted and return the connection to its pool (idempotent)."""
        self._entered = False
        if self._session._connection is not None:
            self._run(self._session.close(), "returning the connection")

    @property
    def closed(self) -> bool:
        """True when the session holds no connection and will not borrow one (not entered,
        closed, or its connection was discarded)."""
        return self._session._connection is None and not self._pending()

    @property
    def connection(self) -> Any:
        """The driver connection; its ``commit()``/``rollback()`` end this session's transaction
        (run on the portal, so they work from sync code for every adapter)."""
        if self._session._connection is None and not self._pending():
            self._session._open_connection()  # raises: closed, or the connection was discarded
        return self._view

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open on this session."""
        if self._pending():
            return False
        return self._session.in_transaction

    @property
    def pending_writes(self) -> bool:
        """True when a statement that writes ran in the open transaction (a hint for logs)."""
        return self._session.pending_writes

    # -- statements ----------------------------------------------------------------------------

    def _execute(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> SQLResult[Any]:
        """Run one statement and return its result (see :meth:`AsyncDriver.execute`)."""
        return self._run(  # type: ignore[no-any-return]
            self._session.execute(sql, *parameters, schema_type=schema_type, **named), sql
        )

    def execute_many(
        self, sql: str, parameters: Iterable[Sequence[Any] | Mapping[str, Any]], /
    ) -> SQLResult[dict[str, Any]]:
        """Run one statement once per parameter row."""
        return self._run(self._session.execute_many(sql, parameters), sql)  # type: ignore[no-any-return]

    def execute_script(self, sql: str, /, *, transaction: bool = True) -> None:
        """Run several ``;``-separated statements inside the session's transaction
        (``transaction=False``: outside any, see :meth:`AsyncDriver.execute_script`)."""
        self._run(self._session.execute_script(sql, transaction=transaction), sql)

    def _select(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> list[Any]:
        """Return every row of a query."""
        return self._run(  # type: ignore[no-any-return]
            self._session.select(sql, *parameters, schema_type=schema_type, **named), sql
        )

    def _select_one(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> Any:
        """Return the only row; raise when there is none or several."""
        return self._run(
            self._session.select_one(sql, *parameters, schema_type=schema_type, **named), sql
        )

    def _select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> Any:
        """Return the only row or ``None``; raise when several rows came back."""
        return self._run(
            self._session.select_one_or_none(sql, *parameters, schema_type=schema_type, **named),
            sql,
        )

    def select_value(self, sql: str, /, *parameters: Any, **named: Any) -> Any:
        """Return the first column of the only row."""
        return self._run(self._session.select_value(sql, *parameters, **named), sql)

    def select_value_or_none(self, sql: str, /, *parameters: Any, **named: Any) -> Any:
        """Return the first column of the only row, or ``None`` when there is no row."""
        return self._run(self._session.select_value_or_none(sql, *parameters, **named), sql)

    # -- transactions --------------------------------------------------------------------------

    def begin(self) -> None:
        """Open the transaction now rather than at the next statement."""
        self._run(self._session.begin(), "BEGIN")

    def commit(self, *, release: bool = False) -> None:
        """Commit the open transaction (no-op when none is open).

        ``release=True`` also returns the connection to its pool, in the same hop, whether the
        commit succeeded or not; the session stays open and borrows again at its next use.
        """
        self._end(self._session.commit(), "COMMIT", release)

    def rollback(self, *, release: bool = False) -> None:
        """Roll back the open transaction (no-op when none is open); ``release=True`` as for
        :meth:`commit`."""
        self._end(self._session.rollback(), "ROLLBACK", release)

    def _end(self, coro: Coroutine[Any, Any, None], what: str, release: bool) -> None:
        if self._session._connection is None and self._pending():
            coro.close()  # nothing borrowed, so no transaction to end
            return
        self._run(_releasing(self._session, coro) if release else coro, what)

    # The typed signatures (overloads by schema_type) are the protocol's, stated once.
    if TYPE_CHECKING:
        execute = SyncSession.execute
        select = SyncSession.select
        select_one = SyncSession.select_one
        select_one_or_none = SyncSession.select_one_or_none
    else:
        execute, select, select_one = _execute, _select, _select_one
        select_one_or_none = _select_one_or_none

    def __repr__(self) -> str:
        state = "closed" if self._session.closed else "open"
        return f"<PortalSession {state} {self.config.describe()}>"
