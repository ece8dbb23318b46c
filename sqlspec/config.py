"""Database configurations: one per database, each owning its (lazily created) pool.

An adapter subclasses :class:`SyncDatabaseConfig` or :class:`AsyncDatabaseConfig`, declares the
keys it accepts and implements ``_create_pool``. The base validates what users pass, never mutates
their dicts, and forgets a parent's pool in a forked child process.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import re
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

from typing_extensions import NotRequired, TypedDict, Unpack

from sqlspec._names import close_match, settings_keys, unknown_names
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import PoolStats
from sqlspec.portal import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from sqlspec.async_driver import AsyncDriver
    from sqlspec.driver import SyncDriver
    from sqlspec.portal_session import PortalSession

__all__ = (
    "DEFAULT_CONNECT_TIMEOUT",
    "EXTENSION_SETTINGS",
    "AsyncDatabaseConfig",
    "AsyncPool",
    "DatabaseConfig",
    "FlaskConfig",
    "MigrationConfig",
    "StatementConfig",
    "SyncDatabaseConfig",
    "SyncPool",
    "live_configs",
)

_logger = logging.getLogger("sqlspec.config")

#: Seconds a connection attempt to a database server may take unless the configuration says
#: otherwise (each adapter's own connect-timeout key): with the server down or unreachable, a
#: borrow fails after this long with the driver's reason, well before any pool timeout.
DEFAULT_CONNECT_TIMEOUT = 5

_ConnT = TypeVar("_ConnT")
_PoolT = TypeVar("_PoolT")
_DriverT = TypeVar("_DriverT")


class FlaskConfig(TypedDict):
    """Settings of the Flask extension, given as ``extension_config={"flask": {...}}``."""

    session_key: NotRequired[str]
    """Key for ``plugin.get_session(key)``; default ``"default"``."""
    connection_key: NotRequired[str]
    """Key under which the session's connection is stored on ``flask.g``; default derived from
    ``session_key``."""
    commit_mode: NotRequired[Literal["manual", "autocommit", "autocommit_include_redirect"]]
    """``"manual"`` (default), ``"autocommit"`` (2xx commits) or ``"autocommit_include_redirect"``
    (2xx and 3xx commit); everything else rolls back."""
    extra_commit_statuses: NotRequired[set[int]]
    """Further status codes that commit."""
    extra_rollback_statuses: NotRequired[set[int]]
    """Further status codes that roll back."""
    record_queries: NotRequired[bool]
    """Record this database's statements for ``plugin.get_recorded_queries()`` and the Debug
    Toolbar panel; default: on when ``app.debug`` or ``app.testing`` is set at ``init_app``."""
    record_parameters: NotRequired[bool]
    """Keep parameter values on recorded queries (default ``False``: never recorded)."""
    enable_correlation_middleware: NotRequired[bool]
    """Take a request id from the request header (a new one when absent), return it on the
    response and put it on statement log records and spans (default ``False``)."""
    correlation_header: NotRequired[str]
    """The request id header of the correlation middleware; default ``"X-Request-ID"``."""


#: The extensions that read settings from ``extension_config[<name>]``, each with the TypedDict
#: of its keys. Every key of ``extension_config`` and of each extension's settings is checked
#: against this when a config is made; a new extension adds its entry here.
EXTENSION_SETTINGS: dict[str, Any] = {"flask": FlaskConfig}


class MigrationConfig(TypedDict):
    """Settings of a config's schema migrations, given as ``migration_config={...}``."""

    script_location: NotRequired[str | os.PathLike[str]]
    """The folder of migration files; relative paths are read against the current directory
    (the app's root path when run through Flask). Default ``"migrations"``."""
    version_table_name: NotRequired[str]
    """The table recording applied migrations; default ``"sqlspec_migrations"``."""


@dataclass(frozen=True)
class StatementConfig:
    """How statements are prepared and watched.

    ``rewrite_parameters=False`` sends SQL text and parameters to the driver untouched: the escape
    hatch for SQL whose operators look like placeholders (PostgreSQL's ``?`` jsonb operators).

    ``slow_query_ms=N`` logs every statement that takes N milliseconds or more at WARNING on the
    ``sqlspec.statements`` _logger, with its duration, database and Flask endpoint (never
    parameter values). A value that is not a positive number raises
    :class:`~sqlspec.exceptions.ImproperConfigurationError`.
    """

    rewrite_parameters: bool = True
    slow_query_ms: float | None = None

    def __post_init__(self) -> None:
        slow = self.slow_query_ms
        if slow is not None and (
            isinstance(slow, bool) or not isinstance(slow, int | float) or not slow > 0
        ):
            raise ImproperConfigurationError(
                f"StatementConfig: slow_query_ms must be a positive number of milliseconds "
                f"(or None to turn the slow-statement log off), got {slow!r}"
            )


