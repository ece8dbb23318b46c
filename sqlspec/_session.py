"""What the sync and async sessions share that does no I/O: parameter collection, result-column
checks, the errors and messages they raise, and failure reporting to observers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, NoReturn, TypeVar

from sqlspec._values import UnbindableValue
from sqlspec.exceptions import ConnectionError, ParameterError, ProgrammingError, SQLSpecError
from sqlspec.observe import HUB, StatementEvent, begin_statement
from sqlspec.statement import Dialect, ParamStyle, PreparedStatement
from sqlspec.translate import translate, with_context

ErrorT = TypeVar("ErrorT", bound=BaseException)
ConnT = TypeVar("ConnT")

_SCALARS = frozenset({int, str, float, bool, bytes})


def collect_parameters(
    parameters: tuple[Any, ...], named: dict[str, Any]
) -> Sequence[Any] | Mapping[str, Any] | None:
    """Normalise ``execute(sql, *parameters, **named)`` into one parameter set.

    One tuple/list/dict argument is the parameter set itself; several arguments, or one scalar,
    are positional values; keywords are named values. A list of rows is refused: running a
    statement once per row is :meth:`SyncDriver.execute_many`'s job, never a silent switch.
    """
    if named:
        if parameters:
            raise ParameterError("pass parameters either positionally or as keywords, not both")
        return named
    if len(parameters) != 1:
        return parameters or None
    value = parameters[0]
    if value.__class__ in _SCALARS:
        return parameters
    if value is None:
        return None
    if isinstance(value, tuple | dict):
        return value
    if isinstance(value, list):
        if value and isinstance(value[0], tuple | list | dict):
            raise ParameterError(
                f"execute() got a list of {len(value)} parameter rows; "
                "use execute_many() to run a statement once per row"
            )
        return value
    if isinstance(value, Mapping):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return value
    return parameters


def lone_none_as_null(stmt: PreparedStatement, parameters: tuple[Any, ...], collected: Any) -> Any:
    """``execute(sql, None)`` means "no parameters", except for a statement with exactly one
    positional placeholder, where it is that parameter's NULL value."""
    if collected is None and parameters and stmt.expected == 1 and not stmt.named:
        return parameters
    return collected


#: Seconds the clean-up after an interrupted operation (a rollback) may take before the
#: connection is discarded instead.
RECOVERY_TIMEOUT = 5.0


#: What using a closed session says, from sync code (sync sessions and the async facade).
CLOSED_SESSION_MESSAGE = (
    "this session is closed or was never opened: use it inside `with "
    "spec.provide_session(config) as session:`. In Flask, a session ends with its app context; "
    "a streamed response's generator must call plugin.get_session() itself"
)


#: What ``execute_script(sql, transaction=False)`` says inside an open transaction.
OUTSIDE_TRANSACTION_MESSAGE = (
    "execute_script(..., transaction=False) runs outside any transaction, but this session has "
    "one open; commit() or rollback() first"
)


def duplicate_columns_error(names: Sequence[str]) -> ProgrammingError:
    """The error for a result whose column names repeat (a dict row would silently lose one)."""
    duplicates = sorted({name for name in names if names.count(name) > 1})
    return ProgrammingError(
        f"the result has several columns named {', '.join(map(repr, duplicates))}; "
        "give them distinct aliases (rows are dicts keyed by column name)"
    )


def lost_connection_error(
    config: Any, error: BaseException, *, committing: bool = False
) -> ConnectionError:
    """The error for a statement whose connection died and that is not rerun (statements of
    its session had already run, so their uncommitted work is gone with the connection)."""
    reason = " ".join(str(error).split()) or type(error).__name__
    if committing:
        return ConnectionError(
            f"{config.describe()}: the connection to the database was lost during COMMIT "
            f"({reason}); the transaction may or may not have been committed (COMMIT is never "
            "retried). Check the data before running the unit of work again"
        )
    return ConnectionError(
        f"{config.describe()}: the connection to the database was lost ({reason}). Its "
        "uncommitted work, if any, was rolled back by the server; the statement was not "
        "rerun (only a session's first statement is, on a fresh connection). Open a new "
        "session and run the whole unit of work again"
    )


def column_names(description: Sequence[Sequence[Any]]) -> tuple[str, ...]:
    """Column names of a result set; duplicate names are refused (dict rows would lose one)."""
    names = tuple([column[0] for column in description])
    if len(set(names)) != len(names):
        raise duplicate_columns_error(names)
    return names


def report_failure(
    event: StatementEvent | None, error: ErrorT, cause: BaseException | None = None
) -> ErrorT:
    """Report a statement's failure to its observers; returns ``error`` to raise (its
    ``__cause__``, the driver's error, is set first so observers can read it)."""
    if event is not None:
        if cause is not None:
            error.__cause__ = cause
        event.fail(error)
    return error


def raise_failure(
    event: StatementEvent | None, error: BaseException, stmt: PreparedStatement | str
) -> NoReturn:
    """Raise a statement's failure that is not a driver error, reported to its observers: a
    value the driver could not bind becomes the :class:`~sqlspec.exceptions.DataError` that
    names its parameter; anything else (an interruption, a sqlspec error) is raised as it is."""
    if isinstance(error, UnbindableValue) and not isinstance(stmt, str):
        cause = error.__cause__
        raise report_failure(event, error.data_error(stmt), cause) from cause
    report_failure(event, error)
    raise error


def source_of(stmt: PreparedStatement | str) -> str:
    """The statement's text as the user wrote it (what error messages quote)."""
    return stmt if isinstance(stmt, str) else stmt.source


