"""Round trips per request: S4 (GET one row by key, PostgreSQL) behind a link with latency.

A small TCP proxy on loopback sits between the apps and PostgreSQL and holds every chunk of data
for ``--delay-ms`` (default 1 ms) in each direction, as a network between an app server and its
database would. Both apps are bench_flask's: sqlspec's plugin in autocommit mode ("ours") and the
hand-written psycopg_pool + ``flask.g`` pattern that commits by status ("raw"), driven through
Flask's test client, interleaved. The proxy counts *flights*: a flight is data the client sends
after it has heard from the server (or first), so one flight is one round trip the client waited
for. Printed per side: round trips per request, requests per second, and ours/raw.

    .venv/bin/python benchmarks/bench_roundtrips.py [--delay-ms 1] [--requests 300] [--pg CONNINFO]
"""

from __future__ import annotations

import argparse
import heapq
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _shared import git_state, package_version, start_postgres
from bench_flask import create_postgres, interleaved, make_raw_app, test_client_batch
from bench_flask import make_ours_app as make_ours

_FOREVER = 1e9


class DelayProxy:
    """Forwards loopback TCP connections to ``target``, delaying each chunk by ``delay`` s.

    Each direction of each connection has a reader thread (stamps chunks with their due time)
    and one shared timer thread sends them when due, in order. ``flights`` counts the times a
    client sent data after the server last spoke on that connection.
    """

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target = target
        self.delay = delay
        self.flights = 0
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, socket.socket, bytes]] = []
        self._wake = threading.Condition(self._lock)
        self._sequence = 0
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._send_when_due, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            last = {"from_server": True}  # the client speaks first
            threading.Thread(
                target=self._pump, args=(client, server, last, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(server, client, last, False), daemon=True
            ).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, last: dict[str, bool], upstream: bool
    ) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            with self._wake:
                if upstream and data and last["from_server"]:
                    self.flights += 1
                last["from_server"] = not upstream
                self._sequence += 1
                heapq.heappush(
                    self._due, (time.perf_counter() + self.delay, self._sequence, sink, data)
                )
                self._wake.notify()
            if not data:
                return

    def _send_when_due(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (not self._due or self._due[0][0] > time.perf_counter()):
                    timeout = self._due[0][0] - time.perf_counter() if self._due else _FOREVER
                    self._wake.wait(max(timeout, 0))
                if self._closed:
                    return
                _, _, sink, data = heapq.heappop(self._due)
            try:
                if data:
                    sink.sendall(data)
                else:
                    sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._listener.close()


def _via(conninfo: str, port: int) -> str:
    import psycopg

    return psycopg.conninfo.make_conninfo(conninfo, host="127.0.0.1", port=str(port))


def round_trips_per_request(proxy: DelayProxy, send: Callable[[], None], requests: int) -> float:
    before = proxy.flights
    send()
    return (proxy.flights - before) / requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, default=1.0, help="one-way delay (1 ms)")
    parser.add_argument("--requests", type=int, default=300, help="requests per block (300)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--pg", metavar="CONNINFO", help="PostgreSQL (default: throwaway)")
    args = parser.parse_args(argv)

    print(
        f"sqlspec {git_state()}; psycopg {package_version('psycopg')}, "
        f"psycopg_pool {package_version('psycopg-pool')}; load {os.getloadavg()}"
    )
    conninfo = args.pg or os.environ.get("SQLSPEC_PG_DSN", "").strip()
    stop: Callable[[], None] = lambda: None  # noqa: E731
    if not conninfo:
        started = start_postgres()
        if started is None:
            return 1
        server, stop = started
        conninfo = server.conninfo
    try:
        db, drop = create_postgres(conninfo)
        try:
            return _measure(db, args)
        finally:
            drop()
    finally:
        stop()


def _measure(db: dict[str, Any], args: argparse.Namespace) -> int:
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(db["conninfo"])
    proxy = DelayProxy(
        (str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))), args.delay_ms / 1000
    )
    try:
        delayed = {**db, "conninfo": _via(db["conninfo"], proxy.port), "pool_size": 1}
        raw, ours = make_raw_app(delayed), make_ours(delayed)
        try:
            sides = {
                name: test_client_batch(app, "get", args.requests)
                for name, app in (("raw", raw), ("ours", ours))
            }
            trips = {
                name: round_trips_per_request(proxy, send, args.requests)
                for name, send in sides.items()
            }
            rates = interleaved(args.rounds, 2, args.requests, sides["raw"], sides["ours"])
        finally:
            for app in (raw, ours):
                app.extensions["bench_close"]()
    finally:
        proxy.close()
    raw_rate, ours_rate = statistics.median(rates.raw), statistics.median(rates.ours)
    ratios = rates.ratios
    print(
        f"S4 behind a {args.delay_ms:g} ms (each way) link, {args.rounds} rounds of "
        f"2 x {args.requests} requests per side, pool of 1:"
    )
    print(f"{'side':<6} {'round trips/request':>20} {'req/s':>10}")
    print(f"{'raw':<6} {trips['raw']:>20.2f} {raw_rate:>10,.0f}")
    print(f"{'ours':<6} {trips['ours']:>20.2f} {ours_rate:>10,.0f}")
    print(
        f"ours/raw throughput {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