class SyncPool(Protocol[_ConnT]):
    """What a sync config's pool offers the core (ours in :mod:`sqlspec.pool`, or a wrapper)."""

    def acquire(self) -> _ConnT: ...
    def release(self, conn: _ConnT) -> None: ...
    def discard(self, conn: _ConnT) -> None: ...
    def discard_dead(self, conn: _ConnT) -> None:
        """Close ``conn``, found dead, and retire the idle connections that most likely died
        with it (a server restart ends them all), so the next ``acquire()`` opens a fresh
        one."""

    def close(self) -> None: ...
    def stats(self) -> PoolStats: ...


_live_configs: weakref.WeakSet[DatabaseConfig] = weakref.WeakSet()
# Pools inherited from a parent process are never closed nor garbage-collected in the child:
# closing a PostgreSQL connection there would tell the server to end the parent's session.
_inherited_from_parent: list[Any] = []


def _forget_pools_after_fork() -> None:
    for config in list(_live_configs):
        config._forget_pool_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


def live_configs() -> list[DatabaseConfig]:
    """Every configuration object still alive in this process (for metrics of all pools)."""
    return list(_live_configs)


class _ConfigSettings(TypedDict, total=False):
    """:class:`DatabaseConfig`'s keywords, for the configs that add their own."""

    pool_config: Mapping[str, Any] | None
    connection_config: Mapping[str, Any] | None
    extension_config: Mapping[str, Mapping[str, Any]] | None
    statement_config: StatementConfig | None
    driver_features: Mapping[str, Any] | None
    migration_config: Mapping[str, Any] | None


class DatabaseConfig:
    """What every configuration shares: validated settings and a lazily created pool."""

    is_async: ClassVar[bool] = False
    #: Keys of ``pool_config`` passed on to the driver's connect call.
    connection_keys: ClassVar[frozenset[str]] = frozenset()
    #: Keys of ``pool_config`` that size and tune the pool.
    pool_keys: ClassVar[frozenset[str]] = frozenset()
    #: Keys accepted in ``driver_features``.
    feature_keys: ClassVar[frozenset[str]] = frozenset()
    #: Keys never shown in ``repr`` values.
    secret_keys: ClassVar[frozenset[str]] = frozenset({"password", "passwd"})
    #: True when ``pool_config["database"]`` is a file path (SQLite, DuckDB): a relative path is
    #: resolved against the current directory once, when the config is made.
    file_database: ClassVar[bool] = False
    #: The ``pool_config`` keys that say where a server database is, shown in error messages.
    location_keys: ClassVar[tuple[str, ...]] = ("host", "port", "dbname", "database", "db")

    def __init__(
        self,
        *,
        pool_config: Mapping[str, Any] | None = None,
        connection_config: Mapping[str, Any] | None = None,
        extension_config: Mapping[str, Mapping[str, Any]] | None = None,
        statement_config: StatementConfig | None = None,
        driver_features: Mapping[str, Any] | None = None,
        migration_config: Mapping[str, Any] | None = None,
    ) -> None:
        name = type(self).__name__
        if pool_config is not None and connection_config is not None:
            raise ImproperConfigurationError(
                f"{name}: give pool_config or connection_config (they are the same thing), not both"
            )
        settings = pool_config if pool_config is not None else connection_config
        self.pool_config: dict[str, Any] = _checked_keys(
            name, "pool_config", settings, self.connection_keys | self.pool_keys
        )
        self.driver_features: dict[str, Any] = _checked_keys(
            name, "driver_features", driver_features, self.feature_keys
        )
        self.extension_config: dict[str, dict[str, Any]] = _checked_extensions(
            name, extension_config
        )
        if statement_config is not None and not isinstance(statement_config, StatementConfig):
            raise ImproperConfigurationError(f"{name}: statement_config must be a StatementConfig")
        self.statement_config = statement_config or StatementConfig()
        #: Settings of :meth:`SQLSpec.migrations() <sqlspec.base.SQLSpec.migrations>` (``{}``
        #: when not given: the defaults apply).
        self.migration_config: dict[str, Any] = _checked_migration_config(name, migration_config)
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self._validate()
        if self.file_database:
            #: The database file as the config opens it: absolute, whatever the current
            #: directory is later (``":memory:"`` and URIs such as ``file:...`` stay as given).
            self.database_path: str = _absolute_path(self.pool_config.get("database", ":memory:"))
        _live_configs.add(self)

    @property
    def connection_config(self) -> dict[str, Any]:
        """The same settings as :attr:`pool_config` (both names are accepted)."""
        return self.pool_config

    def _validate(self) -> None:
        """Adapter hook: check values (not just keys) at configuration time."""

    def _setting(self, key: str, default: Any) -> Any:
        return self.pool_config.get(key, default)

    def max_pool_size(self) -> int:
        """The most connections the pool holds: ``pool_config["max_size"]``, 10 by default."""
        return int(self._setting("max_size", 10))

    def _connect_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.pool_config.items() if k in self.connection_keys}

    def _forget_pool_after_fork(self) -> None:
        if self._pool is not None:
            _inherited_from_parent.append(self._pool)
        self._pool = None
        self._pool_lock = threading.Lock()

    def _pool_stats(self) -> PoolStats:
        pool = self._pool
        if pool is None:
            return PoolStats(0, 0, 0, 0, self.max_pool_size())
        return pool.stats()  # type: ignore[no-any-return]

    def describe(self) -> str:
        """A short description for logs and error messages (secrets hidden; a database file
        shown as its absolute path)."""
        shown = ", ".join(
            f"{k}={'***' if k in self.secret_keys else repr(self._shown_value(k, v))}"
            for k, v in self.pool_config.items()
            if k in self.connection_keys
        )
        return f"{type(self).__name__}({shown})"

    def location(self) -> str:
        """Where the database is, for error messages: ``SqliteConfig database='/abs/app.db'``,
        ``AsyncpgConfig host='db' port=5432 database='app'`` (never credentials)."""
        settings = self.pool_config
        shown = [
            f"{key}={self._shown_value(key, settings[key])!r}"
            for key in self.location_keys
            if key in settings
        ]
        if not shown:
            return self.describe()  # e.g. a DSN, shown with its password hidden
        return f"{type(self).__name__} {' '.join(shown)}"

    def _shown_value(self, key: str, value: Any) -> Any:
        return self.database_path if key == "database" and self.file_database else value

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


