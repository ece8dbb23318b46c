"""Per-operation cost of async drivers used from sync code through the portal.

Compares, in one run and on one event-loop thread:

* ``ours``   ``db.execute("SELECT 1").scalar()`` on ``config.provide_sync_session()``;
* ``bridge`` a hand-written bridge on a raw driver connection:
  ``asyncio.run_coroutine_threadsafe(conn.fetchval("SELECT 1"), loop).result()`` (asyncpg) or a
  coroutine doing ``execute`` + ``fetchone`` (aiosqlite);
* ``hop``    the bare thread hop, ``run_coroutine_threadsafe(noop(), loop).result()``, and
  ``portal hop``, the same through ``Portal.call`` (what ours pays for the hop).

and S5, one request's unit of work (borrow a connection, read one row, end, return the
connection), as a Flask view does it:

* ``ours``   what the Flask plugin does per request in ``autocommit`` mode:
  ``with config.provide_sync_session().open_lazily() as db: db.select_value(...)`` then
  ``db.commit(release=True)``: the borrow, ``BEGIN`` and the statement cross to the loop in one
  hop, ``COMMIT`` and the release in another;
* ``bridge`` the hand-written per-call bridge, ``bridge(coro)`` being
  ``run_coroutine_threadsafe(coro, loop).result()``, doing the same work (one transaction per
  request) with one hop per step: ``conn = bridge(pool.acquire())``, ``bridge(BEGIN)``,
  ``bridge(conn.fetchval(...))``, ``bridge(COMMIT)``, ``bridge(pool.release(conn))`` (asyncpg's
  pool; for aiosqlite an ``asyncio.Queue`` of connections opened with ``isolation_level=None``);
* ``autocommit bridge``, the same without the transaction (three hops, and on asyncpg two round
  trips fewer than ours): for reference, not a target.

Each variant is timed in short batches, the batches of all variants interleaved; the median and
the best batch are reported as µs per operation, and ours/bridge as the median of the per-round
ratios (robust to load that drifts during the run) and as the ratio of the best batches (the
uncontended cost). The per-call target is ours/bridge <= 1.10 (time). S5 is reported as
throughput, bridge time / ours time (higher is better; targets >= 1.00 on asyncpg, >= 0.70 on
aiosqlite), wall clock and CPU (the process's CPU time per request, all threads, which other load
on the machine disturbs less), with the hops per request each side makes.

    python benchmarks/bench_portal.py                 # starts a throwaway PostgreSQL
    python benchmarks/bench_portal.py --pg postgresql://user@host/db
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosqlite
import asyncpg
from _shared import start_postgres  # benchmarks/ is on sys.path when run as a script

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.portal import get_portal
from sqlspec.portal_session import PortalSession

# Older code (to measure "before") has neither: it then enters (a borrow), commits and closes.
RELEASE = "release" in inspect.signature(PortalSession.commit).parameters
LAZY = hasattr(PortalSession, "open_lazily")


def timed(fn: Callable[[], Any], ops: int) -> tuple[float, float]:
    """(wall, CPU) µs per call of ``fn`` over ``ops`` calls; CPU is the process's, all threads."""
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(ops):
        fn()
    wall = time.perf_counter() - start
    return wall / ops * 1e6, (time.process_time() - cpu) / ops * 1e6


