"""PostgreSQL through ``asyncpg``, pooled by asyncpg's own pool.

asyncpg runs every statement on its own unless a transaction is open, so the session sends
``BEGIN`` before its first statement (``conn.is_in_transaction()`` tells whether one is open):
``rollback()`` really undoes writes. Statements run as prepared statements from asyncpg's
per-connection statement cache; whether one returns rows is read from its result columns, and
``rows_affected`` from its command status (``"UPDATE 2"``). Errors are translated by SQLSTATE.

With ``driver_features={"pooler_mode": "transaction"}`` (or ``"statement"``) the statement cache
is off: asyncpg then prepares every statement unnamed (``_get_statement`` names a statement only
when it goes into the cache), and sqlspec's own path below reads a result's columns from the
statement it just ran instead of preparing it again, so no named statement is ever created.
"""

from sqlspec.adapters.asyncpg._config import AsyncpgConfig
from sqlspec.adapters.asyncpg._driver import (
    AsyncpgDriver,
    AsyncpgStatementModeDriver,
    TimedAsyncpgDriver,
)

__all__ = ("AsyncpgConfig", "AsyncpgDriver", "AsyncpgStatementModeDriver", "TimedAsyncpgDriver")

# The public classes are named where users import them (observability derives the adapter name,
# and the docs the page, from ``__module__``).
for _public in (AsyncpgConfig, AsyncpgDriver, AsyncpgStatementModeDriver, TimedAsyncpgDriver):
    _public.__module__ = __name__
del _public