class SyncDatabaseConfig(DatabaseConfig, Generic[_ConnT, _PoolT, _DriverT]):
    """Base of the sync adapters' configurations."""

    driver_type: ClassVar[type[SyncDriver[Any]]]

    def get_pool(self) -> SyncPool[_ConnT]:
        """The pool, created at first use (and again in a forked child)."""
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                pool = self._pool
                if pool is None:
                    pool = self._pool = self._create_pool()
        return pool  # type: ignore[no-any-return]

    def create_pool(self) -> SyncPool[_ConnT]:
        """Create the pool now instead of at first use (e.g. to fail fast at start-up)."""
        return self.get_pool()

    def close_pool(self) -> None:
        """Close the pool; a later session creates a new one."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def pool_stats(self) -> PoolStats:
        """Size, in-use, idle and waiting counts (zeros before the pool exists)."""
        return self._pool_stats()

    def provide_session(self) -> _DriverT:
        """A session; use it as a context manager to borrow and return its connection."""
        return self.driver_type(self)  # type: ignore[return-value]

    def provide_sync_session(self) -> _DriverT:
        """A session with the sync API: for a sync config, :meth:`provide_session` itself (async
        configs return a facade running each call on the portal)."""
        return self.driver_type(self)  # type: ignore[return-value]

    @contextmanager
    def provide_connection(self) -> Iterator[_ConnT]:
        """Borrow the driver's raw connection; it is rolled back and returned on exit."""
        pool = self.get_pool()
        conn = pool.acquire()
        try:
            yield conn
        finally:
            pool.release(conn)

    def _create_pool(self) -> SyncPool[_ConnT]:
        raise NotImplementedError


class AsyncPool(Protocol[_ConnT]):
    """What an async config's pool offers the core (ours in :mod:`sqlspec.pool`, or a wrapper).
    ``stats()`` is sync and may be called from any thread."""

    async def acquire(self) -> _ConnT: ...
    async def release(self, conn: _ConnT) -> None: ...
    async def discard(self, conn: _ConnT) -> None: ...
    async def discard_dead(self, conn: _ConnT) -> None:
        """As :meth:`SyncPool.discard_dead`."""

    async def close(self) -> None: ...
    def stats(self) -> PoolStats: ...


