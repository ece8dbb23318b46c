"""Per-operation cost of async drivers used from sync code through the portal.

Compares, in one run and on one event-loop thread:

* ``ours``   ``db.execute("SELECT 1").scalar()`` on ``config.provide_sync_session()``;
* ``bridge`` a hand-written bridge on a raw driver connection:
  ``asyncio.run_coroutine_threadsafe(conn.fetchval("SELECT 1"), loop).result()`` (asyncpg) or a
  coroutine doing ``execute`` + ``fetchone`` (aiosqlite);
* ``hop``    the bare thread hop, ``run_coroutine_threadsafe(noop(), loop).result()``, and
  ``portal hop``, the same through ``Portal.call`` (what ours pays for the hop).

Each variant is timed in short batches, the batches of all variants interleaved; the median and
the best batch are reported as µs per operation, and ours/bridge as the median of the per-round
ratios (robust to load that drifts during the run) and as the ratio of the best batches (the
uncontended cost). The target is ours/bridge <= 1.10.

    python benchmarks/bench_portal.py                 # starts a throwaway PostgreSQL
    python benchmarks/bench_portal.py --pg postgresql://user@host/db
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
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


def timed(fn: Callable[[], Any], ops: int) -> float:
    """µs per call of ``fn`` over ``ops`` calls."""
    start = time.perf_counter()
    for _ in range(ops):
        fn()
    return (time.perf_counter() - start) / ops * 1e6


def run(variants: dict[str, Callable[[], Any]], repeats: int, ops: int) -> dict[str, list[float]]:
    """µs/op samples per variant: ``repeats`` rounds, each timing every variant once."""
    for fn in variants.values():  # warm up: caches, prepared statements, branch predictors
        timed(fn, ops)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            samples[name].append(timed(fn, ops))
    return samples


async def noop() -> None:
    return None


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

        assert pg_ours() == pg_bridge() == 1
        assert lite_ours() == lite_bridge() == 1

        samples = run(
            {
                "hop": hop,
                "portal hop": portal_hop,
                "asyncpg ours": pg_ours,
                "asyncpg bridge": pg_bridge,
                "aiosqlite ours": lite_ours,
                "aiosqlite bridge": lite_bridge,
            },
            args.repeats,
            args.ops,
        )
        median = {name: statistics.median(values) for name, values in samples.items()}
        best = {name: min(values) for name, values in samples.items()}
        print(f"{args.repeats} interleaved batches of {args.ops} ops, µs/op")
        print(f"{'variant':<18}{'median':>9}{'best':>9}")
        for name in samples:
            print(f"{name:<18}{median[name]:>9.1f}{best[name]:>9.1f}")
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

        pg_db.close()
        lite_db.close()
        on_loop(pg_raw.close())
        on_loop(lite_raw.close())
        return 0
    finally:
        spec.close_all_pools()
        tmp.cleanup()
        if stop is not None:
            stop()


if __name__ == "__main__":
    sys.exit(main())
