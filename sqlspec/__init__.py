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
from sqlspec.config import FlaskConfig, StatementConfig
from sqlspec.exceptions import (
    ImproperConfigurationError,
    MultipleResultsFoundError,
    NotFoundError,
    SQLSpecError,
)
from sqlspec.protocols import AsyncSession, SyncSession
from sqlspec.result import SQLResult

__all__ = (
    "AsyncSession",
    "FlaskConfig",
    "ImproperConfigurationError",
    "MultipleResultsFoundError",
    "NotFoundError",
    "SQLResult",
    "SQLSpec",
    "SQLSpecError",
    "StatementConfig",
    "SyncSession",
)

__version__ = "0.1.0"
