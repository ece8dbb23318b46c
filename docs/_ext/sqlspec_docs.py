"""Sphinx directives that build the configuration reference from the code, so it cannot drift.

* ``sqlspec-config-keys <dotted.ConfigClass>``: every key the class accepts
  (``connection_keys``, ``pool_keys``, ``feature_keys``), its default and its meaning. Defaults
  are read from the adapter's source (``_setting("key", default)``, ``setdefault("key",
  default)``, ``pop``/``get`` with a default) and, failing that, from the driver's own
  connect/pool signature.
* ``sqlspec-key-matrix``: which adapters accept each pool and driver-feature key.
* ``sqlspec-flask-keys``: every ``FlaskConfig`` key with the docstring it has in
  ``sqlspec/config.py``.

A pool or driver-feature key without a description in :data:`DESCRIPTIONS`, or a description
of a key no config accepts any more, is a build warning (an error under ``-W``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ADAPTERS: list[tuple[str, str, str]] = [
    # (config class, extra to install, driver)
    ("sqlspec.adapters.sqlite.SqliteConfig", "sqlite", "sqlite3 (standard library)"),
    ("sqlspec.adapters.duckdb.DuckDBConfig", "duckdb", "duckdb"),
    ("sqlspec.adapters.psycopg.PsycopgSyncConfig", "psycopg", "psycopg 3 + psycopg_pool"),
    ("sqlspec.adapters.psycopg.PsycopgAsyncConfig", "psycopg", "psycopg 3 + psycopg_pool"),
    ("sqlspec.adapters.aiosqlite.AiosqliteConfig", "aiosqlite", "aiosqlite"),
    ("sqlspec.adapters.asyncpg.AsyncpgConfig", "asyncpg", "asyncpg"),
    ("sqlspec.adapters.asyncmy.AsyncmyConfig", "asyncmy", "asyncmy"),
]

#: What each key means: by key, or by ``"ClassName.key"`` where a class differs.
DESCRIPTIONS: dict[str, str] = {
    # pools (sqlspec's own pool: SQLite, DuckDB, aiosqlite, asyncmy)
    "min_size": "Connections opened when the pool is created and kept open.",
    "max_size": "Connections open at most; further borrowers wait.",
    "acquire_timeout": "Seconds to wait for a free connection before raising PoolTimeoutError.",
    # psycopg_pool
    "PsycopgSyncConfig.timeout": "Seconds to wait for a free connection (psycopg_pool), then "
    "PoolTimeoutError.",
    "PsycopgAsyncConfig.timeout": "Seconds to wait for a free connection (psycopg_pool), then "
    "PoolTimeoutError.",
    "max_waiting": "Borrowers allowed to queue (0: unlimited); more are refused at once.",
    "max_lifetime": "Seconds after which a connection is replaced.",
    "max_idle": "Seconds an idle connection above min_size is kept.",
    "reconnect_timeout": "Seconds psycopg_pool keeps trying to reconnect before giving up.",
    "num_workers": "Background threads psycopg_pool uses to open connections.",
    "name": "Name of the pool in psycopg_pool's logs (default: the config's description).",
    # asyncpg
    "max_queries": "Queries after which a connection is replaced.",
    "max_inactive_connection_lifetime": "Seconds an idle connection is kept.",
    "init": "Coroutine run on every new connection (asyncpg).",
    "setup": "Coroutine run on a connection each time it is borrowed (asyncpg).",
    # driver features
    "pragmas": "PRAGMAs set on every new connection, e.g. {'journal_mode': 'wal'}; "
    "foreign_keys is on unless set otherwise.",
    "transaction_mode": "How the session's BEGIN takes locks: 'deferred', 'immediate' or "
    "'exclusive'.",
    "statement_timeout": "Seconds any one statement may run; past it the statement is stopped, "
    "StatementTimeoutError is raised and the transaction rolled back. Off by default.",
    "pooler_mode": "'session' (default: a direct connection or a session-mode pooler), "
    "'transaction' or 'statement' for PgBouncer in that pool mode: no server-side prepared "
    "statement outlives a transaction; 'statement' also runs every statement on its own.",
    # connection keys worth a word (the rest go to the driver unchanged)
    "database": "Database file, ':memory:' (one in-memory database per config), or the "
    "database name on a server.",
    "SqliteConfig.timeout": "Seconds to wait on a locked database (SQLite busy timeout).",
    "AiosqliteConfig.timeout": "Seconds to wait on a locked database (SQLite busy timeout).",
    "check_same_thread": "sqlite3's thread check; off so that pooled connections move between "
    "threads.",
    "uri": "Read database as a file: URI.",
    "iter_chunk_size": "Rows aiosqlite fetches per round trip when iterating.",
    "read_only": "Open the DuckDB file read-only (several processes may then share it).",
    "config": "DuckDB settings, e.g. {'threads': 4}.",
    "conninfo": "libpq connection string or URL (same as dsn).",
    "dsn": "Connection string or URL.",
    "host": "Server host name or address.",
    "port": "Server port.",
    "user": "User name.",
    "password": "Password (never shown in repr or logs).",
    "dbname": "Database name.",
    "db": "Database name (same as database).",
    "charset": "Connection character set.",
    "connect_timeout": "Seconds to wait when connecting.",
    "AsyncpgConfig.timeout": "Seconds to wait when connecting.",
    "command_timeout": "Default seconds a statement may run.",
    "statement_cache_size": "Prepared statements cached per connection (0 disables).",
    "prepare_threshold": "Executions after which psycopg prepares a statement (None: never).",
}

# Where the driver's own defaults are read from when the adapter sets none:
# (connect function, pool constructor), as "module:attribute".
DRIVER_SIGNATURES: dict[str, tuple[str | None, str | None]] = {
    "SqliteConfig": ("sqlite3:connect", None),
    "DuckDBConfig": (None, None),
    "PsycopgSyncConfig": (None, "psycopg_pool:ConnectionPool"),
    "PsycopgAsyncConfig": (None, "psycopg_pool:AsyncConnectionPool"),
    "AiosqliteConfig": ("sqlite3:connect", None),
    "AsyncpgConfig": ("asyncpg:connect", "asyncpg:create_pool"),
    "AsyncmyConfig": (None, None),
}

_SOURCE_CALLS = {"_setting", "setdefault", "pop", "get"}


def _import(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _resolve(spec: str) -> Callable[..., Any] | None:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


def source_defaults(cls: type, keys: frozenset[str]) -> dict[str, list[Any]]:
    """Literal defaults the adapter's module (and the core's sqlite helpers) give ``keys``."""
    module = importlib.import_module(cls.__module__)
    files = [Path(inspect.getfile(module))]
    if "pragmas" in cls.feature_keys:  # SQLite and aiosqlite share sqlspec/_sqlite.py
        files.append(Path(inspect.getfile(importlib.import_module("sqlspec._sqlite"))))
    found: dict[str, list[Any]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _SOURCE_CALLS
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in keys
            ):
                continue
            try:
                value = ast.literal_eval(node.args[1])
            except ValueError:
                continue
            values = found.setdefault(node.args[0].value, [])
            if value not in values:
                values.append(value)
    return found


def signature_defaults(spec: str | None) -> dict[str, Any]:
    target = _resolve(spec) if spec else None
    if target is None:
        return {}
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def describe(cls: type, key: str) -> str | None:
    return DESCRIPTIONS.get(f"{cls.__name__}.{key}") or DESCRIPTIONS.get(key)


def key_rows(cls: type) -> list[list[str]]:
    """Rows ``[key, kind, default, meaning]`` for every key ``cls`` accepts."""
    all_keys = cls.connection_keys | cls.pool_keys | cls.feature_keys
    from_source = source_defaults(cls, all_keys)
    connect_spec, pool_spec = DRIVER_SIGNATURES.get(cls.__name__, (None, None))
    from_connect, from_pool = signature_defaults(connect_spec), signature_defaults(pool_spec)
    rows = []
    for kind, keys, driver_defaults in (
        ("pool", cls.pool_keys, from_pool),
        ("driver_features", cls.feature_keys, {}),
        ("connection", cls.connection_keys, from_connect),
    ):
        for key in sorted(keys):
            if key in from_source:
                default = " / ".join(repr(value) for value in from_source[key])
            elif key in driver_defaults:
                default = f"{driver_defaults[key]!r} (driver)"
            else:
                default = "driver default" if kind == "connection" else "not set"
            meaning = describe(cls, key)
            if meaning is None:
                if kind != "connection":
                    logger.warning("sqlspec_docs: %s.%s has no description", cls.__name__, key)
                meaning = "Passed to the driver's connect call unchanged."
            rows.append([key, kind, default, meaning])
    return rows


def table(
    header: list[str],
    rows: list[list[str]],
    literal_columns: set[int],
    widths: list[int] | None = None,
) -> nodes.table:
    tgroup = nodes.tgroup(cols=len(header))
    for width in widths or [1] * len(header):
        tgroup += nodes.colspec(colwidth=width)

    def row(cells: list[str], *, head: bool = False) -> nodes.row:
        result = nodes.row()
        for index, text in enumerate(cells):
            entry = nodes.entry()
            paragraph = nodes.paragraph()
            if not head and index in literal_columns:
                paragraph += nodes.literal(text=text)
            else:
                paragraph += nodes.Text(text)
            entry += paragraph
            result += entry
        return result

    thead = nodes.thead()
    thead += row(header, head=True)
    tbody = nodes.tbody()
    for cells in rows:
        tbody += row(cells)
    tgroup += thead
    tgroup += tbody
    result = nodes.table()
    result += tgroup
    return result


class ConfigKeys(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        cls = _import(self.arguments[0])
        rows = key_rows(cls)
        return [table(["key", "kind", "default", "meaning"], rows, {0, 2}, [3, 2, 2, 6])]


class KeyMatrix(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        classes = [_import(path) for path, _, _ in ADAPTERS]
        keys = sorted(set().union(*(c.pool_keys | c.feature_keys for c in classes)))
        rows = [
            [key, *("yes" if key in (c.pool_keys | c.feature_keys) else "" for c in classes)]
            for key in keys
        ]
        return [table(["key", *(c.__name__ for c in classes)], rows, {0})]


class AdapterTable(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = []
        for path, extra, driver in ADAPTERS:
            cls = _import(path)
            rows.append([path, "async" if cls.is_async else "sync", f"sqlspec[{extra}]", driver])
        return [table(["config", "session", "extra", "driver"], rows, {0, 2})]


def flask_rows() -> list[list[str]]:
    """``[key, type, description]`` of every FlaskConfig key, from sqlspec/config.py."""
    from sqlspec import config

    tree = ast.parse(Path(inspect.getfile(config)).read_text(encoding="utf-8"))
    body = next(
        node.body
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == "FlaskConfig"
    )
    rows = []
    for index, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            doc = ""
            following = body[index + 1] if index + 1 < len(body) else None
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                doc = " ".join(str(following.value.value).replace("``", "").split())
            annotation = ast.unparse(node.annotation)
            annotation = annotation.removeprefix("NotRequired[").removesuffix("]")
            rows.append([node.target.id, annotation, doc])
    declared = set(config.FlaskConfig.__annotations__)
    if {row[0] for row in rows} != declared:
        logger.warning("sqlspec_docs: FlaskConfig keys %s not read from the source", declared)
    return rows


class FlaskKeys(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        return [table(["key", "type", "meaning and default"], flask_rows(), {0, 1}, [3, 3, 6])]


def check_descriptions(app: Sphinx) -> None:
    accepted: set[str] = set()
    names: set[str] = set()
    for path, _, _ in ADAPTERS:
        cls = _import(path)
        names.add(cls.__name__)
        accepted |= cls.connection_keys | cls.pool_keys | cls.feature_keys
    for entry in DESCRIPTIONS:
        owner, _, key = entry.rpartition(".")
        if key not in accepted or (owner and owner not in names):
            logger.warning("sqlspec_docs: DESCRIPTIONS names %r, which no config accepts", entry)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("sqlspec-config-keys", ConfigKeys)
    app.add_directive("sqlspec-key-matrix", KeyMatrix)
    app.add_directive("sqlspec-adapters", AdapterTable)
    app.add_directive("sqlspec-flask-keys", FlaskKeys)
    app.connect("builder-inited", check_descriptions)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
