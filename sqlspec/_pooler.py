"""The ``pooler_mode`` driver feature of the PostgreSQL adapters (PgBouncer and the like).

A connection pooler in *transaction* mode gives a client a server connection for one transaction
only; in *statement* mode for one statement only. A server-side prepared statement lives on the
server connection that prepared it, so behind such a pooler it is found (or missing, or named
like another client's) on whatever server connection the next transaction gets. With
``pooler_mode`` set to ``"transaction"`` or ``"statement"`` the adapters keep no prepared
statement beyond one transaction; the default ``"session"`` (a direct connection, or a pooler in
session mode) keeps the drivers' own prepared-statement caches.

Only the validation and the messages live here, shared by the psycopg and asyncpg adapters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError, TransactionError

__all__ = (
    "POOLER_MODES",
    "PoolerMode",
    "check_no_prepared_statements",
    "pooler_mode",
    "statement_mode_transaction_error",
    "with_pooler_hint",
)

PoolerMode = Literal["session", "transaction", "statement"]

#: The valid ``driver_features["pooler_mode"]`` values, the default first.
POOLER_MODES: tuple[PoolerMode, ...] = ("session", "transaction", "statement")


def pooler_mode(config_name: str, features: Mapping[str, Any]) -> PoolerMode:
    """The configured pooler mode (``"session"`` when not given); an unknown value raises
    :class:`ImproperConfigurationError` naming the valid ones."""
    mode = features.get("pooler_mode", "session")
    for valid in POOLER_MODES:
        if mode == valid and isinstance(mode, str):
            return valid
    raise ImproperConfigurationError(
        f"{config_name}: driver_features['pooler_mode'] must be 'session' (the default: a direct "
        "connection or a session-mode pooler), 'transaction' or 'statement' (the pool_mode of "
        f"the PgBouncer, or other pooler, in front of the server); got {mode!r}"
    )


def check_no_prepared_statements(
    config_name: str, mode: PoolerMode, key: str, value: Any, safe: Any
) -> None:
    """Refuse a driver setting that keeps server-side prepared statements (``key`` set to
    anything but ``safe``) when ``mode`` is ``"transaction"`` or ``"statement"``."""
    if mode == "session" or value is safe or value == safe:
        return
    raise ImproperConfigurationError(
        f"{config_name}: {key}={value!r} keeps server-side prepared statements, which a "
        f"{mode}-mode pooler hands to other clients' transactions; with "
        f"driver_features['pooler_mode']={mode!r} sqlspec sets {key}={safe!r} itself: remove "
        f"{key} from pool_config (or set pooler_mode='session' if the pooler is in session mode)"
    )


def statement_mode_transaction_error(config_name: str) -> TransactionError:
    """What ``begin()`` raises with ``pooler_mode="statement"``."""
    return TransactionError(
        f"{config_name}: pooler_mode='statement' runs every statement on its own (each commits "
        "as it runs), because a statement-mode pooler refuses transactions of several "
        "statements; begin() cannot open one. Use a transaction-mode pool with "
        "pooler_mode='transaction' for multi-statement transactions"
    )


# The names psycopg (``_pg3_0``) and asyncpg (``__asyncpg_stmt_1__``) give prepared statements.
def refuse_timeout_in_statement_mode(config: Any) -> None:
    """``statement_timeout`` is set with ``SET LOCAL`` in each transaction's ``BEGIN``; in
    statement mode there are no transactions, so the combination is refused."""
    if config.driver_features.get("pooler_mode") == "statement":
        raise ImproperConfigurationError(
            f"{type(config).__name__}: statement_timeout cannot be combined with "
            "pooler_mode='statement' (the limit is set per transaction, and statement mode has "
            "none); use pooler_mode='transaction', or set statement_timeout on the database "
            "role (ALTER ROLE ... SET statement_timeout = ...)"
        )


_DRIVER_STATEMENT = re.compile(r'prepared statement "(_pg3_|__asyncpg_stmt_)')

_POOLER_HINT = (
    " (sqlspec: the driver's own prepared statement is missing, duplicated or of another "
    "shape on this server connection, the sign of a transaction- or statement-mode pooler such "
    "as PgBouncer between the application and the server: set "
    "driver_features={'pooler_mode': 'transaction'} (or 'statement') on this config)"
)


def with_pooler_hint(error: SQLSpecError, driver_error: BaseException) -> SQLSpecError:
    """``error`` with a hint to set ``pooler_mode`` when ``driver_error`` is about one of the
    driver's own prepared statements (on error paths only: nothing is checked otherwise)."""
    message = str(driver_error)
    if _DRIVER_STATEMENT.search(message):
        error.args = (f"{error.args[0] if error.args else message}{_POOLER_HINT}",)
    return error
