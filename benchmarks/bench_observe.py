"""What observation costs per statement: recording, counting and OpenTelemetry against nothing.

One SQLite file database (``users``, 10,000 rows), one Flask app with ``SQLSpecPlugin``, one
session per block inside an app context; every side runs the same statement
(``SELECT id, email, name FROM users WHERE id = ?``) the same number of times:

* ``off``: nothing observes (``record_queries`` off, OpenTelemetry not instrumented): the
  production default, the baseline of every ratio;
* ``recording``: ``"record_queries": True`` (what ``app.debug``/``app.testing`` turn on);
* ``counting``: inside ``plugin.count_queries()``;
* ``otel``: ``SQLSpecInstrumentor`` instrumented with the SDK's tracer and meter providers
  (spans created and ended, no exporter: the instrumentation's own cost).

Blocks of statements alternate between ``off`` and the side measured, the first side flipping
every block; each round gives one ratio; the median over rounds is printed with the extra time
per statement. Always exits 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from flask import Flask

SQL = "SELECT id, email, name FROM users WHERE id = ?"
USERS = 10_000


def create_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT)")
    conn.executemany(
        "INSERT INTO users (id, email, name) VALUES (?, ?, ?)",
        ((i, f"user{i}@example.com", f"User {i}") for i in range(1, USERS + 1)),
    )
    conn.commit()
    conn.close()


def make_app(path: Path, record: bool) -> tuple[Flask, Any]:
    from sqlspec import SQLSpec
    from sqlspec.adapters.sqlite import SqliteConfig
    from sqlspec.extensions.flask import SQLSpecPlugin

    spec = SQLSpec()
    spec.add_config(
        SqliteConfig(
            pool_config={"database": str(path)},
            extension_config={"flask": {"record_queries": record}},
        )
    )
    app = Flask(f"bench_observe_{record}")
    return app, SQLSpecPlugin(spec, app)


@contextmanager
def instrumented() -> Iterator[None]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from sqlspec.extensions.opentelemetry import SQLSpecInstrumentor

    instrumentor = SQLSpecInstrumentor()
    instrumentor.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    try:
        yield
    finally:
        instrumentor.uninstrument()


def block(
    app: Flask, plugin: Any, count: int, around: Callable[[], AbstractContextManager[Any]]
) -> float:
    """Seconds to run ``count`` statements in one app context, inside ``around()``."""
    with app.app_context(), around():
        db = plugin.get_session()
        execute = db.execute
        started = time.perf_counter()
        for i in range(count):
            execute(SQL, (i % USERS) + 1).one()
        return time.perf_counter() - started


def measure(
    name: str,
    base: Callable[[], float],
    side: Callable[[], float],
    rounds: int,
    blocks: int,
    count: int,
) -> tuple[str, float, float, float, float]:
    base(), side()  # warm-up
    ratios, extra = [], []
    for round_number in range(rounds):
        base_time = side_time = 0.0
        for number in range(blocks):
            if (round_number + number) % 2:
                side_time += side()
                base_time += base()
            else:
                base_time += base()
                side_time += side()
        ratios.append(base_time / side_time)
        extra.append((side_time - base_time) / (blocks * count) * 1e6)
    return (
        name,
        statistics.median(ratios),
        min(ratios),
        max(ratios),
        statistics.median(extra),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (fewer statements)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per side (7)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 7)
    count, blocks = (200, 2) if args.quick else (2_000, 4)

    import sqlspec

    print(
        f"python:  {sys.version.split()[0]} on {platform.platform()}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"sqlspec: {sqlspec.__version__} from {Path(sqlspec.__file__).parent}")
    print(f"sizes:   {rounds} rounds x {blocks} blocks x {count:,} statements per side")
    print("method:  ratio = off time / side time over the same round (1.00 = free), median and")
    print("         range over rounds; extra = added time per statement (median, microseconds)")

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        path = Path(tmp) / "bench.db"
        create_database(path)
        app_off, plugin_off = make_app(path, record=False)
        app_rec, plugin_rec = make_app(path, record=True)
        stack.callback(plugin_off.shutdown)
        stack.callback(plugin_rec.shutdown)
        # The recording plugin's observer is in the statement path of every session while it
        # is registered: it is registered for its own blocks only, so `off` really is off.
        from sqlspec.observe import HUB, add_observer, remove_observer

        recorder = plugin_rec._recorder
        remove_observer(recorder)
        assert not HUB.observers

        @contextmanager
        def recorder_registered() -> Iterator[None]:
            add_observer(recorder, weak=True)
            HUB.refresh()
            try:
                yield
            finally:
                remove_observer(recorder)

        def off() -> float:
            return block(app_off, plugin_off, count, nullcontext)

        def recording() -> float:
            return block(app_rec, plugin_rec, count, recorder_registered)

        def counting() -> float:
            return block(app_off, plugin_off, count, plugin_off.count_queries)

        def otel() -> float:
            return block(app_off, plugin_off, count, instrumented)

        results = [
            measure("recording on", off, recording, rounds, blocks, count),
            measure("count_queries", off, counting, rounds, blocks, count),
            measure("otel instrumented", off, otel, rounds, blocks, count),
        ]

    print()
    print(f"{'side':<20} {'off/side':>8}  {'range':<11} {'extra/stmt':>11}")
    print(f"{'-' * 20} {'-' * 8}  {'-' * 11} {'-' * 11}")
    for name, ratio, low, high, extra in results:
        print(f"{name:<20} {ratio:8.3f}  {low:.2f}-{high:.2f}   {extra:8.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
