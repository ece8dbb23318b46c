"""spec.migrations(config) on every backend: upgrade, downgrade, status, drift and failures."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import ImproperConfigurationError, MigrationError
from sqlspec.migrations import MigrationInfo
from tests.backends import Database
from tests.migrations.conftest import MakeConfig, tables, write

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL)"
POSTS = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL)"
TAGS = "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(20) NOT NULL)"


def three(folder: Path) -> None:
    write(folder, "0001_users.sql", USERS + ";", "DROP TABLE users;")
    write(
        folder, "0002_posts.sql", POSTS + ";\nINSERT INTO posts VALUES (1, 1);", "DROP TABLE posts;"
    )
    write(folder, "0005_tags.sql", TAGS + ";", "DROP TABLE tags;")


def test_upgrade_from_empty_applies_every_migration_once_in_order(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    three(folder)
    migrations = spec.migrations(config)
    before = datetime.now(timezone.utc)

    assert migrations.current() is None
    assert migrations.upgrade() == ["0001", "0002", "0005"]

    assert {"users", "posts", "tags", "sqlspec_migrations"} <= tables(spec, config)
    with spec.provide_sync_session(config) as db:
        assert db.select_value("SELECT COUNT(*) FROM posts") == 1
        rows = db.select("SELECT version, name, checksum FROM sqlspec_migrations ORDER BY version")
    assert [(r["version"], r["name"]) for r in rows] == [
        ("0001", "users"),
        ("0002", "posts"),
        ("0005", "tags"),
    ]
    assert all(len(r["checksum"]) == 64 for r in rows)
    assert migrations.current() == "0005"
    assert migrations.upgrade() == []  # nothing pending: nothing runs twice
    status = migrations.status()
    assert [(i.version, i.name, i.applied) for i in status] == [
        ("0001", "users", True),
        ("0002", "posts", True),
        ("0005", "tags", True),
    ]
    assert all(
        i.applied_at is not None and i.applied_at >= before.replace(microsecond=0) for i in status
    )


def test_upgrade_to_a_version_then_the_rest(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    three(folder)
    migrations = spec.migrations(config)

    assert migrations.upgrade(to="2") == ["0001", "0002"]
    assert "tags" not in tables(spec, config)
    assert [i.applied for i in migrations.status()] == [True, True, False]
    assert migrations.status()[2] == MigrationInfo(
        "0005", "tags", False, None, folder / "0005_tags.sql"
    )
    assert migrations.upgrade() == ["0005"]
    with pytest.raises(MigrationError, match="no migration has version 4"):
        migrations.upgrade(to="4")


def test_downgrade_reverts_newest_first(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    three(folder)
    migrations = spec.migrations(config)
    migrations.upgrade()

    assert migrations.downgrade(to="0001") == ["0005", "0002"]
    assert migrations.current() == "0001"
    found = tables(spec, config)
    assert "users" in found
    assert not {"posts", "tags"} & found
    assert migrations.downgrade(to="0001") == []
    assert migrations.downgrade(to="0") == ["0001"]
    assert migrations.current() is None
    assert "users" not in tables(spec, config)
    assert migrations.upgrade() == ["0001", "0002", "0005"]  # and back up


def test_a_failing_migration_leaves_no_trace_and_is_not_recorded(
    spec: SQLSpec, make_config: MakeConfig, folder: Path, backend: Database
) -> None:
    config = make_config()
    write(folder, "0001_users.sql", USERS + ";")
    broken = write(
        folder,
        "0002_broken.sql",
        POSTS
        + ";\nINSERT INTO users (id, email) VALUES (1, 'a@x');\nINSERT INTO nowhere VALUES (1);",
    )
    write(folder, "0003_tags.sql", TAGS + ";")
    migrations = spec.migrations(config)

    with pytest.raises(MigrationError) as caught:
        migrations.upgrade()

    message = str(caught.value)
    assert str(broken) in message
    assert "nowhere" in message
    assert "not recorded" in message
    assert migrations.current() == "0001"
    assert "tags" not in tables(spec, config)  # nothing after the failure ran
    with spec.provide_sync_session(config) as db:
        if backend.info.transactional_ddl:
            assert "rolled back" in message
            assert "posts" not in tables(spec, config)
            assert db.select_value("SELECT COUNT(*) FROM users") == 0
        else:  # MySQL: DDL commits at once; the message says what stayed
            assert "statement 3 of 3 (line 4)" in message
            assert "statements 1-2" in message
            assert "NOT rolled back" in message
    # Fixed, the file applies (a file that never applied may change freely).
    write(folder, "0002_broken.sql", "DROP TABLE IF EXISTS posts;\n" + POSTS + ";")
    assert migrations.upgrade() == ["0002", "0003"]


def test_an_edited_applied_migration_is_refused_before_anything_runs(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    path = write(folder, "0001_users.sql", USERS + ";", "DROP TABLE users;")
    migrations = spec.migrations(config)
    migrations.upgrade()
    path.write_text(path.read_text() + "\n-- a harmless-looking edit\n")
    write(folder, "0002_tags.sql", TAGS + ";")

    with pytest.raises(MigrationError, match=r"0001_users\.sql was changed after it was applied"):
        migrations.upgrade()
    with pytest.raises(MigrationError, match=r"0001_users\.sql was changed"):
        migrations.downgrade(to="0")

    assert "tags" not in tables(spec, config)
    assert migrations.status()[0].problem == "file changed"
    path.write_text(path.read_text().replace("\n-- a harmless-looking edit\n", ""))
    assert migrations.upgrade() == ["0002"]


def test_a_deleted_applied_migration_is_refused(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    path = write(folder, "0001_users.sql", USERS + ";")
    migrations = spec.migrations(config)
    migrations.upgrade()
    path.unlink()
    write(folder, "0002_tags.sql", TAGS + ";")

    with pytest.raises(MigrationError, match=r"applied migration 0001_users\.sql is missing"):
        migrations.upgrade()

    assert "tags" not in tables(spec, config)
    first = migrations.status()[0]
    assert (first.version, first.applied, first.path, first.problem) == (
        "0001",
        True,
        None,
        "file missing",
    )


def test_downgrade_without_a_down_section_refuses_before_running_anything(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    write(folder, "0001_users.sql", USERS + ";", "DROP TABLE users;")
    write(folder, "0002_posts.sql", POSTS + ";", "-- no way back")
    write(folder, "0003_tags.sql", TAGS + ";", "DROP TABLE tags;")
    migrations = spec.migrations(config)
    migrations.upgrade()

    with pytest.raises(MigrationError, match=r"0002_posts\.sql has no '-- migrate:down' section"):
        migrations.downgrade(to="0")

    assert migrations.current() == "0003"  # 0003, reverted first otherwise, is untouched
    assert {"users", "posts", "tags"} <= tables(spec, config)
    assert migrations.downgrade(to="2") == ["0003"]


def test_version_table_name_and_create(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config(version_table_name="schema_history")
    migrations = spec.migrations(config)

    first = migrations.create("add_users")
    assert first == folder / "0001_add_users.sql"
    assert first.read_text() == "-- migrate:up\n\n\n-- migrate:down\n\n"
    first.write_text(f"-- migrate:up\n{USERS};\n-- migrate:down\nDROP TABLE users;\n")
    assert migrations.create("add_tags").name == "0002_add_tags.sql"
    with pytest.raises(MigrationError, match="has no statements"):
        migrations.upgrade()  # 0002 is still the empty template
    (folder / "0002_add_tags.sql").unlink()
    assert migrations.upgrade() == ["0001"]
    assert "schema_history" in tables(spec, config)
    assert "sqlspec_migrations" not in tables(spec, config)


def test_status_on_an_empty_database_creates_nothing(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    write(folder, "0001_users.sql", USERS + ";")
    migrations = spec.migrations(config)

    assert [(i.version, i.applied, i.applied_at) for i in migrations.status()] == [
        ("0001", False, None)
    ]
    assert migrations.current() is None
    assert "sqlspec_migrations" not in tables(spec, config)
    assert migrations.downgrade(to="0") == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"script_locaton": "m"}, "'script_locaton' \\(did you mean 'script_location'\\?\\)"),
        ({"version_table_name": "bad name"}, "must be a table name"),
        ({"script_location": 3}, "must be a path"),
    ],
)
def test_migration_config_is_validated(
    backend: Database, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ImproperConfigurationError, match=message):
        backend.config(migration_config=settings)


def test_a_foreign_table_under_the_version_table_name_is_refused(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config(version_table_name="schema_migrations")
    with spec.provide_sync_session(config) as db:  # e.g. dbmate's own table
        db.execute("CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY)")
        db.execute("INSERT INTO schema_migrations VALUES ('0001')")
        db.commit()
    write(folder, "0001_users.sql", USERS + ";")
    migrations = spec.migrations(config)

    with pytest.raises(MigrationError, match="schema_migrations exists but is not a sqlspec"):
        migrations.upgrade()
    with pytest.raises(MigrationError, match="is not a sqlspec version table"):
        migrations.status()
    assert "users" not in tables(spec, config)


@pytest.mark.parametrize(
    "backend", [pytest.param("psycopg", marks=pytest.mark.postgres)], indirect=True
)
def test_a_transaction_pooler_config_is_refused_before_anything_runs(
    spec: SQLSpec, backend: Database, folder: Path
) -> None:
    config = spec.add_config(
        backend.config(
            migration_config={"script_location": str(folder)},
            driver_features={"pooler_mode": "transaction"},
        )
    )
    write(folder, "0001_users.sql", USERS + ";")
    with pytest.raises(MigrationError, match="pooler_mode='transaction'"):
        spec.migrations(config).upgrade()
    assert "users" not in tables(spec, config)


@pytest.mark.parametrize("backend", [pytest.param("sqlite", id="sqlite")], indirect=True)
def test_a_pending_migration_older_than_applied_ones_is_applied(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    write(folder, "0001_users.sql", USERS + ";")
    write(folder, "0003_tags.sql", TAGS + ";")
    migrations = spec.migrations(config)
    assert migrations.upgrade() == ["0001", "0003"]
    write(folder, "0002_posts.sql", POSTS + ";")  # merged from another branch
    assert [i.applied for i in migrations.status()] == [True, False, True]
    assert migrations.upgrade() == ["0002"]
    assert migrations.current() == "0003"