def run(
    variants: dict[str, Callable[[], Any]], repeats: int, ops: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(wall, CPU) µs/op samples per variant: ``repeats`` rounds, each timing every variant once."""
    for fn in variants.values():  # warm up: caches, prepared statements, branch predictors
        timed(fn, ops)
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            w, c = timed(fn, ops)
            wall[name].append(w)
            cpu[name].append(c)
    return wall, cpu


def count_hops(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any], ops: int = 20) -> float:
    """Hops onto ``loop`` per call of ``fn``: callbacks this thread schedules on it (the
    driver's own threads, aiosqlite's, schedule theirs too and are not counted)."""
    me = threading.get_ident()
    count = 0
    original = loop.call_soon_threadsafe

    def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal count
        if threading.get_ident() == me:
            count += 1
        return original(callback, *args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        for _ in range(ops):
            fn()
    finally:
        del loop.call_soon_threadsafe
    return count / ops


async def noop() -> None:
    return None


async def make_queue() -> asyncio.Queue[Any]:
    return asyncio.Queue()  # made on the loop it is used on


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL DSN (default: start a throwaway cluster)")
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--ops", type=int, default=500, help="operations per batch")
    args = parser.parse_args()

    stop = None
    dsn = args.pg
    if dsn is None:
        started = start_postgres()
        if started is None:
            return 1
        server, stop = started
        dsn = server.dsn
    tmp = tempfile.TemporaryDirectory()
    spec = SQLSpec()
    try:
        portal = get_portal()
        loop = portal.loop

        def on_loop(coro: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, loop).result()

        def hop() -> Any:
            return asyncio.run_coroutine_threadsafe(noop(), loop).result()

        def portal_hop() -> Any:
            return portal.call(noop())

        # asyncpg
        pg_config = spec.add_config(AsyncpgConfig(pool_config={"dsn": dsn, "max_size": 2}))
        pg_db = spec.provide_sync_session(pg_config).__enter__()
        pg_raw = on_loop(asyncpg.connect(dsn))

        def pg_ours() -> Any:
            return pg_db.execute("SELECT 1").scalar()

        def pg_bridge() -> Any:
            return asyncio.run_coroutine_threadsafe(pg_raw.fetchval("SELECT 1"), loop).result()

        # aiosqlite (a file database, so both sides open the same kind of connection)
        path = str(Path(tmp.name) / "bench.sqlite")
        lite_config = spec.add_config(AiosqliteConfig(pool_config={"database": path}))
        lite_db = spec.provide_sync_session(lite_config).__enter__()

        async def lite_connect() -> aiosqlite.Connection:
            return await aiosqlite.connect(path, isolation_level=None)

        lite_raw = on_loop(lite_connect())

        async def lite_fetch() -> Any:
            cursor = await lite_raw.execute("SELECT 1")
            return (await cursor.fetchone())[0]

        def lite_ours() -> Any:
            return lite_db.execute("SELECT 1").scalar()

        def lite_bridge() -> Any:
            return asyncio.run_coroutine_threadsafe(lite_fetch(), loop).result()

        # S5: one request's unit of work.
        def request(config: Any) -> Callable[[], Any]:
            def ours() -> Any:
                db = spec.provide_sync_session(config)
                with db.open_lazily() if LAZY else db:
                    value = db.select_value("SELECT 1")
                    if RELEASE:
                        db.commit(release=True)
                    else:
                        db.commit()
                return value

            return ours

        async def pg_create_pool() -> asyncpg.Pool:
            return await asyncpg.create_pool(dsn, min_size=1, max_size=2)

        pg_pool = on_loop(pg_create_pool())

        async def pg_acquire() -> Any:
            return await pg_pool.acquire()

        def pg_request_bridge() -> Any:
            conn = on_loop(pg_acquire())
            try:
                on_loop(conn.execute("BEGIN"))
                value = on_loop(conn.fetchval("SELECT 1"))
                on_loop(conn.execute("COMMIT"))
                return value
            finally:
                on_loop(pg_pool.release(conn))

        def pg_request_autocommit() -> Any:
            conn = on_loop(pg_acquire())
            try:
                return on_loop(conn.fetchval("SELECT 1"))
            finally:
                on_loop(pg_pool.release(conn))

        lite_idle: asyncio.Queue[aiosqlite.Connection] = on_loop(make_queue())
        for _ in range(2):
            lite_idle.put_nowait(on_loop(lite_connect()))

        async def lite_fetch_on(conn: aiosqlite.Connection) -> Any:
            cursor = await conn.execute("SELECT 1")
            return (await cursor.fetchone())[0]

        async def lite_begin(conn: aiosqlite.Connection) -> None:
            await conn.execute("BEGIN")

        def lite_request_bridge() -> Any:
            conn = on_loop(lite_idle.get())
            try:
                on_loop(lite_begin(conn))
                value = on_loop(lite_fetch_on(conn))
                on_loop(conn.commit())
                return value
            finally:
                on_loop(lite_idle.put(conn))

        def lite_request_autocommit() -> Any:
            conn = on_loop(lite_idle.get())
            try:
                return on_loop(lite_fetch_on(conn))
            finally:
                on_loop(lite_idle.put(conn))

        pg_request_ours, lite_request_ours = request(pg_config), request(lite_config)

        assert pg_ours() == pg_bridge() == 1
        assert lite_ours() == lite_bridge() == 1
        assert pg_request_ours() == pg_request_bridge() == 1
        assert lite_request_ours() == lite_request_bridge() == 1
        assert pg_request_autocommit() == lite_request_autocommit() == 1

        hops = {
            "asyncpg ours": count_hops(loop, pg_request_ours),
            "asyncpg bridge": count_hops(loop, pg_request_bridge),
            "aiosqlite ours": count_hops(loop, lite_request_ours),
            "aiosqlite bridge": count_hops(loop, lite_request_bridge),
            "asyncpg autocommit bridge": count_hops(loop, pg_request_autocommit),
            "aiosqlite autocommit bridge": count_hops(loop, lite_request_autocommit),
        }

        samples, cpu_samples = run(
            {
                "hop": hop,
                "portal hop": portal_hop,
                "asyncpg ours": pg_ours,
                "asyncpg bridge": pg_bridge,
                "aiosqlite ours": lite_ours,
                "aiosqlite bridge": lite_bridge,
                "S5 asyncpg ours": pg_request_ours,
                "S5 asyncpg bridge": pg_request_bridge,
                "S5 aiosqlite ours": lite_request_ours,
                "S5 aiosqlite bridge": lite_request_bridge,
                "S5 asyncpg autocommit bridge": pg_request_autocommit,
                "S5 aiosqlite autocommit bridge": lite_request_autocommit,
            },
            args.repeats,
            args.ops,
        )
        median = {name: statistics.median(values) for name, values in samples.items()}
        best = {name: min(values) for name, values in samples.items()}
        print(f"{args.repeats} interleaved batches of {args.ops} ops, µs/op")
        cpu_median = {name: statistics.median(values) for name, values in cpu_samples.items()}
        print(f"{'variant':<32}{'median':>9}{'best':>9}{'CPU':>9}")
        for name in samples:
            print(f"{name:<32}{median[name]:>9.1f}{best[name]:>9.1f}{cpu_median[name]:>9.1f}")
        print()
        # The ratio of each round (ours and bridge timed back to back) is robust to load that
        # drifts during the run; the ratio of the best batches shows the uncontended cost.
        print(
            f"{'driver':<12}{'ours/bridge':>12}{'best/best':>11}{'ours-hop':>10}{'bridge-hop':>12}"
        )
        ok = True
        for driver in ("asyncpg", "aiosqlite"):
            ours, bridge = samples[f"{driver} ours"], samples[f"{driver} bridge"]
            ratio = statistics.median(o / b for o, b in zip(ours, bridge, strict=True))
            best_ratio = best[f"{driver} ours"] / best[f"{driver} bridge"]
            ok = ok and ratio <= 1.10
            print(
                f"{driver:<12}{ratio:>11.2f}x{best_ratio:>10.2f}x"
                f"{median[f'{driver} ours'] - median['hop']:>10.1f}"
                f"{median[f'{driver} bridge'] - median['hop']:>12.1f}"
            )
        print("target ours/bridge <= 1.10 (median of per-round ratios):", "met" if ok else "MISSED")
        print()
        ending = (
            "open_lazily() ... commit(release=True)" if LAZY else "enter ... commit() + close()"
        )
        print(f"S5 per request (ours ends with {ending}): bridge/ours, higher is better")
        print(f"{'S5':<30}{'wall':>8}{'best/best':>11}{'CPU':>8}{'hops ours':>11}{'bridge':>8}")
        for driver, target in (("asyncpg", 1.00), ("aiosqlite", 0.70)):
            for bridge_name in ("bridge", "autocommit bridge"):
                ours, bridge = samples[f"S5 {driver} ours"], samples[f"S5 {driver} {bridge_name}"]
                ratio = statistics.median(b / o for o, b in zip(ours, bridge, strict=True))
                best_ratio = best[f"S5 {driver} {bridge_name}"] / best[f"S5 {driver} ours"]
                cpu_ours = cpu_samples[f"S5 {driver} ours"]
                cpu_bridge = cpu_samples[f"S5 {driver} {bridge_name}"]
                cpu_ratio = statistics.median(
                    b / o for o, b in zip(cpu_ours, cpu_bridge, strict=True)
                )
                verdict = ""
                if bridge_name == "bridge":
                    verdict = f"   target >= {target:.2f}: {'met' if ratio >= target else 'MISSED'}"
                print(
                    f"{driver + ' vs ' + bridge_name:<30}{ratio:>7.2f}x{best_ratio:>10.2f}x"
                    f"{cpu_ratio:>7.2f}x{hops[f'{driver} ours']:>11.1f}"
                    f"{hops[f'{driver} {bridge_name}']:>8.1f}{verdict}"
                )

        pg_db.close()
        lite_db.close()
        on_loop(pg_raw.close())
        on_loop(lite_raw.close())
        on_loop(pg_pool.close())
        while not lite_idle.empty():
            on_loop(lite_idle.get_nowait().close())
        return 0
    finally:
        spec.close_all_pools()
        tmp.cleanup()
        if stop is not None:
            stop()


if __name__ == "__main__":
    sys.exit(main())
