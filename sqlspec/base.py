"""``SQLSpec``: the registry of database configurations."""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from sqlspec.config import AsyncDatabaseConfig, DatabaseConfig, SyncDatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.loader import SQLFileLoader
from sqlspec.protocols import AsyncSession, SyncSession

if TYPE_CHECKING:
    from sqlspec.migrations import Migrations
    from sqlspec.portal_session import PortalSession

__all__ = ("SQLSpec",)

_ConfigT = TypeVar("_ConfigT", bound=DatabaseConfig)
_ConnT = TypeVar("_ConnT")
_SyncSessionT = TypeVar("_SyncSessionT", bound=SyncSession)
_AsyncSessionT = TypeVar("_AsyncSessionT", bound=AsyncSession)
_SyncConfigOf = SyncDatabaseConfig[Any, Any, _SyncSessionT]
_AsyncConfigOf = AsyncDatabaseConfig[Any, Any, _AsyncSessionT]


class SQLSpec:
    """Holds the application's database configurations and hands out sessions.

    Configs are registered by instance, so two configs of one adapter class coexist. Wherever a
    config is expected, its class is accepted too when exactly one instance of it is registered.
    """

    def __init__(self) -> None:
        self._configs: list[DatabaseConfig] = []
        #: The named queries loaded by :meth:`load_sql_files`.
        self.sql_files = SQLFileLoader()

    def add_config(self, config: _ConfigT) -> _ConfigT:
        """Register a config and return it (registering the same instance twice is a no-op)."""
        if isinstance(config, type):
            raise ImproperConfigurationError(
                f"add_config() takes a config instance, got the class {config.__name__}; "
                f"write add_config({config.__name__}(pool_config={{...}}))"
            )
        if not isinstance(config, DatabaseConfig):
            raise ImproperConfigurationError(
                f"add_config() takes a database config, got {type(config).__name__}"
            )
        if not any(existing is config for existing in self._configs):
            self._configs.append(config)
        return config

    @property
    def configs(self) -> tuple[DatabaseConfig, ...]:
        """The registered configs, in registration order."""
        return tuple(self._configs)

    @overload
    def get_config(self, config: _ConfigT) -> _ConfigT: ...
    @overload
    def get_config(self, config: type[_ConfigT]) -> _ConfigT: ...
    def get_config(self, config: Any) -> Any:
        """Resolve a registered config from itself or from its class."""
        if isinstance(config, type):
            matches = [c for c in self._configs if type(c) is config]
            if len(matches) == 1:
                return matches[0]
            if not matches:
                raise ImproperConfigurationError(
                    f"no {config.__name__} is registered; call add_config() first"
                )
            raise ImproperConfigurationError(
                f"{len(matches)} {config.__name__} configs are registered; pass the config "
                "instance returned by add_config() instead of the class"
            )
        if any(existing is config for existing in self._configs):
            return config
        if isinstance(config, DatabaseConfig):
            raise ImproperConfigurationError(
                f"{config.describe()} is not registered with this SQLSpec; call add_config()"
            )
        raise ImproperConfigurationError(
            f"expected a database config or config class, got {type(config).__name__}"
        )

    # A config's third type parameter is its driver (session) class, so each overload below
    # hands back the exact driver type: SqliteConfig gives SqliteDriver, AsyncpgConfig gives
    # AsyncpgDriver. A config typed only as DatabaseConfig gives the protocol union.
    @overload
    def provide_session(
        self,
        config: SyncDatabaseConfig[Any, Any, _SyncSessionT] | type[_SyncConfigOf[_SyncSessionT]],
    ) -> _SyncSessionT: ...
    @overload
    def provide_session(
        self,
        config: AsyncDatabaseConfig[Any, Any, _AsyncSessionT]
        | type[_AsyncConfigOf[_AsyncSessionT]],
    ) -> _AsyncSessionT: ...
    @overload
    def provide_session(
        self, config: DatabaseConfig | type[DatabaseConfig]
    ) -> SyncSession | AsyncSession: ...
    def provide_session(self, config: Any) -> Any:
        """A session for ``config``: ``with spec.provide_session(cfg) as session`` (``async with``
        for async configs). Leaving the block rolls back anything uncommitted and returns the
        connection to its pool.

        Raises :class:`ImproperConfigurationError` when ``config`` is not registered (or, given a
        class, when not exactly one instance of it is)."""
        return self.get_config(config).provide_session()

    @overload
    def provide_connection(
        self,
        config: SyncDatabaseConfig[_ConnT, Any, Any] | type[SyncDatabaseConfig[_ConnT, Any, Any]],
    ) -> AbstractContextManager[_ConnT]: ...
    @overload
    def provide_connection(
        self,
        config: AsyncDatabaseConfig[_ConnT, Any, Any] | type[AsyncDatabaseConfig[_ConnT, Any, Any]],
    ) -> AbstractAsyncContextManager[_ConnT]: ...
    def provide_connection(self, config: Any) -> Any:
        """The driver's raw connection, borrowed for the ``with`` block (``async with`` for async
        configs); it is rolled back and returned to the pool on exit."""
        return self.get_config(config).provide_connection()

    @overload
    def provide_sync_session(
        self,
        config: SyncDatabaseConfig[Any, Any, _SyncSessionT] | type[_SyncConfigOf[_SyncSessionT]],
    ) -> _SyncSessionT: ...
    @overload
    def provide_sync_session(
        self, config: AsyncDatabaseConfig[Any, Any, Any] | type[AsyncDatabaseConfig[Any, Any, Any]]
    ) -> PortalSession: ...
    @overload
    def provide_sync_session(
        self, config: DatabaseConfig | type[DatabaseConfig]
    ) -> SyncSession: ...
    def provide_sync_session(self, config: Any) -> Any:
        """A session with the sync API for sync code: ``with spec.provide_sync_session(cfg) as
        db: db.execute(...).all()``. For an async config each call runs on the portal's event
        loop; for a sync config this is :meth:`provide_session`."""
        return self.get_config(config).provide_sync_session()

    def close_all_pools(self) -> None:
        """Close every registered config's pool (async pools included, through their loop)."""
        errors: list[BaseException] = []
        for config in self._configs:
            try:
                if isinstance(config, SyncDatabaseConfig | AsyncDatabaseConfig):
                    config.close_pool()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    async def close_all_pools_async(self) -> None:
        """Close every registered config's pool from async code."""
        errors: list[BaseException] = []
        for config in self._configs:
            try:
                if isinstance(config, AsyncDatabaseConfig):
                    await config.close_pool_async()
                elif isinstance(config, SyncDatabaseConfig):
                    config.close_pool()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    # -- migrations and SQL files ----------------------------------------------------------------

    def migrations(self, config: Any, *, root: str | os.PathLike[str] | None = None) -> Migrations:
        """The schema migrations of ``config`` (``upgrade``, ``downgrade``, ``status``,
        ``current``, ``create``), set by its ``migration_config``; a relative
        ``script_location`` is read against ``root`` (default: the current directory). Sync
        and async configs alike (async ones run through the portal)."""
        from sqlspec.migrations import Migrations

        return Migrations(self.get_config(config), root=root)

    def load_sql_files(self, *paths: str | os.PathLike[str]) -> list[str]:
        """Load named queries from ``.sql`` files and folders (recursively); return the names
        loaded. Raises :class:`~sqlspec.exceptions.SQLFileError` (keeping nothing of this
        call) for a missing path, a bad name or a name loaded twice, naming files and lines."""
        return self.sql_files.load(*paths)

    def get_sql(self, name: str) -> str:
        """The statement text of a loaded query, for any session method:
        ``db.select_one(spec.get_sql("get_user_by_id"), id=1)``. An unknown name raises
        :class:`~sqlspec.exceptions.SQLFileError` listing close matches."""
        return self.sql_files.get_sql(name)

    def sql_names(self) -> list[str]:
        """The names of the loaded queries, sorted."""
        return self.sql_files.names()