class AsyncDatabaseConfig(DatabaseConfig, Generic[_ConnT, _PoolT, _DriverT]):
    """Base of the async adapters' configurations.

    Sessions are async context managers (``async with config.provide_session() as session``).
    Sync code (a Flask view) uses :meth:`provide_sync_session`: the same API with plain return
    values, each call run on the :mod:`portal <sqlspec.portal>`'s event loop and limited to
    ``portal_timeout`` seconds (default 30).

    The pool is created at first use on the running event loop and belongs to it: async drivers'
    connections cannot move between loops, so using the config from another loop raises
    :class:`SQLSpecError` (a pool whose loop has been closed is forgotten and replaced).
    """

    is_async = True
    driver_type: ClassVar[type[AsyncDriver[Any]]]
    #: Seconds ``close_pool()`` may take through the portal (at least ``portal_timeout``).
    close_timeout: ClassVar[float] = 15.0

    def __init__(
        self, *, portal_timeout: float = DEFAULT_TIMEOUT, **settings: Unpack[_ConfigSettings]
    ) -> None:
        """``settings`` are :class:`DatabaseConfig`'s keywords (``pool_config``,
        ``extension_config``, ...); ``portal_timeout`` bounds each sync-facade call."""
        if (
            isinstance(portal_timeout, bool)
            or not isinstance(portal_timeout, int | float)
            or not portal_timeout > 0
        ):
            raise ImproperConfigurationError(
                f"{type(self).__name__}: portal_timeout must be a positive number of seconds, "
                f"got {portal_timeout!r}"
            )
        #: Seconds each sync-facade call may take before it is cancelled.
        self.portal_timeout = float(portal_timeout)
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._pool_creating: asyncio.Future[None] | None = None
        super().__init__(**settings)

    # -- pool ------------------------------------------------------------------------------------

    async def get_pool(self) -> AsyncPool[_ConnT]:
        """The pool, created at first use on the running event loop (which then owns it)."""
        pool = self._pool
        if pool is not None and self._pool_loop is asyncio.get_running_loop():
            return pool  # type: ignore[no-any-return]
        return await self._pool_for_running_loop()

    async def create_pool(self) -> AsyncPool[_ConnT]:
        """Create the pool now instead of at first use (e.g. to fail fast at start-up)."""
        return await self.get_pool()

    async def _pool_for_running_loop(self) -> AsyncPool[_ConnT]:
        loop = asyncio.get_running_loop()
        while True:
            with self._pool_lock:
                owner = self._pool_loop
                if owner is not None and owner is not loop:
                    if not owner.is_closed():
                        raise SQLSpecError(self._other_loop_message(owner, loop))
                    _logger.debug("%s: forgetting a pool whose event loop is closed", self)
                    self._pool = None
                    self._pool_loop = owner = None
                    self._pool_creating = None
                if self._pool is not None:
                    return self._pool  # type: ignore[no-any-return]
                creating = self._pool_creating
                if creating is None:
                    creating = self._pool_creating = loop.create_future()
                    self._pool_loop = loop
                    break
            await asyncio.wait([creating])  # another task is creating it; then look again
        try:
            pool = await self._create_pool()
            with self._pool_lock:
                self._pool = pool
            if _portal_module().get_portal().owns(loop):
                _close_portal_pools_at_exit()
            return pool
        except BaseException:
            with self._pool_lock:
                if self._pool is None:
                    self._pool_loop = None
            raise
        finally:
            with self._pool_lock:
                self._pool_creating = None
            creating.set_result(None)

    def _other_loop_message(
        self, owner: asyncio.AbstractEventLoop, loop: asyncio.AbstractEventLoop
    ) -> str:
        portal = _portal_module().get_portal()
        where = "the sqlspec portal's loop" if portal.owns(owner) else f"event loop {owner!r}"
        return (
            f"{self.describe()}: its connection pool was created on {where} and cannot be used "
            f"from event loop {loop!r}: async drivers' connections belong to the loop that "
            "opened them. Use each config from one event loop only (call close_pool() / await "
            "close_pool_async() before switching loops), and from sync code use "
            "provide_sync_session(), which always runs on the portal's loop."
        )

    async def close_pool_async(self) -> None:
        """Close the pool (from any event loop); a later session creates a new one."""
        pool, loop = self._take_pool()
        if pool is None or loop is None:
            return
        if loop is asyncio.get_running_loop():
            await pool.close()
        elif loop.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(pool.close(), loop))
        else:
            self._drop_pool_of_dead_loop(pool, loop)

    def close_pool(self) -> None:
        """Close the pool from sync code; a no-op when there is none.

        A pool on the portal's loop is closed through the portal. Inside a coroutine running on
        the pool's own loop, use ``await close_pool_async()`` instead.
        """
        pool, loop = self._pool, self._pool_loop
        if pool is None or loop is None:
            return
        if loop.is_running() and _running_loop() is loop:
            raise SQLSpecError(
                f"{self.describe()}: close_pool() would block the event loop its pool runs on; "
                "use `await config.close_pool_async()` in async code"
            )
        self._close_pool_sync(max(self.portal_timeout, self.close_timeout))

    def _close_pool_sync(self, limit: float) -> None:
        pool, loop = self._take_pool()
        if pool is None or loop is None:
            return
        portal = _portal_module().get_portal()
        if portal.owns(loop):
            portal.call(pool.close(), limit, f"closing the pool of {self.describe()}")
        elif loop.is_running():
            asyncio.run_coroutine_threadsafe(pool.close(), loop).result(limit)
        elif not loop.is_closed():
            loop.run_until_complete(pool.close())
        else:
            self._drop_pool_of_dead_loop(pool, loop)

    def _take_pool(self) -> tuple[AsyncPool[_ConnT] | None, asyncio.AbstractEventLoop | None]:
        with self._pool_lock:
            pool, loop = self._pool, self._pool_loop
            self._pool = None
            if self._pool_creating is None:
                self._pool_loop = None
        return pool, loop

    def _drop_pool_of_dead_loop(self, pool: Any, loop: asyncio.AbstractEventLoop) -> None:
        _logger.warning(
            "%s: its pool's event loop %r is no longer running; the pool is dropped without "
            "closing its connections",
            self.describe(),
            loop,
        )

    async def _create_pool(self) -> AsyncPool[_ConnT]:
        raise NotImplementedError

    def _forget_pool_after_fork(self) -> None:
        super()._forget_pool_after_fork()
        self._pool_loop = None
        self._pool_creating = None

    # -- sessions --------------------------------------------------------------------------------

    def pool_stats(self) -> PoolStats:
        """Size, in-use, idle and waiting counts (zeros before the pool exists); any thread."""
        return self._pool_stats()

    def provide_session(self) -> _DriverT:
        """An async session: ``async with config.provide_session() as session``; leaving the
        block rolls back anything uncommitted and returns the connection."""
        return self.driver_type(self)  # type: ignore[return-value]

    def provide_sync_session(self) -> PortalSession:
        """A session with the sync API for sync code (``with config.provide_sync_session() as
        db: db.execute(...).all()``); each call runs on the portal's event loop."""
        from sqlspec.portal_session import PortalSession

        return PortalSession(self.driver_type(self))

    @asynccontextmanager
    async def provide_connection(self) -> AsyncIterator[_ConnT]:
        """Borrow the driver's raw connection; it is rolled back and returned on exit."""
        pool = await self.get_pool()
        conn = await pool.acquire()
        try:
            yield conn
        finally:
            await asyncio.shield(pool.release(conn))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _portal_module() -> Any:
    # Imported lazily: sync-only applications never load the portal.
    from sqlspec import portal

    return portal


