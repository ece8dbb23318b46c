"""The session API as typing protocols, for annotating application code.

:class:`SyncSession` is what every sync adapter's driver and the portal facade
(:class:`~sqlspec.portal_session.PortalSession`, an async config used from sync code) implement;
:class:`AsyncSession` is what every async adapter's driver implements. Annotate with them where
code must work with any adapter::

    from sqlspec.protocols import SyncSession

    def count_users(db: SyncSession) -> int:
        return int(db.select_value("SELECT COUNT(*) FROM users"))

``SQLSpec.provide_session(config)`` is typed by its config (a ``SqliteConfig`` gives a
``SqliteDriver``, which is a :class:`SyncSession`); the Flask plugin's ``get_session()`` returns a
:class:`SyncSession`. Both protocols are ``runtime_checkable`` (``isinstance`` then checks that the
names exist, not their signatures).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar, overload, runtime_checkable

from typing_extensions import Self

from sqlspec.result import SQLResult

__all__ = ("AsyncSession", "SessionConnectionProtocol", "SyncSession")

_SchemaT = TypeVar("_SchemaT")


@runtime_checkable
class SessionConnectionProtocol(Protocol):
    """A session's connection as the Flask plugin's ``get_connection()`` returns it: ``commit()``
    and ``rollback()`` end the session's transaction. Everything else about it is the driver's
    (for driver-level calls use ``session.connection``, typed ``Any``)."""

    def commit(self) -> Any: ...
    def rollback(self) -> Any: ...


@runtime_checkable
class SyncSession(Protocol):
    """A sync session over one borrowed connection (``with spec.provide_session(cfg) as db``).

    The transaction opens at the first statement and ends with :meth:`commit` or
    :meth:`rollback`; leaving the ``with`` block rolls back what is left and returns the
    connection. Driver errors are raised as :class:`~sqlspec.exceptions.SQLSpecError` subclasses.

    The sync drivers inherit it: the ``select*`` methods are written here once, over
    :meth:`execute`.
    """

    __slots__ = ()

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def close(self) -> None:
        """Roll back anything uncommitted and return the connection (idempotent)."""

    @property
    def connection(self) -> Any:
        """The driver connection; its ``commit()``/``rollback()`` end the session's transaction."""

    @property
    def closed(self) -> bool:
        """True when the session holds no connection."""

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open."""

    @overload
    def execute(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> SQLResult[dict[str, Any]]: ...
    @overload
    def execute(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> SQLResult[_SchemaT]: ...
    def execute(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> SQLResult[Any]:
        """Run one statement and return its result.

        Parameters may be one tuple/list/dict, several positional values, or keywords; any of
        ``?``, ``:name``, ``$1``, ``%s``, ``%(name)s`` placeholders work on every adapter.
        """
        raise NotImplementedError

    def execute_many(
        self, sql: str, parameters: Iterable[Sequence[Any] | Mapping[str, Any]], /
    ) -> SQLResult[dict[str, Any]]: ...
    def execute_script(self, sql: str, /) -> None: ...
    @overload
    def select(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> list[dict[str, Any]]: ...
    @overload
    def select(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> list[_SchemaT]: ...
    def select(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> list[Any]:
        """Return every row of a query."""
        return self.execute(sql, *parameters, schema_type=schema_type, **named).rows

    @overload
    def select_one(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> dict[str, Any]: ...
    @overload
    def select_one(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> _SchemaT: ...
    def select_one(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> Any:
        """Return the only row; :class:`~sqlspec.exceptions.NotFoundError` or
        :class:`~sqlspec.exceptions.MultipleResultsFoundError` otherwise."""
        return self.execute(sql, *parameters, schema_type=schema_type, **named).one()

    @overload
    def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> dict[str, Any] | None: ...
    @overload
    def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> _SchemaT | None: ...
    def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> Any:
        """Return the only row or ``None``; raise when several rows came back."""
        return self.execute(sql, *parameters, schema_type=schema_type, **named).one_or_none()

    def select_value(self, sql: str, /, *parameters: Any, **named: Any) -> Any:
        """Return the first column of the only row."""
        return self.execute(sql, *parameters, **named).scalar()

    def select_value_or_none(self, sql: str, /, *parameters: Any, **named: Any) -> Any:
        """Return the first column of the only row, or ``None`` when there is no row."""
        return self.execute(sql, *parameters, **named).scalar_or_none()

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


@runtime_checkable
class AsyncSession(Protocol):
    """An async session (``async with spec.provide_session(async_cfg) as db``): the methods of
    :class:`SyncSession` as coroutines, with the same results, errors and transaction model.
    The async drivers inherit it (the ``select*`` methods are written here once)."""

    __slots__ = ()

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def close(self) -> None:
        """Roll back anything uncommitted and return the connection (idempotent)."""

    @property
    def connection(self) -> Any:
        """The driver connection; ``await`` its ``commit()``/``rollback()`` to end the session's
        transaction."""

    @property
    def closed(self) -> bool:
        """True when the session holds no connection."""

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open."""

    @overload
    async def execute(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> SQLResult[dict[str, Any]]: ...
    @overload
    async def execute(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> SQLResult[_SchemaT]: ...
    async def execute(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> SQLResult[Any]:
        """Run one statement and return its result.

        Parameters may be one tuple/list/dict, several positional values, or keywords; any of
        ``?``, ``:name``, ``$1``, ``%s``, ``%(name)s`` placeholders work on every adapter.
        """
        raise NotImplementedError

    async def execute_many(
        self, sql: str, parameters: Iterable[Sequence[Any] | Mapping[str, Any]], /
    ) -> SQLResult[dict[str, Any]]: ...
    async def execute_script(self, sql: str, /) -> None: ...
    @overload
    async def select(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> list[dict[str, Any]]: ...
    @overload
    async def select(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> list[_SchemaT]: ...
    async def select(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> list[Any]:
        """Return every row of a query."""
        return (await self.execute(sql, *parameters, schema_type=schema_type, **named)).rows

    @overload
    async def select_one(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> dict[str, Any]: ...
    @overload
    async def select_one(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> _SchemaT: ...
    async def select_one(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> Any:
        """Return the only row; :class:`~sqlspec.exceptions.NotFoundError` or
        :class:`~sqlspec.exceptions.MultipleResultsFoundError` otherwise."""
        return (await self.execute(sql, *parameters, schema_type=schema_type, **named)).one()

    @overload
    async def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: None = None, **named: Any
    ) -> dict[str, Any] | None: ...
    @overload
    async def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: type[_SchemaT], **named: Any
    ) -> _SchemaT | None: ...
    async def select_one_or_none(
        self, sql: str, /, *parameters: Any, schema_type: type[Any] | None = None, **named: Any
    ) -> Any:
        """Return the only row or ``None``; raise when several rows came back."""
        result = await self.execute(sql, *parameters, schema_type=schema_type, **named)
        return result.one_or_none()

    async def select_value(self, sql: str, /, *parameters: Any, **named: Any) -> Any:
        """Return the first column of the only row."""
        return (await self.execute(sql, *parameters, **named)).scalar()

    async def select_value_or_none(self, sql: str, /, *parameters: Any, **named: Any) -> Any:
        """Return the first column of the only row, or ``None`` when there is no row."""
        return (await self.execute(sql, *parameters, **named)).scalar_or_none()

    async def begin(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
