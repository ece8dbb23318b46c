"""PostgreSQL through psycopg 3, pooled by ``psycopg_pool``.

Connections are in psycopg's autocommit mode and the session opens its transactions itself: the
``BEGIN`` (with ``SET LOCAL statement_timeout`` when a limit is set) goes in one pipeline with the
transaction's first statement, so a read request costs two round trips (statement, ``COMMIT``)
where psycopg's own implicit transactions cost three. The adapter also adds SQLSTATE-based error
translation and a pool wrapper that rolls back whatever a borrower left open, fails a borrow
fast with the driver's reason when the server is down, and does not wait out ``psycopg_pool``'s
reconnect backoff once it is back (see :class:`_Pool`). Behind a pooler (``pooler_mode``) the
``BEGIN`` is a round trip of its own.
"""

from sqlspec.adapters.psycopg._async import PsycopgAsyncConfig, PsycopgAsyncDriver
from sqlspec.adapters.psycopg._sync import PsycopgConfig, PsycopgSyncConfig, PsycopgSyncDriver

__all__ = (
    "PsycopgAsyncConfig",
    "PsycopgAsyncDriver",
    "PsycopgConfig",
    "PsycopgSyncConfig",
    "PsycopgSyncDriver",
)

# The public classes are named where users import them (observability derives the adapter name,
# and the docs the page, from ``__module__``).
for _public in (PsycopgAsyncConfig, PsycopgAsyncDriver, PsycopgSyncConfig, PsycopgSyncDriver):
    _public.__module__ = __name__
del _public