_exit_hook_pid = 0
#: Seconds each pool may take to close at interpreter exit (then the portal stops anyway).
_EXIT_CLOSE_TIMEOUT = 2.0


def _close_portal_pools_at_exit() -> None:
    """Once per process: close pools living on the portal's loop before the portal stops
    (``atexit`` runs in reverse order, and the portal registered its own stop earlier)."""
    global _exit_hook_pid
    pid = os.getpid()
    if _exit_hook_pid != pid:
        _exit_hook_pid = pid
        atexit.register(_close_portal_pools, pid)


def _close_portal_pools(pid: int) -> None:
    if pid != os.getpid():
        return
    portal = _portal_module().get_portal()
    for config in list(_live_configs):
        if isinstance(config, AsyncDatabaseConfig) and portal.owns(config._pool_loop):
            try:
                config._close_pool_sync(_EXIT_CLOSE_TIMEOUT)
            except Exception:
                _logger.debug("%s: error closing the pool at exit", config, exc_info=True)


def _absolute_path(database: Any) -> str:
    """A database file path made absolute; ``:memory:``, ``""`` and URIs (``file:...``,
    ``md:...``) are kept as given."""
    path = os.fspath(database) if isinstance(database, os.PathLike) else str(database)
    if not path or path.startswith(":") or os.path.isabs(path) or _URI_SCHEME.match(path):
        return path
    return os.path.abspath(path)


