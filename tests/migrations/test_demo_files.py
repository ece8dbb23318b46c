"""The demo's migration and SQL files (examples/demo/migrations, examples/demo/queries) build
the schema examples/demo/app.py creates today and run its queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import UniqueViolationError
from tests.backends import Database

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def test_demo_migrations_and_queries(tmp_path: Path) -> None:
    spec = SQLSpec()
    users = spec.add_config(
        SqliteConfig(
            pool_config={"database": str(tmp_path / "users.db")},
            migration_config={"script_location": "migrations/users"},
        )
    )
    events = spec.add_config(
        DuckDBConfig(
            pool_config={"database": ":memory:"},
            migration_config={"script_location": "migrations/events"},
        )
    )
    try:
        assert spec.migrations(users, root=DEMO).upgrade() == ["0001"]
        assert spec.migrations(events, root=DEMO).upgrade() == ["0001"]
        spec.load_sql_files(DEMO / "queries")
        with spec.provide_session(users) as db, spec.provide_session(events) as ev:
            user = db.select_one(spec.get_sql("create_user"), email="a@x", name="Ada")
            with pytest.raises(UniqueViolationError):
                db.select_one(spec.get_sql("create_user"), email="a@x", name="Again")
            db.rollback()
            user = db.select_one(spec.get_sql("create_user"), email="a@x", name="Ada")
            db.commit()
            assert db.select_one(spec.get_sql("get_user"), id=user["id"]) == user
            assert db.select(spec.get_sql("list_users")) == [user]
            assert db.select(spec.get_sql("recent_users")) == [user]
            assert db.select_value(spec.get_sql("count_users")) == 1
            event_id = ev.select_value(
                spec.get_sql("record_event"), user_id=user["id"], kind="signup"
            )
            ev.commit()
            assert event_id == 1
            assert ev.select(spec.get_sql("events_by_kind")) == [{"kind": "signup", "n": 1}]
            assert ev.select_value(spec.get_sql("count_events")) == 1
        assert spec.migrations(events, root=DEMO).downgrade(to="0") == ["0001"]
    finally:
        spec.close_all_pools()


@pytest.mark.parametrize(
    "backend", [pytest.param("psycopg", marks=pytest.mark.postgres)], indirect=True
)
def test_demo_users_migration_and_queries_on_postgres(backend: Database, spec: SQLSpec) -> None:
    users = spec.add_config(
        backend.config(migration_config={"script_location": "migrations/users_postgres"})
    )
    assert spec.migrations(users, root=DEMO).upgrade() == ["0001"]
    spec.load_sql_files(DEMO / "queries" / "users.sql")
    with spec.provide_session(users) as db:
        user = db.select_one(spec.get_sql("create_user"), email="a@x", name="Ada")
        assert db.select_one(spec.get_sql("get_user"), id=user["id"]) == user
        assert db.select_value(spec.get_sql("count_users")) == 1
