"""The sync facade over an async session: what ``config.provide_sync_session()`` returns for an
async config (and the Flask plugin's ``get_session()`` in a sync view).

Each method runs the async session's coroutine of the same name on the :mod:`portal
<sqlspec.portal>`'s event loop and returns its plain result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, overload

from sqlspec.async_driver import RECOVERY_TIMEOUT, AsyncDriver, view_of
from sqlspec.driver import CLOSED_SESSION_MESSAGE, SessionConnection
from sqlspec.exceptions import PortalTimeoutError
from sqlspec.observe import HUB, mark_caller, unmark_caller
from sqlspec.portal import Portal, get_portal
from sqlspec.result import SQLResult

__all__ = ("PortalSession",)

logger = logging.getLogger("sqlspec.driver")

SchemaT = TypeVar("SchemaT")


class PortalSession:
    """The sync session API over an :class:`AsyncDriver`, for sync code (Flask views).

    Every method runs the async session's coroutine of the same name on the portal's event loop
    and returns its plain result: ``db.execute("SELECT * FROM users").all()`` is a list of dicts.
    Use it as a context manager (or call :meth:`close`). Each call may take ``portal_timeout``
    seconds (the config's); past that it is cancelled, the session's transaction is rolled back
    (or its connection discarded) and :class:`~sqlspec.exceptions.PortalTimeoutError` is raised.
    """

    __slots__ = ("_call", "_connection_view", "_portal", "_session", "_timeout", "config")

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
        self._connection_view: SessionConnection | None = None
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

    def _run(self, coro: Any, what: str) -> Any:
        # The portal runs the call in a copy of this thread's context; observers also want the
        # caller's source location, which the portal thread's stack does not show.
        mark = mark_caller() if HUB.wants_location else None
        try:
            return self._call(coro, self._timeout, what)
        except PortalTimeoutError as error:
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
            logger.warning("could not clean up after a portal timeout", exc_info=True)
            return "cleaning up failed too; open a new session"
        if self._session.closed:
            return "its connection was discarded; open a new session"
        return "the session's transaction was rolled back"

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> PortalSession:
        if self._session.closed:
            self._run(self._session.__aenter__(), "borrowing a connection")
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
        if not self._session.closed:
            self._run(self._session.close(), "returning the connection")

    @property
    def closed(self) -> bool:
        return self._session.closed

    @property
    def connection(self) -> Any:
        """The driver connection; its ``commit()``/``rollback()`` end this session's transaction
        (run on the portal, so they work from sync code for every adapter)."""
        return view_of(self, self._session._open_connection())

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open on this session."""
        return self._session.in_transaction

    @property
    def pending_writes(self) -> bool:
        """True when a statement that writes ran in the open transaction (a hint for logs)."""
        return self._session.pending_writes

    # -- statements ----------------------------------------------------------------------------

    @overload
    def execute(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> SQLResult[dict[str, Any]]: ...
    @overload
    def execute(
        self, sql: str, /, *parameters: Any, schema_type: type[SchemaT], **named: Any
    ) -> SQLResult[SchemaT]: ...
    def execute(
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

    @overload
    def select(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> list[dict[str, Any]]: ...
    @overload
    def select(
        self, sql: str, /, *parameters: Any, schema_type: type[SchemaT], **named: Any
    ) -> list[SchemaT]: ...
    def select(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> list[Any]:
        """Return every row of a query."""
        return self._run(  # type: ignore[no-any-return]
            self._session.select(sql, *parameters, schema_type=schema_type, **named), sql
        )

    @overload
    def select_one(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> dict[str, Any]: ...
    @overload
    def select_one(
        self, sql: str, /, *parameters: Any, schema_type: type[SchemaT], **named: Any
    ) -> SchemaT: ...
    def select_one(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> Any:
        """Return the only row; raise when there is none or several."""
        return self._run(
            self._session.select_one(sql, *parameters, schema_type=schema_type, **named), sql
        )

    @overload
    def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> dict[str, Any] | None: ...
    @overload
    def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: type[SchemaT], **named: Any
    ) -> SchemaT | None: ...
    def select_one_or_none(
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

    def commit(self) -> None:
        """Commit the open transaction (no-op when none is open)."""
        self._run(self._session.commit(), "COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction (no-op when none is open)."""
        self._run(self._session.rollback(), "ROLLBACK")

    def __repr__(self) -> str:
        state = "closed" if self._session.closed else "open"
        return f"<PortalSession {state} {self.config.describe()}>"
