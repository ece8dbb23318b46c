"""``sqlspec.retry_on_conflict``: which errors are retried, how often, how long it waits, and the
arguments it refuses. The conflicts here are raised by the decorated functions themselves (a
deterministic source); tests/contract/test_conflicts.py retries real ones."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from sqlspec import DeadlockError, SerializationError, retry_on_conflict
from sqlspec.exceptions import (
    ImproperConfigurationError,
    OperationalError,
    TransactionError,
    UniqueViolationError,
)


class Flaky:
    """A callable raising the given errors on its first calls, then returning ``"done"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_conflict_classes_are_transaction_errors() -> None:
    assert issubclass(SerializationError, TransactionError)
    assert issubclass(DeadlockError, TransactionError)


@pytest.mark.parametrize("conflict", [SerializationError, DeadlockError])
def test_a_conflict_is_retried_until_success(conflict: type[Exception]) -> None:
    flaky = Flaky(conflict("first"))
    run = retry_on_conflict(attempts=3, base_delay=0)(flaky)
    assert run() == "done"
    assert flaky.calls == 2


def test_arguments_and_result_pass_through() -> None:
    seen: list[tuple[Any, ...]] = []

    @retry_on_conflict()
    def add(a: int, b: int = 0, *, c: int = 0) -> int:
        seen.append((a, b, c))
        if len(seen) == 1:
            raise SerializationError("conflict")
        return a + b + c

    assert add(1, 2, c=3) == 6
    assert seen == [(1, 2, 3), (1, 2, 3)]
    assert add.__name__ == "add"


@pytest.mark.parametrize(
    "error",
    [
        UniqueViolationError("dup"),
        OperationalError("lock wait"),
        TransactionError("other"),
        ValueError("app"),
    ],
)
def test_other_errors_are_never_retried(error: Exception) -> None:
    flaky = Flaky(error)
    run = retry_on_conflict(attempts=5, base_delay=0)(flaky)
    with pytest.raises(type(error)) as raised:
        run()
    assert raised.value is error
    assert flaky.calls == 1


def test_exhausted_attempts_reraise_the_last_conflict() -> None:
    errors = [SerializationError("1"), DeadlockError("2"), SerializationError("3")]
    flaky = Flaky(*errors)
    run = retry_on_conflict(attempts=3, base_delay=0)(flaky)
    with pytest.raises(SerializationError) as raised:
        run()
    assert raised.value is errors[2]
    assert flaky.calls == 3


def test_one_attempt_means_no_retry() -> None:
    flaky = Flaky(DeadlockError("once"))
    with pytest.raises(DeadlockError):
        retry_on_conflict(attempts=1)(flaky)()
    assert flaky.calls == 1


def test_waits_are_bounded_and_jittered(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    flaky = Flaky(*[SerializationError(str(n)) for n in range(5)])
    run = retry_on_conflict(attempts=6, base_delay=0.1, max_delay=0.3)(flaky)
    assert run() == "done"
    ceilings = [0.1, 0.2, 0.3, 0.3, 0.3]
    assert len(waits) == 5
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_waits_differ_between_callers() -> None:
    from sqlspec.retry import RetryPolicy

    policy = RetryPolicy("test", 2, 1.0, 1.0)
    assert len({next(policy.delays()) for _ in range(20)}) > 1


def test_retries_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sqlspec.retry")
    run = retry_on_conflict(base_delay=0)(Flaky(DeadlockError("deadlock detected")))
    run()
    assert "DeadlockError (deadlock detected); running it again" in caplog.text


def test_async_functions_are_awaited_and_retried() -> None:
    calls = 0

    @retry_on_conflict(attempts=3, base_delay=0)
    async def work(value: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls < 3:
            raise SerializationError("conflict")
        return value * 2

    assert asyncio.iscoroutinefunction(work)
    assert asyncio.run(work(21)) == 42
    assert calls == 3


def test_async_other_errors_are_not_retried() -> None:
    calls = 0

    @retry_on_conflict(attempts=3, base_delay=0)
    async def work() -> None:
        nonlocal calls
        calls += 1
        raise UniqueViolationError("dup")

    with pytest.raises(UniqueViolationError):
        asyncio.run(work())
    assert calls == 1


def test_async_exhausted_attempts_reraise_the_last_conflict() -> None:
    @retry_on_conflict(attempts=2, base_delay=0)
    async def work() -> None:
        raise DeadlockError("always")

    with pytest.raises(DeadlockError, match="always"):
        asyncio.run(work())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "attempts must be an integer of at least 1.*got 0"),
        ({"attempts": -1}, "attempts must be an integer of at least 1"),
        ({"attempts": 2.5}, "attempts must be an integer.*2.5"),
        ({"attempts": True}, "attempts must be an integer.*True"),
        ({"attempts": "3"}, "attempts must be an integer.*'3'"),
        ({"base_delay": -0.1}, "base_delay must be a finite number of seconds >= 0"),
        ({"base_delay": float("nan")}, "base_delay must be a finite number"),
        ({"max_delay": float("inf")}, "max_delay must be a finite number"),
        ({"max_delay": "1"}, "max_delay must be a finite number.*'1'"),
        ({"base_delay": 2.0, "max_delay": 1.0}, r"max_delay \(1.0\) must be at least base_delay"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperConfigurationError, match=message):
        retry_on_conflict(**kwargs)


def test_decorator_without_parentheses_is_refused() -> None:
    with pytest.raises(ImproperConfigurationError, match=r"write @retry_on_conflict\(\)"):

        @retry_on_conflict  # type: ignore[arg-type]
        def work() -> None: ...
