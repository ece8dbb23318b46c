"""``SQLSpecPlugin``: request-scoped sessions and commit-by-status for Flask."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from flask import Flask, Response, current_app, has_app_context, has_request_context, request
from flask.ctx import AppContext
from flask.globals import app_ctx

from sqlspec.base import SQLSpec
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.extensions.flask._cli import sqlspec_cli
from sqlspec.extensions.flask._observe import (
    RECORDED,
    QueryCount,
    RecordedQuery,
    StatementRecorder,
    new_request_id,
)
from sqlspec.extensions.flask._state import DatabaseState, build_states
from sqlspec.migrations import Migrations
from sqlspec.observe import observes_statements, request_id
from sqlspec.portal import get_portal
from sqlspec.portal_session import PortalSession
from sqlspec.protocols import SessionConnectionProtocol, SyncSession
from sqlspec.retry import CONFLICT_ERRORS, RetryPolicy, conflict_retrier
from sqlspec.testing import isolated

__all__ = ("SQLSpecPlugin",)

logger = logging.getLogger("sqlspec.flask")

_CONTEXT = "_sqlspec"
_REQUEST_ID_TOKEN = "_sqlspec_request_id_token"

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def _end_transaction(session: Any, *, commit: bool) -> None:
    """Commit or roll back a request's session. A portal session also returns its connection in
    the same hop onto the loop (it borrows again if used later, and teardown finds nothing left
    to release); a sync session keeps it until teardown."""
    end = session.commit if commit else session.rollback
    if isinstance(session, PortalSession):
        end(release=True)
    else:
        end()


class _ContextSessions:
    """The sessions borrowed in one app context, and the settings of that context's app."""

    __slots__ = ("default", "partly_committed", "sessions", "states")

    def __init__(self, states: dict[str, DatabaseState]) -> None:
        self.states = states
        self.default = next(iter(states.values()))
        self.sessions: dict[str, Any] = {}
        #: Set by a retried view whose commit conflicted after another database committed.
        self.partly_committed = False


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
        self._recorder = StatementRecorder()
        self._correlation_headers: dict[Flask, str] = {}
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
        self._init_observation(app, states)

    def _init_observation(self, app: Flask, states: dict[str, DatabaseState]) -> None:
        debugging = app.debug or app.testing
        recorded = {
            state.config: (state.session_key, state.record_parameters)
            for state in states.values()
            if (debugging if state.record_queries is None else state.record_queries)
        }
        self._recorder.add_app(app, [state.config for state in states.values()], recorded)
        correlated = [s for s in states.values() if s.enable_correlation_middleware]
        if not correlated:
            return
        headers = {state.correlation_header.lower() for state in correlated}
        if len(headers) > 1:
            raise ImproperConfigurationError(
                "SQLSpecPlugin: the configs enabling the correlation middleware name different "
                f"correlation_header values ({', '.join(sorted(headers))}); one app has one "
                "request id header"
            )
        self._correlation_headers[app] = correlated[0].correlation_header
        # First in line, so the app's own before_request hooks already log with the id.
        app.before_request_funcs.setdefault(None, []).insert(0, self._start_correlation)
        app.after_request_funcs.setdefault(None, []).append(self._answer_correlation)
        app.teardown_request_funcs.setdefault(None, []).append(self._end_correlation)

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

    def _pick(self, states: dict[str, DatabaseState], key: str | None) -> DatabaseState:
        if key is None:
            return next(iter(states.values()))
        try:
            return states[key]
        except KeyError:
            raise ImproperConfigurationError(self._unknown_key_message(states, key)) from None

    def _unknown_key_message(self, states: dict[str, DatabaseState], key: str) -> str:
        message = f"unknown session key {key!r}; known keys: {', '.join(map(repr, states))}"
        known = [state.config for state in states.values()]
        late = [c for c in self._sqlspec.configs if not any(c is k for k in known)]
        if not late:
            return (
                f"{message}. A config's key is its extension_config={{'flask': "
                "{'session_key': ...}} ('default' when not given)"
            )
        names = ", ".join(
            f"{config.describe()} (session key "
            f"{(config.extension_config.get('flask') or {}).get('session_key', 'default')!r})"
            for config in late
        )
        return (
            f"{message}. {names} {'was' if len(late) == 1 else 'were'} registered after the "
            "plugin was initialised on this app: the plugin reads the configs at init_app() "
            "(SQLSpecPlugin(sqlspec, app) calls it), so later ones are not seen. Call "
            "sqlspec.add_config() for every database before SQLSpecPlugin(sqlspec, app), or "
            "create SQLSpecPlugin(sqlspec) and call plugin.init_app(app) after the last "
            "add_config()"
        )

    def _state(self, key: str | None) -> DatabaseState:
        return self._pick(self._states(), key)

    def get_session(self, key: str | None = None) -> SyncSession:
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
            if isinstance(session, PortalSession):
                session.open_lazily()  # borrowed by its first statement, in the same hop
            else:
                session.__enter__()
            context.sessions[state.session_key] = session
            namespace[state.connection_key] = session.connection
            if observes_statements(state.config) and has_request_context():
                session.log_context = request.endpoint
        return session  # type: ignore[no-any-return]

    def get_connection(self, key: str | None = None) -> SessionConnectionProtocol:
        """The connection of database ``key``'s session: ``commit()``/``rollback()`` on it end
        the session's transaction (the driver's own connection for SQLite and psycopg)."""
        session = self.get_session(key)
        namespace = _app_context().g.__dict__
        context: _ContextSessions = namespace[_CONTEXT]
        state = context.default if key is None else self._pick(context.states, key)
        if isinstance(session, PortalSession):
            session.borrow()  # a lazily opened session: the connection asked for is borrowed
        # Read again: the session replaces a connection found dead at its first statement.
        connection: SessionConnectionProtocol = session.connection
        namespace[state.connection_key] = connection
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
                    _end_transaction(session, commit=True)
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
                if session.pending_writes:
                    self._log_discarded_writes(key, status, failure is not None)
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

    def _start_correlation(self) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        header = self._correlation_headers[app]
        value = new_request_id(request.headers.get(header))
        namespace = _app_context().g.__dict__
        namespace["sqlspec_request_id"] = value
        namespace[_REQUEST_ID_TOKEN] = request_id.set(value)

    def _answer_correlation(self, response: Response) -> Response:
        value = _app_context().g.__dict__.get("sqlspec_request_id")
        if value is not None:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            response.headers[self._correlation_headers[app]] = value
        return response

    def _end_correlation(self, exception: BaseException | None) -> None:
        token = _app_context().g.__dict__.pop(_REQUEST_ID_TOKEN, None)
        if token is not None:
            request_id.reset(token)

    @staticmethod
    def _log_discarded_writes(key: str, status: int, after_failed_commit: bool) -> None:
        """Say that an automatic-mode session's writes are being rolled back, and why."""
        reason = (
            "another database's commit failed"
            if after_failed_commit
            else f"status {status} does not commit"
        )
        logger.info(
            "rolling back the writes of session %r after %s %s (endpoint %r, status %s): %s",
            key,
            request.method,
            request.path,
            request.endpoint,
            status,
            reason,
            extra={"sqlspec_endpoint": request.endpoint, "sqlspec_status": status},
        )

    @staticmethod
    def _rollback_quietly(key: str, session: Any) -> None:
        try:
            _end_transaction(session, commit=False)
        except Exception:
            logger.exception("rollback failed for session %r", key)

    # -- retries -------------------------------------------------------------------------------

    def retry_on_conflict(
        self, attempts: int = 3, *, base_delay: float = 0.02, max_delay: float = 1.0
    ) -> Callable[[ViewT], ViewT]:
        """Decorate a view so that it runs again when a database rolls its transaction back
        because of a conflict (:class:`~sqlspec.exceptions.SerializationError`,
        :class:`~sqlspec.exceptions.DeadlockError`)::

            @app.post("/transfer")
            @plugin.retry_on_conflict(attempts=3)
            def transfer(): ...

        Before each retry every session of this plugin in the current app context is rolled
        back, so the next attempt starts from a clean transaction (and reads fresh data). The
        view runs at most ``attempts`` times; other errors are never retried, and when every
        attempt conflicted the last conflict propagates (a 500 through the app's error
        handlers). Waits between attempts are jittered and grow exponentially up to
        ``max_delay`` seconds (see :func:`sqlspec.retry_on_conflict`). ``async def`` views work
        too.

        In the ``autocommit`` modes the sessions are committed when the view returns, inside
        the retry, whenever its response status commits: a conflict that the database reports
        only at ``COMMIT`` (PostgreSQL ``SERIALIZABLE``) is retried as well. The commit then no
        longer waits for the app's own ``after_request`` hooks, which can no longer undo it.
        A conflict at the commit of one database after another one committed is not retried
        (running the view again would repeat the committed writes). Likewise a view that
        commits itself should do so only at its end.

        Raises :class:`~sqlspec.exceptions.ImproperConfigurationError` at decoration time for
        bad arguments (``attempts`` an integer >= 1; delays finite, >= 0 and in order).
        """
        policy = RetryPolicy("plugin.retry_on_conflict", attempts, base_delay, max_delay)

        def decorate(view: ViewT) -> ViewT:
            attempt: Callable[..., Any]
            if inspect.iscoroutinefunction(view):

                @functools.wraps(view)
                async def attempt_async(*args: Any, **kwargs: Any) -> Any:
                    return self._commit_retried(await view(*args, **kwargs))

                attempt = attempt_async
            else:

                @functools.wraps(view)
                def attempt_sync(*args: Any, **kwargs: Any) -> Any:
                    return self._commit_retried(view(*args, **kwargs))

                attempt = attempt_sync
            return conflict_retrier(policy, self._before_retry)(attempt)  # type: ignore[return-value]

        return decorate

    def _commit_retried(self, result: Any) -> Any:
        """Commit the automatic-mode sessions whose database commits on the view's status."""
        context: _ContextSessions | None = _app_context().g.__dict__.get(_CONTEXT)
        if context is None or not context.sessions:
            return result
        response = current_app.make_response(result)
        status = response.status_code
        committed = False
        for key, session in context.sessions.items():
            commit_statuses = context.states[key].commit_statuses
            if commit_statuses is None or session.closed or status not in commit_statuses:
                continue
            try:
                session.commit()
            except CONFLICT_ERRORS:
                context.partly_committed = committed
                raise
            committed = True
        return response

    @staticmethod
    def _before_retry(conflict: BaseException) -> bool:
        """Roll back the view's sessions; False (no retry) once part of its work committed."""
        context: _ContextSessions | None = _app_context().g.__dict__.get(_CONTEXT)
        if context is None:
            return True
        if context.partly_committed:
            logger.warning(
                "not retrying %s after a conflict: another database already committed its part",
                request.endpoint if has_request_context() else "the view",
            )
            return False
        for session in context.sessions.values():
            if not session.closed:
                session.rollback()
        return True

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

    def migrations(self, key: str | None = None) -> Migrations:
        """The schema migrations of database ``key`` (the first when omitted), a relative
        ``script_location`` read against the app's root path, as ``flask sqlspec upgrade``
        does: e.g. ``plugin.migrations("db").upgrade()`` in the app factory. Outside an app
        context, the plugin must be initialised on one app only."""
        state = self._state(key)
        if has_app_context():
            app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        else:
            app = next(iter(self._states_by_app))
        return Migrations(state.config, root=app.root_path)

    def get_recorded_queries(self) -> list[RecordedQuery]:
        """The statements run so far in the current app context (request, CLI command, test)
        by any session of this plugin's recorded databases, in the order they finished.

        Recording is the Flask key ``"record_queries"`` (default: on when ``app.debug`` or
        ``app.testing`` is set at ``init_app``); with it off the list is empty. Parameter
        values are kept only with ``"record_parameters": True``. Raises
        :class:`~sqlspec.exceptions.SQLSpecError` outside an app context.
        """
        return list(_app_context().g.__dict__.get(RECORDED, ()))

    @contextmanager
    def count_queries(self) -> Iterator[QueryCount]:
        """Count the statements any session of this plugin runs inside the block, in any
        thread: ``with plugin.count_queries() as counted: ...; assert counted.count <= 3,
        counted`` (the message lists the statements). Blocks may nest and overlap; each
        counts what finished while it was open."""
        counter = self._recorder.open_counter()
        try:
            yield counter
        finally:
            self._recorder.close_counter(counter)

    def shutdown(self) -> None:
        """Close the pools of every database of this plugin and stop the portal if one of
        them is async (a later request opens new pools and restarts it). Stops recording and
        counting. Every pool is tried; the first error is raised afterwards."""
        self._recorder.stop()
        configs = {
            id(state.config): state.config
            for states in self._states_by_app.values()
            for state in states.values()
        }
        failure: BaseException | None = None
        for config in configs.values():
            try:
                config.close_pool()  # type: ignore[attr-defined]
            except Exception as error:
                logger.exception("could not close the pool of %s", config.describe())
                failure = failure or error
        if any(config.is_async for config in configs.values()):
            get_portal().stop()
        if failure is not None:
            raise failure

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
