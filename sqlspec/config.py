"""Database configurations: one per database, each owning its (lazily created) pool.

An adapter subclasses :class:`SyncDatabaseConfig` or :class:`AsyncDatabaseConfig`, declares the
keys it accepts and implements ``_create_pool``. The base validates what users pass, never mutates
their dicts, and forgets a parent's pool in a forked child process.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

from typing_extensions import NotRequired, TypedDict

from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.pool import PoolStats

if TYPE_CHECKING:
    from sqlspec.driver import SyncDriver

__all__ = (
    "AsyncDatabaseConfig",
    "DatabaseConfig",
    "FlaskConfig",
    "StatementConfig",
    "SyncDatabaseConfig",
    "SyncPool",
)

ConnT = TypeVar("ConnT")
PoolT = TypeVar("PoolT")
DriverT = TypeVar("DriverT")


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


@dataclass(frozen=True)
class StatementConfig:
    """How statements are prepared.

    ``rewrite_parameters=False`` sends SQL text and parameters to the driver untouched: the escape
    hatch for SQL whose operators look like placeholders (PostgreSQL's ``?`` jsonb operators).
    """

    rewrite_parameters: bool = True


class SyncPool(Protocol[ConnT]):
    """What a sync config's pool offers the core (ours in :mod:`sqlspec.pool`, or a wrapper)."""

    def acquire(self) -> ConnT: ...
    def release(self, conn: ConnT) -> None: ...
    def discard(self, conn: ConnT) -> None: ...
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

    def __init__(
        self,
        *,
        pool_config: Mapping[str, Any] | None = None,
        connection_config: Mapping[str, Any] | None = None,
        extension_config: Mapping[str, Mapping[str, Any]] | None = None,
        statement_config: StatementConfig | None = None,
        driver_features: Mapping[str, Any] | None = None,
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
        if extension_config is not None and not isinstance(extension_config, Mapping):
            raise ImproperConfigurationError(
                f"{name}: extension_config must be a mapping like {{'flask': {{...}}}}"
            )
        self.extension_config: dict[str, dict[str, Any]] = {
            key: dict(value) for key, value in (extension_config or {}).items()
        }
        if statement_config is not None and not isinstance(statement_config, StatementConfig):
            raise ImproperConfigurationError(f"{name}: statement_config must be a StatementConfig")
        self.statement_config = statement_config or StatementConfig()
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self._validate()
        _live_configs.add(self)

    @property
    def connection_config(self) -> dict[str, Any]:
        """The same settings as :attr:`pool_config` (both names are accepted)."""
        return self.pool_config

    def _validate(self) -> None:
        """Adapter hook: check values (not just keys) at configuration time."""

    def _setting(self, key: str, default: Any) -> Any:
        return self.pool_config.get(key, default)

    def _connect_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.pool_config.items() if k in self.connection_keys}

    def _forget_pool_after_fork(self) -> None:
        if self._pool is not None:
            _inherited_from_parent.append(self._pool)
        self._pool = None
        self._pool_lock = threading.Lock()

    def describe(self) -> str:
        """A short description for logs and error messages (secrets hidden)."""
        shown = ", ".join(
            f"{k}={'***' if k in self.secret_keys else repr(v)}"
            for k, v in self.pool_config.items()
            if k in self.connection_keys
        )
        return f"{type(self).__name__}({shown})"

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


class SyncDatabaseConfig(DatabaseConfig, Generic[ConnT, PoolT, DriverT]):
    """Base of the sync adapters' configurations."""

    driver_type: ClassVar[type[SyncDriver[Any]]]

    def get_pool(self) -> SyncPool[ConnT]:
        """The pool, created at first use (and again in a forked child)."""
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                pool = self._pool
                if pool is None:
                    pool = self._pool = self._create_pool()
        return pool  # type: ignore[no-any-return]

    def create_pool(self) -> SyncPool[ConnT]:
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
        pool = self._pool
        if pool is None:
            return PoolStats(0, 0, 0, 0, self.max_pool_size())
        return pool.stats()  # type: ignore[no-any-return]

    def max_pool_size(self) -> int:
        raise NotImplementedError

    def provide_session(self) -> DriverT:
        """A session; use it as a context manager to borrow and return its connection."""
        return self.driver_type(self)  # type: ignore[return-value]

    def provide_sync_session(self) -> DriverT:
        """A session with the sync API: for a sync config, :meth:`provide_session` itself (async
        configs return a facade running each call on the portal)."""
        return self.driver_type(self)  # type: ignore[return-value]

    @contextmanager
    def provide_connection(self) -> Iterator[ConnT]:
        """Borrow the driver's raw connection; it is rolled back and returned on exit."""
        pool = self.get_pool()
        conn = pool.acquire()
        try:
            yield conn
        finally:
            pool.release(conn)

    def _create_pool(self) -> SyncPool[ConnT]:
        raise NotImplementedError


class AsyncDatabaseConfig(DatabaseConfig, Generic[ConnT, PoolT, DriverT]):
    """Base of the async adapters' configurations (sessions are async context managers)."""

    is_async = True

    def close_pool(self) -> None:
        """Close the pool from sync code."""
        raise NotImplementedError


def _checked_keys(
    config_name: str, what: str, given: Mapping[str, Any] | None, valid: frozenset[str]
) -> dict[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ImproperConfigurationError(
            f"{config_name}: {what} must be a mapping, got {type(given).__name__}"
        )
    unknown = [key for key in given if key not in valid]
    if unknown:
        raise ImproperConfigurationError(
            f"{config_name}: unknown {what} key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys are {', '.join(sorted(valid)) or '(none)'}"
        )
    return dict(given)
