"""Migration files (dbmate's format): parsing, discovery and naming, without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlspec.exceptions import MigrationError
from sqlspec.migrations import parse_migration
from sqlspec.migrations.dialects import split_statements
from sqlspec.migrations.files import discover, next_file_name


def test_sections_options_and_checksum() -> None:
    text = (
        "-- a header comment\n-- migrate:up transaction:false\n"
        "CREATE INDEX CONCURRENTLY i ON t (c);\n"
        "--migrate:down\nDROP INDEX i;\n"
    )
    migration = parse_migration(Path("20240101120000_add_index.sql"), text)
    assert (migration.version, migration.number, migration.name) == (
        "20240101120000",
        20240101120000,
        "add_index",
    )
    assert migration.up == "CREATE INDEX CONCURRENTLY i ON t (c);"
    assert migration.down == "DROP INDEX i;"
    assert (migration.up_transaction, migration.down_transaction) == (False, True)
    crlf = parse_migration(Path("20240101120000_add_index.sql"), text.replace("\n", "\r\n"))
    assert crlf.checksum == migration.checksum  # a checkout with CRLF line endings is no edit
    edited = parse_migration(Path("20240101120000_add_index.sql"), text + " ")
    assert edited.checksum != migration.checksum


def test_a_down_section_of_comments_only_is_no_down_section() -> None:
    migration = parse_migration(
        Path("1.sql"), "-- migrate:up\nSELECT 1;\n-- migrate:down\n-- irreversible\n"
    )
    assert (migration.name, migration.down) == ("", None)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("create_users.sql", "-- migrate:up\nSELECT 1;", "is named <version>_<name>.sql"),
        (
            "1_x.sql",
            "SELECT 1;\n-- migrate:up\nSELECT 1;",
            r"1_x\.sql:1: SQL before '-- migrate:up'",
        ),
        ("1_x.sql", "-- migrate:down\nSELECT 1;\n-- migrate:up\nSELECT 1;", "comes before"),
        (
            "1_x.sql",
            "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;",
            "a second '-- migrate:up'",
        ),
        (
            "1_x.sql",
            "-- migrate:up transaction:off\nSELECT 1;",
            "unknown migration option 'transaction:off'",
        ),
        ("1_x.sql", "-- migrate:sideways\nSELECT 1;", "unknown section 'migrate:sideways'"),
        ("1_x.sql", "-- nothing yet\n", "no '-- migrate:up' section"),
        ("1_x.sql", "-- migrate:up\n-- TODO\n-- migrate:down\nSELECT 1;", "has no statements"),
    ],
)
def test_malformed_files_are_refused(name: str, text: str, message: str) -> None:
    with pytest.raises(MigrationError, match=message):
        parse_migration(Path(name), text)


def test_discovery_orders_by_number_and_refuses_duplicates(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        discover(tmp_path / "missing")
    for name in ("10_c.sql", "2_b.sql", "0001_a.sql"):
        (tmp_path / name).write_text("-- migrate:up\nSELECT 1;\n")
    (tmp_path / "README.md").write_text("not a migration")
    assert [m.version for m in discover(tmp_path)] == ["0001", "2", "10"]
    (tmp_path / "02_again.sql").write_text("-- migrate:up\nSELECT 1;\n")
    with pytest.raises(
        MigrationError, match=r"two migrations have version 2: 02_again\.sql and 2_b\.sql"
    ):
        discover(tmp_path)


def test_new_file_names(tmp_path: Path) -> None:
    assert next_file_name([], "add_users", "20260101000000") == "0001_add_users.sql"
    (tmp_path / "0009_a.sql").write_text("-- migrate:up\nSELECT 1;\n")
    assert next_file_name(discover(tmp_path), "b", "20260101000000") == "0010_b.sql"
    (tmp_path / "20250101000000_c.sql").write_text("-- migrate:up\nSELECT 1;\n")
    assert next_file_name(discover(tmp_path), "d", "20260101000000") == "20260101000000_d.sql"
    with pytest.raises(MigrationError, match="not a valid migration name"):
        next_file_name([], "add users", "20260101000000")


def test_mysql_statement_splitting() -> None:
    sql = (
        "CREATE TABLE t (a TEXT DEFAULT 'x;y', `b;` INT); -- c;\n"
        "# hash; comment\nINSERT INTO t VALUES ('it''s; \\' ok', 1);\n/* ; */ ;\n"
    )
    assert split_statements(sql) == [
        "CREATE TABLE t (a TEXT DEFAULT 'x;y', `b;` INT)",
        "-- c;\n# hash; comment\nINSERT INTO t VALUES ('it''s; \\' ok', 1)",
    ]


def test_command_line_keys_are_session_keys_made_unique() -> None:
    from sqlspec.adapters.sqlite import SqliteConfig
    from sqlspec.migrations.commands import database_keys, select_databases

    configs = [
        SqliteConfig(),
        SqliteConfig(extension_config={"flask": {"session_key": "db"}}),
        SqliteConfig(migration_config={"script_location": "m"}),
    ]
    keyed = database_keys(configs)
    assert [key for key, _ in keyed] == ["default", "db", "default_2"]
    assert select_databases(keyed, None) == [keyed[2]]  # the one with a migration_config
    assert select_databases(keyed, "db") == [keyed[1]]
    with pytest.raises(MigrationError, match="unknown database key 'x'"):
        select_databases(keyed, "x")
    with pytest.raises(MigrationError, match="none has a migration_config"):
        select_databases(keyed[:2], None)
