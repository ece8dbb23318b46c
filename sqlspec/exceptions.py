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
    "ForeignKeyViolationError",
    "ImproperConfigurationError",
    "IntegrityError",
    "MissingDependencyError",
    "MultipleResultsFoundError",
    "NotFoundError",
    "NotNullViolationError",
    "OperationalError",
    "ParameterError",
    "PoolTimeoutError",
    "PortalTimeoutError",
    "ProgrammingError",
    "SQLSpecError",
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


class DataError(SQLSpecError):
    """A value was invalid for its column or operation (bad type, range, division by zero)."""


class OperationalError(SQLSpecError):
    """The database failed to run a statement for a reason outside it (locks, disk...)."""


class ProgrammingError(SQLSpecError):
    """The statement itself is wrong: syntax error, unknown table or column."""


class PortalTimeoutError(SQLSpecError, TimeoutError):
    """An async operation run from sync code through the portal exceeded its timeout."""


class MissingDependencyError(SQLSpecError, ImportError):
    """An adapter's database driver is not installed; the message names the extra to install.

    Also an :class:`ImportError`, so ``try: import ... except ImportError`` keeps working."""
