"""The sqlspec exception family.

Every error sqlspec raises derives from :class:`SQLSpecError`. Errors raised by a database driver
are translated into the closest subclass and chained (``raise ... from driver_error``), so the
original driver exception is always available as ``__cause__``.
"""

from __future__ import annotations

__all__ = (
    "CheckViolationError",
    "ConnectionError",
    "DataError",
    "DeadlockError",
    "ForeignKeyViolationError",
    "ImproperConfigurationError",
    "IntegrityError",
    "MigrationError",
    "MissingDependencyError",
    "MultipleResultsFoundError",
    "NotFoundError",
    "NotNullViolationError",
    "OperationalError",
    "ParameterError",
    "PoolTimeoutError",
    "PortalTimeoutError",
    "ProgrammingError",
    "SQLFileError",
    "SQLSpecError",
    "SerializationError",
    "StatementTimeoutError",
    "TransactionError",
    "UniqueViolationError",
)


class SQLSpecError(Exception):
    """Base class of every error raised by sqlspec."""


class ImproperConfigurationError(SQLSpecError):
    """A configuration mistake, raised when the configuration is made or registered."""


class ParameterError(SQLSpecError):
    """Parameters do not match the placeholders of a statement (raised before the driver runs)."""


class NotFoundError(SQLSpecError):
    """A statement that had to return exactly one row returned none."""


class MultipleResultsFoundError(SQLSpecError):
    """A statement that had to return exactly one row returned several."""


class IntegrityError(SQLSpecError):
    """A constraint was violated."""


class UniqueViolationError(IntegrityError):
    """A UNIQUE or PRIMARY KEY constraint was violated."""


class ForeignKeyViolationError(IntegrityError):
    """A FOREIGN KEY constraint was violated."""


class NotNullViolationError(IntegrityError):
    """A NOT NULL constraint was violated."""


class CheckViolationError(IntegrityError):
    """A CHECK constraint was violated."""


class ConnectionError(SQLSpecError):
    """The database could not be reached or the connection broke."""


class PoolTimeoutError(ConnectionError):
    """No connection became free in the pool within its acquire timeout."""


class TransactionError(SQLSpecError):
    """A transaction could not be started, committed or rolled back (serialization, deadlock...)."""


class SerializationError(TransactionError):
    """The transaction conflicted with a concurrent one and was rolled back (PostgreSQL SQLSTATE
    40001, SQLite's stale WAL snapshot ``SQLITE_BUSY_SNAPSHOT``, MariaDB error 1020 under
    snapshot isolation, DuckDB's write-write "Conflict on ..."). Running the whole transaction
    again may succeed: see :func:`sqlspec.retry_on_conflict`."""


class DeadlockError(TransactionError):
    """The database broke a deadlock by rolling this transaction back (PostgreSQL SQLSTATE 40P01,
    MySQL/MariaDB error 1213). Running the whole transaction again may succeed: see
    :func:`sqlspec.retry_on_conflict`."""


class DataError(SQLSpecError):
    """A value was invalid for its column or operation (bad type, range, division by zero)."""


class OperationalError(SQLSpecError):
    """The database failed to run a statement for a reason outside it (locks, disk...)."""


class StatementTimeoutError(OperationalError):
    """A statement ran past the config's ``statement_timeout`` and was stopped.

    The session's transaction has been rolled back; the session and its connection stay usable.
    """


class ProgrammingError(SQLSpecError):
    """The statement itself is wrong: syntax error, unknown table or column."""


class PortalTimeoutError(SQLSpecError, TimeoutError):
    """An async operation run from sync code through the portal exceeded its timeout."""


class MigrationError(SQLSpecError):
    """A schema migration cannot run: a malformed or changed migration file, a missing down
    section, or a migration that failed (its error is chained)."""


class SQLFileError(SQLSpecError):
    """A named SQL file cannot be loaded (bad name, duplicate name, unreadable file), or a name
    that was never loaded was asked for."""


class MissingDependencyError(SQLSpecError, ImportError):
    """An adapter's database driver is not installed; the message names the extra to install.

    Also an :class:`ImportError`, so ``try: import ... except ImportError`` keeps working."""
