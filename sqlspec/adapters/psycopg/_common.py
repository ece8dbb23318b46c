"""What the sync and async psycopg adapters share: error mapping, bind-error probing, column
names, and the configuration (keys, validation, pool arguments, the transaction-opening text)."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from sqlspec import exceptions as exc
from sqlspec._optional import driver_import
from sqlspec._pooler import (
    check_no_prepared_statements,
    pooler_mode,
    refuse_timeout_in_statement_mode,
    with_pooler_hint,
)
from sqlspec._timeouts import set_local_statement_timeout, statement_timeout
from sqlspec._values import UnbindableValue, locate, locate_in_rows, refuse
from sqlspec.config import DEFAULT_CONNECT_TIMEOUT, DatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.statement import Dialect, ParamStyle
from sqlspec.translate import for_sqlstate, translate

with driver_import("psycopg", "psycopg", "psycopg_pool"):
    import psycopg
    from psycopg import sql as pg_sql
    from psycopg.pq import TransactionStatus

IDLE = TransactionStatus.IDLE

#: The PostgreSQL protocol's limit on parameters per statement (a 16-bit count).
PARAMETER_LIMIT = 65535

#: libpq connection parameters accepted as ``pool_config`` keys besides ``conninfo``/``dsn``.
LIBPQ_KEYS = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "channel_binding",
        "connect_timeout", "client_encoding", "options", "application_name",
        "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "sslmode", "sslcert", "sslkey", "sslrootcert",
        "sslcrl", "sslpassword", "sslcompression", "requiressl", "gssencmode", "krbsrvname",
        "target_session_attrs", "load_balance_hosts", "service",
    }
)  # fmt: skip


def error_class(error: BaseException) -> type[SQLSpecError]:
    """The sqlspec class for a psycopg error."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate:
        return for_sqlstate(sqlstate, str(error))
    if isinstance(error, psycopg.OperationalError) and "number of parameters" in str(error):
        return exc.ParameterError  # libpq refused more than 65,535 (a passthrough statement)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return exc.ConnectionError
    if isinstance(error, psycopg.DataError):
        return exc.DataError
    if isinstance(error, psycopg.ProgrammingError):
        return exc.ProgrammingError
    return exc.SQLSpecError


def is_disconnect(error: BaseException, conn: Any) -> bool:
    """True when a psycopg error left the connection dead (psycopg marks it closed when libpq
    reports it broken: the server ended it, restarted, or cannot be reached)."""
    return bool(conn.closed) or getattr(error, "sqlstate", None) in _DEAD_CONNECTION_STATES


#: admin_shutdown, crash_shutdown, cannot_connect_now: the server ended the session.
_DEAD_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03"})


def result_column_names(cursor: Any, encoding: str) -> tuple[str, ...] | None:
    """Column names read from the query result itself: ``cursor.description`` would build one
    ``Column`` object per column on every statement."""
    result = cursor.pgresult
    if result is None or result.status not in _ROW_STATUSES:
        return None
    names = []
    for index in range(result.nfields):
        name = result.fname(index)
        names.append(name.decode(encoding) if name is not None else f"column_{index + 1}")
    return tuple(names)


#: What psycopg raises, before sending anything, for a value it cannot adapt or encode.
BIND_ERRORS = (psycopg.ProgrammingError, psycopg.DataError, UnicodeEncodeError, OverflowError)


def _find_unbindable(conn: Any, values: Any, rows: bool = False) -> UnbindableValue | None:
    """The first value psycopg cannot adapt with ``conn``'s adapters (each value dumped alone,
    on the client). Error path only."""

    def check(value: object) -> str | None:
        try:
            pg_sql.Literal(value).as_string(conn)
        except (psycopg.Error, UnicodeError, OverflowError, TypeError, ValueError) as error:
            return str(error).partition(" using placeholder")[0]  # the probe's, not the user's
        return None

    return locate_in_rows(values, check) if rows else locate(values, check)


def refuse_bind(error: BaseException, conn: Any, values: Any, rows: bool = False) -> NoReturn:
    """Re-raise a driver error from a statement; a client-side refusal of a value (no SQLSTATE)
    names the value."""
    if getattr(error, "sqlstate", None):
        raise error
    refuse(error, _find_unbindable(conn, values, rows))


def script_in_transaction(config: PsycopgSettings, conn: Any, sql: str) -> bytes:
    """A script's text, after the transaction's opening commands when none is open yet."""
    if conn.pgconn.transaction_status == IDLE and config.begin_commands:
        return config.begin_statement + b";\n" + sql.encode()
    return sql.encode()


_ROW_STATUSES = frozenset(
    status
    for status in (
        getattr(psycopg.pq.ExecStatus, name, None)
        for name in ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK")
    )
    if status is not None
)


