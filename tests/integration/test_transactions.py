"""Transactions on the sync adapters only: SQLite's snapshot reads.
The behaviours every backend shares are in ``tests/contract/test_transactions.py``."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import SerializationError


def test_sqlite_session_reads_one_snapshot_and_refuses_a_stale_write(
    spec: SQLSpec, tmp_path: Any
) -> None:
    """A session's reads run inside its transaction (the hand-written ``sqlite3`` default reads
    outside any): a concurrent commit is not seen halfway, and a write based on what the session
    read fails instead of silently overwriting the other commit."""
    from sqlspec.adapters.sqlite import SqliteConfig

    config = spec.add_config(
        SqliteConfig(
            pool_config={"database": str(tmp_path / "accounts.db"), "timeout": 0.5},
            driver_features={"pragmas": {"journal_mode": "wal"}},
        )
    )
    with spec.provide_session(config) as setup:
        setup.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
        setup.execute("INSERT INTO accounts VALUES (1, 100)")
        setup.commit()
    with spec.provide_session(config) as reader:
        assert reader.select_value("SELECT balance FROM accounts WHERE id = 1") == 100
        with spec.provide_session(config) as writer:
            writer.execute("UPDATE accounts SET balance = 50 WHERE id = 1")
            writer.commit()
        assert reader.select_value("SELECT balance FROM accounts WHERE id = 1") == 100
        with pytest.raises(SerializationError, match=r"(?i)locked|busy"):  # SQLITE_BUSY_SNAPSHOT
            reader.execute("UPDATE accounts SET balance = 100 - 30 WHERE id = 1")
        reader.rollback()
    with spec.provide_session(config) as check:
        assert check.select_value("SELECT balance FROM accounts WHERE id = 1") == 50
