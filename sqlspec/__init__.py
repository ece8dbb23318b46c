"""sqlspec: a SQL execution layer (no ORM) with real database adapters and Flask integration.

>>> from sqlspec import SQLSpec
>>> from sqlspec.adapters.sqlite import SqliteConfig
>>> spec = SQLSpec()
>>> config = spec.add_config(SqliteConfig(pool_config={"database": ":memory:"}))
>>> with spec.provide_session(config) as session:
...     session.select_value("SELECT 1 + ?", 1)
2
"""

from sqlspec.base import SQLSpec
from sqlspec.config import FlaskConfig, MigrationConfig, StatementConfig
from sqlspec.exceptions import (
    DeadlockError,
    ImproperConfigurationError,
    MigrationError,
    MultipleResultsFoundError,
    NotFoundError,
    SerializationError,
    SQLFileError,
    SQLSpecError,
)
from sqlspec.protocols import AsyncSession, SyncSession
from sqlspec.result import SQLResult
from sqlspec.retry import retry_on_conflict

__all__ = (
    "AsyncSession",
    "DeadlockError",
    "FlaskConfig",
    "ImproperConfigurationError",
    "MigrationConfig",
    "MigrationError",
    "MultipleResultsFoundError",
    "NotFoundError",
    "SQLFileError",
    "SQLResult",
    "SQLSpec",
    "SQLSpecError",
    "SerializationError",
    "StatementConfig",
    "SyncSession",
    "retry_on_conflict",
)

__version__ = "0.1.0"