class PsycopgSession:
    """What the sync and async psycopg sessions share (mixed in before the core driver)."""

    parameter_style: ClassVar[ParamStyle] = ParamStyle.FORMAT
    dialect: ClassVar[Dialect] = Dialect.POSTGRES
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (psycopg.Error,)
    parameter_limit: ClassVar[int | None] = PARAMETER_LIMIT
    __slots__ = ()

    def _in_transaction(self, conn: Any) -> bool:
        return bool(conn.pgconn.transaction_status != IDLE)

    def _is_disconnect(self, error: BaseException, conn: Any) -> bool:
        return is_disconnect(error, conn)

    def _translate(self, error: BaseException) -> SQLSpecError:
        return with_pooler_hint(translate(error, error_class(error)), error)


class PsycopgSettings(DatabaseConfig):
    """The configuration both psycopg configs share: ``pool_config`` and ``driver_features``
    keys, their validation, and what a session opens its transactions with."""

    feature_keys = frozenset({"pooler_mode", "statement_timeout"})
    #: Seconds a statement may run (``None``: no limit), set from ``driver_features``.
    statement_timeout: float | None
    #: What a session opens its transactions with, sent in one flight with the transaction's
    #: first statement (empty in statement mode: no transactions), and the same as one text.
    begin_commands: tuple[bytes, ...]
    begin_statement: bytes
    #: Whether those are pipelined with the first statement (not behind a pooler).
    pipelined_begin: bool
    connection_keys = LIBPQ_KEYS | {
        "conninfo",
        "dsn",
        "prepare_threshold",
    }
    pool_keys = frozenset(
        {
            "min_size", "max_size", "timeout", "max_waiting", "max_lifetime", "max_idle",
            "reconnect_timeout", "num_workers", "name",
        }
    )  # fmt: skip

    def _validate(self) -> None:
        name = type(self).__name__
        settings = self.pool_config
        if "conninfo" in settings and "dsn" in settings:
            raise ImproperConfigurationError(
                f"{name}: give conninfo or dsn (the same thing), not both"
            )
        mode = pooler_mode(name, self.driver_features)
        if "prepare_threshold" in settings:
            value = settings["prepare_threshold"]
            check_no_prepared_statements(name, mode, "prepare_threshold", value, None)
        if self.max_pool_size() < int(settings.get("min_size", 1)):
            raise ImproperConfigurationError(f"{name}: max_size must be at least min_size")
        self._timeout_settings(mode)

    def _timeout_settings(self, mode: str) -> None:
        self.statement_timeout = statement_timeout(self)
        commands: tuple[bytes, ...] = (b"BEGIN",)
        if self.statement_timeout is not None:
            refuse_timeout_in_statement_mode(self)
            commands += (set_local_statement_timeout(self.statement_timeout).encode(),)
        if mode == "statement":
            commands = ()
        self.begin_commands = commands
        # Behind a pooler BEGIN is a round trip of its own: PgBouncer (1.18) loses track of a
        # server connection after a pipeline that failed, and later clients wait for it forever.
        self.pipelined_begin = mode == "session"
        self.begin_statement = b"; ".join(commands)

    def _pool_arguments(self) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(conninfo, connection kwargs, pool kwargs) for ``psycopg_pool``."""
        settings = self.pool_config
        conninfo = str(settings.get("conninfo", settings.get("dsn", "")))
        kwargs = {k: v for k, v in settings.items() if k in LIBPQ_KEYS}
        if "connect_timeout" not in kwargs and "connect_timeout" not in _conninfo_keys(conninfo):
            kwargs["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
        if "prepare_threshold" in settings:
            kwargs["prepare_threshold"] = settings["prepare_threshold"]
        # Sessions open their transactions themselves, BEGIN pipelined with the first statement.
        kwargs["autocommit"] = True
        mode = self.driver_features.get("pooler_mode", "session")
        if mode != "session":
            kwargs["prepare_threshold"] = None  # unnamed statements only: nothing outlives a Sync
        options = {k: v for k, v in settings.items() if k in self.pool_keys}
        options.setdefault("min_size", 1)
        options["max_size"] = self.max_pool_size()
        options.setdefault("name", self.describe())
        return conninfo, kwargs, options

    def describe(self) -> str:
        shown = self.pool_config.get("conninfo") or self.pool_config.get("dsn")
        if shown:
            return f"{type(self).__name__}({_hide_password(str(shown))!r})"
        return DatabaseConfig.describe(self)


def _conninfo_keys(conninfo: str) -> frozenset[str]:
    try:
        return frozenset(psycopg.conninfo.conninfo_to_dict(conninfo))
    except psycopg.Error:
        return frozenset()  # libpq reports the bad string when connecting


def _hide_password(conninfo: str) -> str:
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "<unparsable conninfo>"
    if "password" in params:
        params["password"] = "***"
    return " ".join(f"{k}={v}" for k, v in params.items())
