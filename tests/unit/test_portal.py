"""The portal: a background event loop for sync callers (sqlspec.portal)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sqlspec.exceptions import PortalTimeoutError, SQLSpecError
from sqlspec.portal import Portal, get_portal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def portal() -> Any:
    own = Portal(name="sqlspec-test-portal")
    yield own
    own.stop()


def run_python(code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_no_thread_until_an_async_config_is_used(tmp_path: Path) -> None:
    result = run_python(
        f"""
        import threading

        from sqlspec import SQLSpec
        from sqlspec.adapters.aiosqlite import AiosqliteConfig
        from sqlspec.adapters.sqlite import SqliteConfig

        def threads():
            return sorted(t.name for t in threading.enumerate())

        spec = SQLSpec()
        sync = spec.add_config(SqliteConfig(pool_config={{"database": ":memory:"}}))
        with spec.provide_session(sync) as session:
            assert session.select_value("SELECT 1") == 1
        lite = spec.add_config(
            AiosqliteConfig(pool_config={{"database": {str(tmp_path / "db.sqlite")!r}}})
        )
        assert threads() == ["MainThread"], threads()  # sync use and registration: no thread
        with spec.provide_sync_session(lite) as db:
            assert db.select_value("SELECT 1") == 1
        assert "sqlspec-portal" in threads(), threads()
        spec.close_all_pools()
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_interpreter_exits_promptly_with_open_pools(tmp_path: Path) -> None:
    # Pools and sessions left open, on the portal and on a finished asyncio.run() loop: the
    # interpreter must still exit (atexit stops the portal; aiosqlite threads are daemons).
    start = time.monotonic()
    result = run_python(
        f"""
        import asyncio

        from sqlspec.adapters.aiosqlite import AiosqliteConfig

        path = {str(tmp_path / "db.sqlite")!r}
        on_portal = AiosqliteConfig(pool_config={{"database": path}})
        db = on_portal.provide_sync_session().__enter__()
        db.execute("CREATE TABLE t (x INTEGER)")

        async def main():
            config = AiosqliteConfig(pool_config={{"database": path + "2"}})
            async with config.provide_session() as session:
                await session.execute("SELECT 1")

        asyncio.run(main())
        print("done")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert time.monotonic() - start < 20


def test_call_returns_results_and_raises_errors(portal: Portal) -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    async def fail() -> None:
        raise KeyError("missing")

    assert not portal.running
    assert portal.call(add(40, 2)) == 42
    assert portal.running
    with pytest.raises(KeyError, match="missing"):
        portal.call(fail())
    assert portal.call(add(1, 1), timeout=None) == 2


def test_runs_on_one_background_thread(portal: Portal) -> None:
    async def where() -> tuple[str, asyncio.AbstractEventLoop]:
        return threading.current_thread().name, asyncio.get_running_loop()

    name, loop = portal.call(where())
    assert name == "sqlspec-test-portal"
    assert loop is portal.loop
    assert portal.owns(loop)
    assert not portal.in_portal_thread()
    assert portal.call(where()) == (name, loop)


def test_many_threads_share_one_portal(portal: Portal) -> None:
    async def echo(value: int) -> int:
        await asyncio.sleep(0)
        return value

    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            results[number] = [portal.call(echo(number * 1000 + i)) for i in range(200)]
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert results == {n: [n * 1000 + i for i in range(200)] for n in range(16)}


def test_timeout_cancels_the_coroutine(portal: Portal) -> None:
    seen: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    start = time.monotonic()
    with pytest.raises(PortalTimeoutError) as caught:
        portal.call(slow(), timeout=0.2, what="the slow thing")
    assert 0.15 < time.monotonic() - start < 2.0
    assert seen == ["cancelled"]  # cancelled, and finished cancelling, before the error
    message = str(caught.value)
    assert "the slow thing" in message
    assert "0.2 s" in message
    assert "portal_timeout" in message
    assert isinstance(caught.value, TimeoutError)
    assert portal.call(asyncio.sleep(0, result="still fine")) == "still fine"


def test_a_result_that_arrives_with_the_deadline_is_returned(portal: Portal) -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "finished anyway"
        return "unreachable"

    assert portal.call(stubborn(), timeout=0.1) == "finished anyway"


def test_calling_from_the_portal_thread_is_refused(portal: Portal) -> None:
    async def noop() -> None:
        return None

    async def reenter() -> None:
        portal.call(noop())

    with pytest.raises(SQLSpecError, match="deadlock"):
        portal.call(reenter())


def test_cancellation_on_the_loop_is_an_sqlspec_error(portal: Portal) -> None:
    async def cancel_myself() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    with pytest.raises(SQLSpecError, match="cancelled"):
        portal.call(cancel_myself())


def test_stop_and_restart(portal: Portal) -> None:
    async def ident() -> int:
        return threading.get_ident()

    first = portal.call(ident())
    thread = portal._thread
    assert thread is not None
    portal.stop()
    assert not portal.running
    assert not thread.is_alive()
    portal.stop()  # idempotent
    second = portal.call(ident())
    assert portal.running
    assert second != first or portal._thread is not thread


def test_get_portal_is_one_per_process() -> None:
    assert get_portal() is get_portal()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_starts_its_own_loop(portal: Portal) -> None:
    async def ident() -> int:
        return threading.get_ident()

    parent_ident = portal.call(ident())
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_end)
            assert not portal.running
            child_ident = portal.call(ident())
            assert portal.call(ident()) == child_ident
            assert portal._thread is not None
            assert portal._thread.is_alive()
            os.write(write_end, b"ok")
            code = 0
        except BaseException as error:
            os.write(write_end, repr(error).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    report = os.read(read_end, 4096)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, report
    assert report == b"ok"
    assert portal.call(ident()) == parent_ident  # the parent's loop thread is untouched
