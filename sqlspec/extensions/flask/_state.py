"""Per-database settings of the Flask extension, validated once at ``init_app``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlspec._names import close_match, settings_keys, unknown_names
from sqlspec.config import DatabaseConfig, FlaskConfig
from sqlspec.exceptions import ImproperConfigurationError

__all__ = ("COMMIT_MODES", "DatabaseState", "build_states")

COMMIT_MODES = ("manual", "autocommit", "autocommit_include_redirect")
_FLASK_KEYS = settings_keys(FlaskConfig)
_BOOLEAN_KEYS = ("record_queries", "record_parameters", "enable_correlation_middleware")
#: The request id header of the correlation middleware unless ``correlation_header`` says.
DEFAULT_CORRELATION_HEADER = "X-Request-ID"
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
# Statuses that commit in each automatic mode, as a half-open range.
_COMMIT_RANGES = {"autocommit": (200, 300), "autocommit_include_redirect": (200, 400)}


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """How the extension handles one database."""

    config: DatabaseConfig
    session_key: str
    connection_key: str
    commit_mode: str
    extra_commit_statuses: frozenset[int]
    extra_rollback_statuses: frozenset[int]
    #: Every status that commits, worked out once; ``None`` in manual mode.
    commit_statuses: frozenset[int] | None
    #: ``record_queries`` as given; ``None``: decided by ``app.debug``/``app.testing``.
    record_queries: bool | None = None
    record_parameters: bool = False
    enable_correlation_middleware: bool = False
    correlation_header: str = DEFAULT_CORRELATION_HEADER

    @property
    def autocommits(self) -> bool:
        return self.commit_statuses is not None

    def commits_on(self, status: int) -> bool:
        """Whether a response with this status commits (automatic modes only)."""
        return self.commit_statuses is not None and status in self.commit_statuses


def build_states(configs: Sequence[DatabaseConfig]) -> dict[str, DatabaseState]:
    """Validate every config's ``extension_config["flask"]``; keyed by session key, in order."""
    states = [_state_for(config) for config in configs]
    keys: list[str] = []
    for state in states:
        keys.append(state.session_key)
        if state.connection_key != state.session_key:
            keys.append(state.connection_key)
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        # A connection key that only repeats because its defaulted session keys do is not news.
        shown = [key for key in duplicates if _uses(key, states, duplicates)] or duplicates
        raise ImproperConfigurationError(
            f"Duplicate state keys found: {', '.join(map(repr, shown))}. "
            + "; ".join(
                f"{key!r} is used by {' and '.join(_uses(key, states, duplicates))}"
                for key in shown
            )
            + '. Give each config a unique extension_config={"flask": {"session_key": ...}} '
            '(e.g. "users" and "events"; connection_key defaults to "<session_key>_connection").'
        )
    return {state.session_key: state for state in states}


def _uses(key: str, states: Sequence[DatabaseState], duplicates: list[str]) -> list[str]:
    """The configs using ``key``, as which key, and whether they wrote it or got the default."""
    uses: list[str] = []
    for state in states:
        given = state.config.extension_config.get("flask") or {}
        if state.session_key == key:
            how = "" if "session_key" in given else " by default"
            uses.append(f"{state.config.describe()} (session_key{how})")
        elif state.connection_key == key:
            if "connection_key" not in given and state.session_key in duplicates:
                continue
            how = "" if "connection_key" in given else " by default"
            uses.append(f"{state.config.describe()} (connection_key{how})")
    return uses


def _state_for(config: DatabaseConfig) -> DatabaseState:
    settings: dict[str, Any] = dict(config.extension_config.get("flask") or {})
    where = f'{config.describe()} extension_config["flask"]'
    # Checked when the config was made too; again here for settings changed since.
    unknown = sorted(set(settings) - _FLASK_KEYS)
    if unknown:
        raise ImproperConfigurationError(
            f"{where}: unknown key(s) {unknown_names(unknown, _FLASK_KEYS)}; "
            f"valid keys are {', '.join(sorted(_FLASK_KEYS))}"
        )
    session_key = settings.get("session_key", "default")
    connection_key = settings.get("connection_key", f"{session_key}_connection")
    for name, value in (("session_key", session_key), ("connection_key", connection_key)):
        if not isinstance(value, str) or not value.isidentifier():
            raise ImproperConfigurationError(
                f"{where}: {name} must be a Python identifier string, got {value!r}"
            )
    commit_mode = settings.get("commit_mode", "manual")
    if commit_mode not in COMMIT_MODES:
        match = close_match(commit_mode, COMMIT_MODES)
        hint = f" (did you mean {match!r}?)" if match else ""
        raise ImproperConfigurationError(
            f"{where}: unknown commit_mode {commit_mode!r}{hint}; use one of "
            f"{', '.join(map(repr, COMMIT_MODES))}"
        )
    extra_commit = _statuses(where, "extra_commit_statuses", settings.get("extra_commit_statuses"))
    extra_rollback = _statuses(
        where, "extra_rollback_statuses", settings.get("extra_rollback_statuses")
    )
    overlap = extra_commit & extra_rollback
    if overlap:
        raise ImproperConfigurationError(
            f"{where}: status(es) {sorted(overlap)} are in both extra_commit_statuses and "
            "extra_rollback_statuses"
        )
    if commit_mode == "manual" and (extra_commit or extra_rollback):
        raise ImproperConfigurationError(
            f"{where}: extra commit/rollback statuses have no effect with commit_mode 'manual'; "
            "use 'autocommit' or 'autocommit_include_redirect'"
        )
    commit_statuses = None
    if commit_mode != "manual":
        low, high = _COMMIT_RANGES[commit_mode]
        commit_statuses = (frozenset(range(low, high)) | extra_commit) - extra_rollback
    for name in _BOOLEAN_KEYS:
        if name in settings and not isinstance(settings[name], bool):
            raise ImproperConfigurationError(
                f"{where}: {name} must be True or False, got {settings[name]!r}"
            )
    header = settings.get("correlation_header", DEFAULT_CORRELATION_HEADER)
    if not isinstance(header, str) or not _HEADER_NAME.fullmatch(header):
        raise ImproperConfigurationError(
            f"{where}: correlation_header must be an HTTP header name such as "
            f"'X-Request-ID', got {header!r}"
        )
    return DatabaseState(
        config=config,
        session_key=session_key,
        connection_key=connection_key,
        commit_mode=commit_mode,
        extra_commit_statuses=extra_commit,
        extra_rollback_statuses=extra_rollback,
        commit_statuses=commit_statuses,
        record_queries=settings.get("record_queries"),
        record_parameters=settings.get("record_parameters", False),
        enable_correlation_middleware=settings.get("enable_correlation_middleware", False),
        correlation_header=header,
    )


def _statuses(where: str, name: str, value: Any) -> frozenset[int]:
    if value is None:
        return frozenset()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ImproperConfigurationError(
            f"{where}: {name} must be a set of HTTP status codes, got {value!r}"
        )
    statuses = list(value)
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ImproperConfigurationError(
                f"{where}: {name} must hold HTTP status codes (integers 100-599), got {status!r}"
            )
    return frozenset(statuses)