_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _checked_keys(
    config_name: str, what: str, given: Mapping[str, Any] | None, valid: frozenset[str]
) -> dict[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ImproperConfigurationError(
            f"{config_name}: {what} must be a mapping, got {type(given).__name__}"
        )
    _refuse_unknown_keys(f"{config_name}: unknown {what}", given, valid)
    return dict(given)


def _refuse_unknown_keys(
    unknown_what: str, given: Mapping[Any, Any], valid: frozenset[str]
) -> None:
    unknown = [key for key in given if key not in valid]
    if unknown:
        raise ImproperConfigurationError(
            f"{unknown_what} key(s) {unknown_names(unknown, valid)}; "
            f"valid keys are {', '.join(sorted(valid)) or '(none)'}"
        )


def _checked_extensions(
    config_name: str, given: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """``extension_config`` checked against :data:`EXTENSION_SETTINGS`: known extension names
    only, each with a mapping of its own keys; returned as fresh dicts."""
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ImproperConfigurationError(
            f"{config_name}: extension_config must be a mapping like {{'flask': {{...}}}}, "
            f"got {type(given).__name__}"
        )
    checked: dict[str, dict[str, Any]] = {}
    for extension, settings in given.items():
        known = EXTENSION_SETTINGS.get(extension) if isinstance(extension, str) else None
        if known is None:
            raise ImproperConfigurationError(_unknown_extension(config_name, extension, given))
        valid = settings_keys(known)
        where = f"{config_name}: extension_config[{extension!r}]"
        if not isinstance(settings, Mapping):
            raise ImproperConfigurationError(
                f"{where} must be a mapping of the {extension} extension's settings (keys "
                f"{', '.join(sorted(valid))}), got {type(settings).__name__} {settings!r}"
            )
        _refuse_unknown_keys(f"{where}: unknown", settings, valid)
        checked[extension] = dict(settings)
    return checked


def _unknown_extension(config_name: str, key: object, given: Mapping[Any, Any]) -> str:
    """Why ``key`` is not an extension name: an extension's setting written one level too high,
    or a misspelt (or unknown) extension name."""
    known = ", ".join(map(repr, EXTENSION_SETTINGS))
    for extension, settings in EXTENSION_SETTINGS.items():
        keys = settings_keys(settings)
        if key in keys:
            misplaced = {k: v for k, v in given.items() if k in keys}
            return (
                f"{config_name}: extension_config key {key!r} is a setting of the {extension} "
                f"extension; settings go under the extension's name: "
                f"extension_config={{{extension!r}: {misplaced!r}}}"
            )
    match = close_match(key, EXTENSION_SETTINGS)
    if match is not None:
        return (
            f"{config_name}: unknown extension {key!r} in extension_config; did you mean "
            f"{match!r}? Known extensions: {known}"
        )
    for extension, settings in EXTENSION_SETTINGS.items():
        setting = close_match(key, settings_keys(settings))
        if setting is not None:
            return (
                f"{config_name}: unknown extension {key!r} in extension_config; did you mean "
                f"the {extension} setting {setting!r}? It goes under the extension's name: "
                f"extension_config={{{extension!r}: {{{setting!r}: ...}}}}"
            )
    return (
        f"{config_name}: unknown extension {key!r} in extension_config; known extensions: {known}"
    )


_MIGRATION_KEYS = frozenset({"script_location", "version_table_name"})
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def _checked_migration_config(config_name: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    settings = _checked_keys(config_name, "migration_config", given, _MIGRATION_KEYS)
    location = settings.get("script_location")
    if location is not None and not isinstance(location, str | os.PathLike):
        raise ImproperConfigurationError(
            f"{config_name}: migration_config['script_location'] must be a path, got "
            f"{type(location).__name__}"
        )
    table = settings.get("version_table_name")
    if table is not None and not (isinstance(table, str) and _TABLE_NAME.fullmatch(table)):
        raise ImproperConfigurationError(
            f"{config_name}: migration_config['version_table_name'] must be a table name "
            f"(letters, digits and _, optionally schema.table), got {table!r}"
        )
    return settings
