"""The portal: one background thread running one event loop, so sync code can use async drivers.

A sync caller (a Flask view) hands a coroutine to :meth:`Portal.call` and blocks until it is done:
one thread hop there and one back, nothing else. The thread starts at the first call, so an
application that only uses sync configs never has it. It is a daemon thread, stopped cleanly at
interpreter exit, and started afresh in a child process after ``os.fork()`` (gunicorn
``--preload``): the child never touches the parent's loop, whose selector it shares.

Every call has a time limit. When it passes, the coroutine is cancelled (which interrupts the
database call: asyncpg and psycopg cancel the query on the server) and the caller gets
:class:`~sqlspec.exceptions.PortalTimeoutError`.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlspec.exceptions import PortalTimeoutError, SQLSpecError

__all__ = ("DEFAULT_TIMEOUT", "Portal", "get_portal")

_logger = logging.getLogger("sqlspec.portal")

_T = TypeVar("_T")

#: Seconds a portal call may take unless the config says otherwise (``portal_timeout=``).
DEFAULT_TIMEOUT = 30.0
#: Seconds to wait for a timed-out coroutine to finish cancelling before giving up on it.
_CANCEL_GRACE = 5.0

_allocate_lock = threading.Lock
_get_ident = threading.get_ident


class _Call:
    """One coroutine crossing to the loop; ``done`` is released when it has finished."""

    __slots__ = ("coro", "done", "error", "result", "task")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro = coro
        done = _allocate_lock()
        done.acquire()
        self.done = done
        self.task: asyncio.Task[Any] | None = None
        self.result: Any = None
        self.error: BaseException | None = None

    def start(self) -> None:  # on the loop
        task = self.task = asyncio.get_running_loop().create_task(self.coro)
        task.add_done_callback(self.finished)

    def finished(self, task: asyncio.Task[Any]) -> None:  # on the loop
        try:
            self.result = task.result()
        except BaseException as error:  # incl. CancelledError
            self.error = error
        self.done.release()

    def cancel(self) -> None:  # on the loop
        if self.task is not None:
            self.task.cancel()


class Portal:
    """A background event loop that runs coroutines for sync callers.

    Use the process-wide :func:`get_portal`; creating a ``Portal`` costs nothing until its first
    :meth:`call`.
    """

    def __init__(self, name: str = "sqlspec-portal") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._pid = os.getpid()
        self._exit_hook = False
        _portals.add(self)

    # -- state -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True once the loop thread has been started (and not stopped) in this process."""
        return self._loop is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The portal's event loop (the thread is started if needed)."""
        return self._loop or self._start()

    def start(self) -> None:
        """Start the loop thread now rather than at the first call (no-op when running)."""
        if self._loop is None:
            self._start()

    def owns(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        """True when ``loop`` is this portal's running loop (never starts the thread)."""
        return loop is not None and loop is self._loop

    def in_portal_thread(self) -> bool:
        """True when called from the portal's own loop thread."""
        return self._thread_id is not None and _get_ident() == self._thread_id

    # -- calls -----------------------------------------------------------------------------------

    def call(
        self,
        coro: Coroutine[Any, Any, _T],
        timeout: float | None = DEFAULT_TIMEOUT,
        what: str | None = None,
    ) -> _T:
        """Run ``coro`` on the portal's loop and return its result (or raise its exception).

        After ``timeout`` seconds (``None``: no limit) the coroutine is cancelled and
        :class:`PortalTimeoutError` is raised; ``what`` names the operation in that message.
        Calling this from the portal's own thread raises :class:`SQLSpecError` (it would wait for
        itself forever).
        """
        loop = self._loop
        if loop is None:
            loop = self._start()
        if _get_ident() == self._thread_id:
            coro.close()
            raise SQLSpecError(
                "a sync sqlspec call was made on the portal's own event loop thread; it would "
                "wait for itself forever (deadlock). In async code use the async session "
                "(`async with config.provide_session() as session: await session.execute(...)`)"
            )
        call = _Call(coro)
        try:
            loop.call_soon_threadsafe(call.start)
        except RuntimeError as error:  # the loop was closed under us (interpreter exit)
            coro.close()
            raise SQLSpecError(f"the sqlspec portal is stopped: {error}") from error
        try:
            finished = call.done.acquire(True, -1 if timeout is None else timeout)
        except BaseException:  # KeyboardInterrupt while waiting: stop the work too
            loop.call_soon_threadsafe(call.cancel)
            raise
        if finished:
            if call.error is not None:
                raise _from_loop(call.error)
            return call.result  # type: ignore[no-any-return]
        return self._timed_out(loop, call, timeout, what)  # type: ignore[arg-type,no-any-return]

    def _timed_out(
        self, loop: asyncio.AbstractEventLoop, call: _Call, timeout: float, what: str | None
    ) -> Any:
        loop.call_soon_threadsafe(call.cancel)
        finished = call.done.acquire(True, _CANCEL_GRACE)
        if finished and call.error is None:
            return call.result  # it finished just as the limit passed: the work is done
        subject = what or "an async database operation"
        message = (
            f"{subject} did not finish within the portal timeout of {timeout:g} s and was "
            "cancelled; make it faster, or raise the limit with portal_timeout=<seconds> on the "
            "database config"
        )
        if not finished:
            message += (
                f" (it had not even stopped {_CANCEL_GRACE:g} s after being cancelled, so the "
                "event loop may be blocked by sync code)"
            )
        error = call.error  # a driver may turn the cancellation into an error of its own
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise PortalTimeoutError(message) from error
        raise PortalTimeoutError(message)

    # -- lifecycle -------------------------------------------------------------------------------

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None:
                return self._loop
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(loop, ready), name=self.name, daemon=True
            )
            thread.start()
            ready.wait()
            self._thread_id = thread.ident
            self._thread = thread
            self._loop = loop
            if not self._exit_hook:
                self._exit_hook = True
                atexit.register(_stop_at_exit, weakref.ref(self))
            _logger.debug("portal %s started (pid %d)", self.name, os.getpid())
            return loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what still runs, stop the loop and join the thread (a later call restarts it)."""
        if self.in_portal_thread():
            raise SQLSpecError("the portal cannot be stopped from its own event loop thread")
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._thread_id = None
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)
            await loop.shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout)
        except Exception:
            _logger.debug("portal %s: error while shutting down", self.name, exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            _logger.warning(
                "portal %s: the loop thread did not stop within %g s", self.name, timeout
            )
        else:
            loop.close()
        _logger.debug("portal %s stopped", self.name)

    def _after_fork_in_child(self) -> None:
        # The loop thread does not exist in the child, and the loop's selector is shared with the
        # parent: keep the inherited objects alive, untouched, and start afresh on demand.
        if self._loop is not None:
            _inherited_from_parent.append((self._loop, self._thread))
        self._lock = threading.Lock()
        self._loop = self._thread = None
        self._thread_id = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        state = "running" if self._loop is not None else "not started"
        return f"<Portal {self.name} {state}>"


def _from_loop(error: BaseException) -> BaseException:
    if isinstance(error, asyncio.CancelledError):  # cancelled on the loop, e.g. by stop()
        return SQLSpecError("the async operation was cancelled on the portal's event loop")
    return error


_portals: weakref.WeakSet[Portal] = weakref.WeakSet()
_inherited_from_parent: list[Any] = []
_portal: Portal | None = None
_portal_lock = threading.Lock()


def get_portal() -> Portal:
    """The process-wide portal (created on first use; its thread starts at its first call)."""
    portal = _portal
    if portal is None:
        portal = _create_portal()
    return portal


def _create_portal() -> Portal:
    global _portal
    with _portal_lock:
        if _portal is None:
            _portal = Portal()
        return _portal


def _stop_at_exit(ref: weakref.ref[Portal]) -> None:
    portal = ref()
    if portal is not None and portal._pid == os.getpid():
        portal.stop(timeout=2.0)


def _after_fork_in_child() -> None:
    global _portal_lock
    _portal_lock = threading.Lock()
    for portal in list(_portals):
        portal._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
