"""The guide's "Connection Pooling" as a complete program: one pooled SQLite connection
shared by threads, one after the other.

Run it: python connection_pooling.py
"""

import threading

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig

config = SqliteConfig(
    pool_config={
        "database": "app.db",
        "check_same_thread": False,  # the default: pooled connections move between threads
        "timeout": 30.0,  # SQLite busy timeout, seconds
        "max_size": 10,  # connections at most
        "acquire_timeout": 5.0,  # wait this long for a free one, then PoolTimeoutError
    }
)
sqlspec = SQLSpec()
sqlspec.add_config(config)

if __name__ == "__main__":
    assert config.pool_stats().size == 0  # nothing opened before first use
    seen = []

    def work():
        with sqlspec.provide_session(config) as db:
            seen.append((id(db.connection), db.select_value("SELECT 40 + 2")))

    for _ in range(3):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert [answer for _, answer in seen] == [42, 42, 42]
    assert len({connection for connection, _ in seen}) == 1  # one connection, reused
    assert config.pool_stats().size == 1
    sqlspec.close_all_pools()
    print("ok: three threads used one pooled connection")
