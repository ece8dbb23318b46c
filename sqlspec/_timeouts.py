"""Statement time limits: the ``statement_timeout`` driver feature's validation, and the watchdog
that enforces it on the client for the embedded databases (SQLite, DuckDB).

Server databases enforce the limit themselves (PostgreSQL ``statement_timeout``, MariaDB
``max_statement_time``); SQLite and DuckDB have no such setting, so one daemon thread per process
interrupts a connection whose statement is still running at its deadline. Arming and disarming a
limit costs two short lock holds and no thread per statement. Private: adapters use it.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlspec.exceptions import ImproperConfigurationError

if TYPE_CHECKING:
    from sqlspec.config import DatabaseConfig

__all__ = (
    "MAX_STATEMENT_TIMEOUT",
    "Materialized",
    "Timer",
    "set_local_statement_timeout",
    "statement_timeout",
    "watchdog",
)

#: The largest accepted limit, in seconds: PostgreSQL's (2**31 - 1 ms, about 24.8 days).
MAX_STATEMENT_TIMEOUT = 2_147_483.0


def statement_timeout(config: DatabaseConfig) -> float | None:
    """The config's ``driver_features["statement_timeout"]`` in seconds, or ``None`` when unset.

    Raises :class:`ImproperConfigurationError` for anything but a positive, finite number of
    seconds up to :data:`MAX_STATEMENT_TIMEOUT`.
    """
    value = config.driver_features.get("statement_timeout")
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_STATEMENT_TIMEOUT
    ):
        raise ImproperConfigurationError(
            f"{type(config).__name__}: driver_features statement_timeout must be a positive "
            f"number of seconds (at most {MAX_STATEMENT_TIMEOUT:,.0f}), got {value!r}"
        )
    return float(value)


class Timer:
    """One armed limit: ``fired`` tells whether the watchdog interrupted the statement."""

    __slots__ = ("deadline", "fired", "interrupt", "seconds")

    def __init__(self, seconds: float, interrupt: Callable[[], object]) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.interrupt = interrupt
        self.fired = False


class Watchdog:
    """A daemon thread that calls ``interrupt()`` for every armed :class:`Timer` whose deadline
    passed before it was disarmed.

    Timers are grouped by their duration: within a group deadlines come in the order the timers
    were armed, so the first timer of each group is that group's earliest, and arming or
    disarming is a dict insertion or deletion. ``interrupt()`` is called with the lock held, so
    once :meth:`disarm` returns the statement can no longer be interrupted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._groups: dict[float, dict[Timer, None]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, interrupt: Callable[[], object]) -> Timer:
        """Start a limit of ``seconds`` for the statement about to run."""
        timer = Timer(seconds, interrupt)
        with self._lock:
            group = self._groups.get(seconds)
            if group is None:
                group = self._groups[seconds] = {}
            group[timer] = None
            if len(group) == 1:  # may be earlier than what the thread is waiting for
                if self._thread is None:
                    self._start()
                self._wake.notify()
        return timer

    def disarm(self, timer: Timer) -> None:
        """End the limit (the statement finished, or failed)."""
        with self._lock:
            self._groups[timer.seconds].pop(timer, None)

    def _start(self) -> None:
        thread = threading.Thread(target=self._watch, name="sqlspec-statement-timeouts")
        thread.daemon = True
        thread.start()
        self._thread = thread

    def _watch(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                earliest = math.inf
                for group in self._groups.values():
                    while group:
                        timer = next(iter(group))
                        if timer.deadline > now:
                            earliest = min(earliest, timer.deadline)
                            break
                        del group[timer]
                        timer.fired = True
                        with contextlib.suppress(Exception):  # closed meanwhile
                            timer.interrupt()
                self._wake.wait(None if earliest == math.inf else earliest - now)


class Materialized:
    """A statement's result read while its limit was armed, seen as a driver cursor."""

    __slots__ = ("_rows", "description", "lastrowid", "rowcount")

    def __init__(
        self, description: Any, rows: Sequence[Sequence[Any]], rowcount: int, lastrowid: Any
    ) -> None:
        self.description = description
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchall(self) -> Sequence[Sequence[Any]]:
        return self._rows


_watchdog = Watchdog()


def set_local_statement_timeout(seconds: float) -> str:
    """PostgreSQL's per-transaction limit (``SET LOCAL``, sent with the ``BEGIN``), so it holds
    behind a transaction-mode pooler (PgBouncer) too; whole milliseconds, at least one."""
    return f"SET LOCAL statement_timeout = {max(1, math.ceil(seconds * 1000))}"


def watchdog() -> Watchdog:
    """The process's watchdog (a forked child gets a fresh one: threads do not survive fork)."""
    return _watchdog


def _new_watchdog_after_fork() -> None:
    global _watchdog
    _watchdog = Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_watchdog_after_fork)