class SessionConnection:
    """A session's connection as handed to users: ``commit()``/``rollback()`` end the session's
    transaction; every other attribute is the driver connection's own."""

    __slots__ = ("_raw", "_session")

    def __init__(self, session: Any, raw: Any) -> None:
        self._session = session
        self._raw = raw

    def commit(self) -> Any:
        return self._session.commit()

    def rollback(self) -> Any:
        return self._session.rollback()

    @property
    def raw(self) -> Any:
        """The driver's own connection object."""
        return self._raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __repr__(self) -> str:
        return f"<SessionConnection {self._raw!r}>"


def view_of(session: Any, conn: Any) -> SessionConnection:
    """The session's connection as handed out: one object for as long as the session holds
    that connection (``session.connection is session.connection``)."""
    view: SessionConnection | None = session._connection_view
    if view is None or view.raw is not conn:
        view = session._connection_view = SessionConnection(session, conn)
    return view


class SessionBase(Generic[ConnT]):
    """What :class:`~sqlspec.driver.SyncDriver` and :class:`~sqlspec.async_driver.AsyncDriver`
    share that does no I/O: the driver facts an adapter states, the session state read without
    the database, and the adapter hooks that are plain calls on both sides."""

    #: The placeholder style the driver understands; SQL is rewritten to it.
    parameter_style: ClassVar[ParamStyle] = ParamStyle.QMARK
    #: Whose rules find placeholders in SQL text (quotes, comments, brackets).
    dialect: ClassVar[Dialect] = Dialect.POSTGRES
    #: The driver's exception base class(es); they are translated into sqlspec errors.
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: The most parameters one statement may have (``None``: no known limit); a statement with
    #: more raises :class:`~sqlspec.exceptions.ParameterError` before the driver runs.
    parameter_limit: ClassVar[int | None] = None

    # The state both sides keep; each driver's __init__ sets it.
    __slots__ = (
        "_connection",
        "_fresh",
        "_log",
        "_pool",
        "_rewrite",
        "_wrote",
        "config",
        "log_context",
    )
    _connection: ConnT | None
    _fresh: bool
    _log: bool
    _wrote: bool

    @property
    def closed(self) -> bool:
        """True when the session holds no connection."""
        return self._connection is None

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open on this session."""
        return self._in_transaction(self._open_connection())

    @property
    def pending_writes(self) -> bool:
        """True when a statement that writes (INSERT, UPDATE, DELETE, MERGE, DDL, a script) ran
        in the open transaction: the session's ``commit()``/``rollback()`` reset it, and it is
        False once no transaction is open (after the driver connection's own commit too).

        Read from each statement's first keyword and never from the database, so it is a hint
        for logs (the Flask extension says when it rolls such writes back); after a commit on
        the driver connection, later reads in a new transaction still count the earlier writes.
        """
        conn = self._connection
        return self._wrote and conn is not None and self._in_transaction(conn)

    def _open_connection(self) -> ConnT:
        raise NotImplementedError

    def _prepare(self, sql: str) -> PreparedStatement:
        raise NotImplementedError

    def _error_for(
        self, config: Any, error: BaseException, sql: str, committing: bool
    ) -> SQLSpecError:
        """The sqlspec error for a driver error while running ``sql``, naming the database
        (``config``, the session's: each side types its own) and the statement; a clear one
        when the connection died."""
        conn = self._connection
        if conn is not None and self._is_disconnect(error, conn):
            lost = lost_connection_error(config, error, committing=committing)
            return with_context(lost, config, sql)
        return with_context(self._translate(error), config, sql)

    def _adopt(self, pool: Any, conn: ConnT) -> None:
        """Make ``conn``, just borrowed from ``pool`` after the session's connection died, the
        session's connection for the single rerun of its first statement."""
        self._connection = conn
        self._pool = pool
        self._fresh = False  # one rerun at most
        self._on_acquire()

    def _bound_rows(
        self, sql: str, parameters: Iterable[Sequence[Any] | Mapping[str, Any]]
    ) -> tuple[PreparedStatement, Sequence[Sequence[Any]]]:
        """``execute_many``'s statement and its parameter rows bound (none: nothing to run)."""
        stmt = self._prepare(sql)
        return stmt, stmt.bind_many(parameters)

    def _observed(self, operation: str, sql: str, parameters: Any = None) -> StatementEvent | None:
        """The statement's event for its observers; ``None`` when nothing observes it (the
        statement then costs no event; ``execute()`` inlines this test on its hot path)."""
        if self._log or HUB.observers:
            return begin_statement(self, operation, sql, parameters)
        return None

    def _ran(self, writes: bool, event: StatementEvent | None, rowcount: int = -1) -> None:
        """After a statement ran: the session is no longer fresh (no rerun on a new connection
        from now on), its writes are noted, and its observers are told."""
        self._fresh = False
        if writes:
            self._wrote = True
        if event is not None:
            event.finish(rowcount)

    # -- adapter hooks that do no I/O ----------------------------------------------------------

    def _is_disconnect(self, error: BaseException, conn: ConnT) -> bool:
        """True when ``error`` means ``conn`` is dead (the server closed it, restarted, or is
        unreachable), so the connection must never be used again."""
        return False

    def _on_acquire(self) -> None:
        """Called once the connection is borrowed (per-session state reset)."""

    def _in_transaction(self, conn: ConnT) -> bool:
        raise NotImplementedError

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, SQLSpecError)
