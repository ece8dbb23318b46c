"""``SQLSpecPlugin``: request-scoped sessions and commit-by-status for Flask."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from flask import Flask, Response, current_app, has_app_context, has_request_context, request
from flask.ctx import AppContext
from flask.globals import app_ctx

from sqlspec.base import SQLSpec
from sqlspec.driver import statement_logger
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.extensions.flask._cli import sqlspec_cli
from sqlspec.extensions.flask._state import DatabaseState, build_states
from sqlspec.portal import get_portal
from sqlspec.testing import isolated

__all__ = ("SQLSpecPlugin",)

logger = logging.getLogger("sqlspec.flask")

_CONTEXT = "_sqlspec"


class _ContextSessions:
    """The sessions borrowed in one app context, and the settings of that context's app."""

    __slots__ = ("default", "sessions", "states")

    def __init__(self, states: dict[str, DatabaseState]) -> None:
        self.states = states
        self.default = next(iter(states.values()))
        self.sessions: dict[str, Any] = {}


def _app_context() -> AppContext:
    """The current app context, resolved once: the hot path then reads its ``g`` as a plain dict
    and its app directly instead of going through the ``g`` and ``current_app`` proxies."""
    try:
        return app_ctx._get_current_object()  # type: ignore[attr-defined,no-any-return]
    except RuntimeError:
        raise SQLSpecError(
            "plugin.get_session() needs an application context: call it in a request, a "
            "CLI command (@with_appcontext) or inside `with app.app_context():`"
        ) from None


