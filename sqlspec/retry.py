"""Rerun a unit of work when the database rolled it back because of a conflict.

A :class:`~sqlspec.exceptions.SerializationError` or :class:`~sqlspec.exceptions.DeadlockError`
means the database rolled the whole transaction back so that a concurrent one could go on; the
cure is to run the transaction again from its start. :func:`retry_on_conflict` does that for a
function that is the whole unit of work, waiting a bounded, jittered, exponentially growing time
between attempts so that the transactions that collided do not collide again in lockstep.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlspec.exceptions import DeadlockError, ImproperConfigurationError, SerializationError

__all__ = ("CONFLICT_ERRORS", "RetryPolicy", "conflict_retrier", "retry_on_conflict")

_F = TypeVar("_F", bound=Callable[..., Any])

_logger = logging.getLogger("sqlspec.retry")

#: The errors that mean "the transaction was rolled back; running it again may succeed".
CONFLICT_ERRORS: tuple[type[Exception], ...] = (SerializationError, DeadlockError)


class RetryPolicy:
    """How many attempts, and how long to wait between them (validated on creation).

    The wait before retry ``n`` (1-based) is drawn uniformly from ``[d / 2, d]`` where
    ``d = min(max_delay, base_delay * 2 ** (n - 1))``: it grows exponentially, never exceeds
    ``max_delay``, and differs between the colliding callers.
    """

    __slots__ = ("attempts", "base_delay", "max_delay")

    def __init__(self, what: str, attempts: Any, base_delay: Any, max_delay: Any) -> None:
        if callable(attempts):
            raise ImproperConfigurationError(
                f"{what} takes arguments: write @{what}() or @{what}(attempts=3), with the "
                "parentheses"
            )
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ImproperConfigurationError(
                f"{what}: attempts must be an integer of at least 1 (the first run included), "
                f"got {attempts!r}"
            )
        for name, value in (("base_delay", base_delay), ("max_delay", max_delay)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ImproperConfigurationError(
                    f"{what}: {name} must be a finite number of seconds >= 0, got {value!r}"
                )
        if max_delay < base_delay:
            raise ImproperConfigurationError(
                f"{what}: max_delay ({max_delay!r}) must be at least base_delay ({base_delay!r})"
            )
        self.attempts: int = attempts
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)

    def delays(self) -> Iterator[float]:
        """The waits before each retry (``attempts - 1`` of them)."""
        for retry in range(self.attempts - 1):
            ceiling = min(self.max_delay, self.base_delay * 2.0**retry)
            yield random.uniform(ceiling / 2, ceiling)


def retry_on_conflict(
    attempts: int = 3, *, base_delay: float = 0.02, max_delay: float = 1.0
) -> Callable[[_F], _F]:
    """Decorate a function that runs one whole transaction so that it is run again when the
    database rolls it back because of a conflict.

    The function is called up to ``attempts`` times (the first call included). Only
    :class:`~sqlspec.exceptions.SerializationError` and
    :class:`~sqlspec.exceptions.DeadlockError` cause a retry; any other exception propagates at
    once, and when every attempt conflicted, the last conflict is raised. Between attempts it
    waits as :class:`RetryPolicy` says (by default about 10-20 ms, then 20-40 ms, capped at
    ``max_delay`` seconds). ``async def`` functions are awaited and wait with ``asyncio.sleep``.

    The function must be the whole unit of work: it opens its session (or rolls the one it is
    given back) and commits inside, because a conflict has already rolled the transaction back
    and a retry that went on with the old session's state would run half a transaction. For a
    Flask view, use ``plugin.retry_on_conflict()``, which rolls the view's sessions back for you.

    Raises :class:`~sqlspec.exceptions.ImproperConfigurationError` at decoration time for an
    ``attempts`` that is not an integer >= 1, or negative, non-finite or inverted delays.
    """
    policy = RetryPolicy("retry_on_conflict", attempts, base_delay, max_delay)
    return conflict_retrier(policy)


def conflict_retrier(
    policy: RetryPolicy,
    before_retry: Callable[[BaseException], bool] | None = None,
) -> Callable[[_F], _F]:
    """The decorator behind :func:`retry_on_conflict`. ``before_retry(conflict)`` runs before
    each wait (the Flask plugin rolls the view's sessions back there); when it returns False
    the conflict is raised instead of retried."""

    def decorate(func: _F) -> _F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                delays = policy.delays()
                while True:
                    try:
                        return await func(*args, **kwargs)
                    except CONFLICT_ERRORS as conflict:
                        delay = _next_delay(func, delays, conflict, before_retry)
                        if delay is None:
                            raise
                    await asyncio.sleep(delay)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            delays = policy.delays()
            while True:
                try:
                    return func(*args, **kwargs)
                except CONFLICT_ERRORS as conflict:
                    delay = _next_delay(func, delays, conflict, before_retry)
                    if delay is None:
                        raise
                time.sleep(delay)

        return run  # type: ignore[return-value]

    return decorate


def _next_delay(
    func: Callable[..., Any],
    delays: Iterator[float],
    conflict: BaseException,
    before_retry: Callable[[BaseException], bool] | None,
) -> float | None:
    """The wait before the next attempt, after preparing it; ``None`` when there is none."""
    delay = next(delays, None)
    if delay is None:
        return None
    if before_retry is not None and not before_retry(conflict):
        return None
    _logger.info(
        "%s: %s (%s); running it again in %.0f ms",
        getattr(func, "__qualname__", func),
        type(conflict).__name__,
        conflict,
        delay * 1000,
    )
    return delay