class SQLSpecPlugin:
    """Flask extension giving each app context its own sessions, borrowed on first use.

    ``get_session()`` borrows a connection the first time it is called in an app context (a
    request, a CLI command, a ``with app.app_context():`` block) and returns the same session for
    the rest of that context. After a request, databases in an ``autocommit`` mode commit or roll
    back according to the final response status; at the end of every app context whatever is
    still uncommitted is rolled back and each connection goes back to its pool. A request that
    never asks for a session borrows nothing.

    One plugin may be initialised on several apps; each app reads the registered configs at
    ``init_app``.
    """

    def __init__(self, sqlspec: SQLSpec, app: Flask | None = None) -> None:
        self._sqlspec = sqlspec
        self._states_by_app: dict[Flask, dict[str, DatabaseState]] = {}
        if app is not None:
            self.init_app(app)

    @property
    def sqlspec(self) -> SQLSpec:
        return self._sqlspec

    def init_app(self, app: Flask) -> None:
        """Register the extension on ``app`` (reads the configs registered so far)."""
        if "sqlspec" in app.extensions:
            raise ImproperConfigurationError(
                f"SQLSpec extension already registered on app {app.name!r}; call init_app() "
                "once per app (SQLSpecPlugin(sqlspec, app) already calls it)"
            )
        configs = self._sqlspec.configs
        if not configs:
            raise ImproperConfigurationError(
                "SQLSpecPlugin: no database config is registered; call sqlspec.add_config() "
                "before init_app()"
            )
        states = build_states(configs)
        if any(config.is_async for config in configs):
            get_portal().start()  # now rather than in the first request; restarts after fork
        app.extensions["sqlspec"] = self
        self._states_by_app[app] = states
        # Flask runs these hooks last-registered first; going first in the lists makes ours run
        # after the app's own, whenever those were registered: the commit decision sees the
        # final status, and sessions borrowed in another teardown are still released.
        app.after_request_funcs.setdefault(None, []).insert(0, self._after_request)
        app.teardown_appcontext_funcs.insert(0, self._teardown_appcontext)
        app.cli.add_command(sqlspec_cli)

    # -- sessions ------------------------------------------------------------------------------

    def _states(self) -> dict[str, DatabaseState]:
        """The settings of the current app (one lookup per app context on the hot path); outside
        an app context, those of the only app the plugin is initialised on."""
        if not has_app_context():
            if len(self._states_by_app) == 1:
                return next(iter(self._states_by_app.values()))
            raise ImproperConfigurationError(
                "this SQLSpecPlugin call needs an application context (the plugin is "
                f"initialised on {len(self._states_by_app)} apps)"
            )
        return self._states_for(current_app._get_current_object())  # type: ignore[attr-defined]

    def _states_for(self, app: Flask) -> dict[str, DatabaseState]:
        try:
            return self._states_by_app[app]
        except KeyError:
            raise ImproperConfigurationError(
                f"SQLSpecPlugin is not initialised on app {app.name!r}; call plugin.init_app(app)"
            ) from None

    @staticmethod
    def _pick(states: dict[str, DatabaseState], key: str | None) -> DatabaseState:
        if key is None:
            return next(iter(states.values()))
        try:
            return states[key]
        except KeyError:
            raise ImproperConfigurationError(
                f"unknown session key {key!r}; known keys: {', '.join(map(repr, states))}"
            ) from None

    def _state(self, key: str | None) -> DatabaseState:
        return self._pick(self._states(), key)

    def get_session(self, key: str | None = None) -> Any:
        """The session of database ``key`` (the first registered one when omitted).

        Works in any app context; the same session is returned for the whole context. Async
        configs return a session whose methods run on the portal and return plain results.
        """
        app_context = _app_context()
        namespace = app_context.g.__dict__
        context: _ContextSessions | None = namespace.get(_CONTEXT)
        if context is None:
            context = namespace[_CONTEXT] = _ContextSessions(self._states_for(app_context.app))
        state = context.default if key is None else self._pick(context.states, key)
        session = context.sessions.get(state.session_key)
        if session is None:
            session = state.config.provide_sync_session()  # type: ignore[attr-defined]
            session.__enter__()
            context.sessions[state.session_key] = session
            namespace[state.connection_key] = session.connection
            if statement_logger.isEnabledFor(logging.DEBUG) and has_request_context():
                session.log_context = request.endpoint
        return session

    def get_connection(self, key: str | None = None) -> Any:
        """The connection of database ``key``'s session: ``commit()``/``rollback()`` on it end
        the session's transaction (the driver's own connection for SQLite and psycopg)."""
        session = self.get_session(key)
        namespace = _app_context().g.__dict__
        context: _ContextSessions = namespace[_CONTEXT]
        state = context.default if key is None else self._pick(context.states, key)
        # Read again: the session replaces a connection found dead at its first statement.
        connection = namespace[state.connection_key] = session.connection
        return connection

    # -- request lifecycle ---------------------------------------------------------------------

    def _after_request(self, response: Response) -> Response:
        context: _ContextSessions | None = _app_context().g.__dict__.get(_CONTEXT)
        if context is None or not context.sessions:
            return response
        status = response.status_code
        states = context.states
        failure: BaseException | None = None
        for key, session in context.sessions.items():
            commit_statuses = states[key].commit_statuses
            if commit_statuses is None or session.closed:
                continue
            if failure is None and status in commit_statuses:
                try:
                    session.commit()
                except Exception as error:
                    failure = error
                    logger.exception(
                        "commit failed for session %r after %s %s (status %s); rolled back",
                        key,
                        request.method,
                        request.path,
                        status,
                    )
                    self._rollback_quietly(key, session)
            else:
                self._rollback_quietly(key, session)
        if failure is not None:
            # Flask turns this into a 500 through the app's own error handlers: a response
            # whose data was not saved never reaches the client as a success.
            raise failure
        return response

    def _teardown_appcontext(self, exception: BaseException | None) -> None:
        context: _ContextSessions | None = _app_context().g.__dict__.pop(_CONTEXT, None)
        if context is None:
            return
        for key, session in context.sessions.items():
            try:
                session.close()  # rolls back anything uncommitted, returns the connection
            except Exception:
                logger.exception("could not release session %r", key)

    @staticmethod
    def _rollback_quietly(key: str, session: Any) -> None:
        try:
            session.rollback()
        except Exception:
            logger.exception("rollback failed for session %r", key)

    # -- tools ---------------------------------------------------------------------------------

    def session_keys(self) -> tuple[str, ...]:
        """The session keys of the current app, in registration order."""
        return tuple(self._states())

    def state(self, key: str | None = None) -> DatabaseState:
        """The validated extension settings of database ``key``."""
        return self._state(key)

    def pool_stats(self) -> dict[str, dict[str, int]]:
        """Pool statistics per session key, for health-check endpoints."""
        return {
            key: vars(state.config.pool_stats()).copy()  # type: ignore[attr-defined]
            for key, state in self._states().items()
        }

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Run a block (typically a test) whose writes are all rolled back at its end.

        Inside it every session of each database shares one connection held in an outer
        transaction; the app's own ``commit()`` calls (autocommit mode included) still run,
        as savepoint releases, so code under test behaves as in production. Use it in a fixture:
        ``with plugin.isolated(): yield``.
        """
        with ExitStack() as stack:
            for state in self._states().values():
                stack.enter_context(isolated(state.config))
            yield
