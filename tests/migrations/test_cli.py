"""The migration commands: ``flask sqlspec upgrade|downgrade|status|new`` and
``python -m sqlspec``, with their output and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.migrations.conftest import write

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app rooted in tmp_path with three databases: ``main`` (sync) and ``notes`` (async)
    have migrations (relative folders, read against the app's root path), ``reports`` has none."""
    spec = SQLSpec()
    spec.add_config(
        SqliteConfig(
            pool_config={"database": str(tmp_path / "main.db")},
            extension_config={"flask": {"session_key": "main"}},
            migration_config={"script_location": "migrations/main"},
        )
    )
    spec.add_config(
        AiosqliteConfig(
            pool_config={"database": str(tmp_path / "notes.db")},
            extension_config={"flask": {"session_key": "notes"}},
            migration_config={"script_location": "migrations/notes", "version_table_name": "v"},
        )
    )
    spec.add_config(
        SqliteConfig(
            pool_config={"database": str(tmp_path / "reports.db")},
            extension_config={"flask": {"session_key": "reports"}},
        )
    )
    for name in ("main", "notes"):
        (tmp_path / "migrations" / name).mkdir(parents=True)
    write(
        tmp_path / "migrations/main",
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    )
    write(
        tmp_path / "migrations/main",
        "0002_tags.sql",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    )
    write(
        tmp_path / "migrations/notes",
        "0001_notes.sql",
        "CREATE TABLE notes (body TEXT);",
        "DROP TABLE notes;",
    )
    flask_app = Flask("cli_app", root_path=str(tmp_path))
    SQLSpecPlugin(spec, flask_app)
    yield flask_app
    spec.close_all_pools()


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["sqlspec", *args])
    return result.exit_code, result.output


def test_upgrade_status_downgrade_and_new_through_flask(app: Flask, tmp_path: Path) -> None:
    code, output = run(app, "status")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == "main: migrations/main (table sqlspec_migrations)" or lines[0].startswith(
        "main: "
    )
    assert lines[1].split() == ["version", "name", "state", "applied", "at"]
    assert lines[2].split() == ["0001", "users", "pending", "-"]
    assert "2 pending" in output
    assert "notes:" in output
    assert "reports" not in output

    code, output = run(app, "upgrade", "--db", "main", "--to", "0001")
    assert (code, output.splitlines()) == (
        0,
        ["main: applied 0001_users", "main: now at version 0001"],
    )
    code, output = run(app, "upgrade")
    assert code == 0, output
    assert output.splitlines() == [
        "main: applied 0002_tags",
        "main: now at version 0002",
        "notes: applied 0001_notes",
        "notes: now at version 0001",
    ]
    code, output = run(app, "upgrade")
    assert output.splitlines() == [
        "main: up to date (version 0002)",
        "notes: up to date (version 0001)",
    ]

    code, output = run(app, "status", "--db", "main")
    assert code == 0
    assert [line.split()[:3] for line in output.splitlines()[2:4]] == [
        ["0001", "users", "applied"],
        ["0002", "tags", "applied"],
    ]
    assert output.splitlines()[-1] == "  up to date"

    code, output = run(app, "downgrade", "--db", "main", "--to", "0")
    assert (code, output.splitlines()) == (
        0,
        ["main: reverted 0002_tags", "main: reverted 0001_users", "main: now at version none"],
    )

    code, output = run(app, "new", "add_email", "--db", "notes")
    assert code == 0, output
    created = tmp_path / "migrations/notes/0002_add_email.sql"
    assert created.read_text() == "-- migrate:up\n\n\n-- migrate:down\n\n"
    assert "created" in output
    assert "0002_add_email.sql" in output


def test_failures_exit_with_status_1_and_say_why(app: Flask, tmp_path: Path) -> None:
    code, output = run(app, "upgrade", "--db", "nope")
    assert code == 1
    assert "unknown database key 'nope'; known keys: 'main', 'notes', 'reports'" in output

    code, output = run(app, "new", "x")  # two databases have migrations: which one?
    assert code == 1
    assert "pass --db KEY" in output

    write(tmp_path / "migrations/main", "0003_broken.sql", "INSERT INTO nowhere VALUES (1);")
    code, output = run(app, "upgrade", "--db", "main")
    assert code == 1
    assert "Error:" in output
    assert "0003_broken.sql" in output
    assert "nowhere" in output

    code, output = run(app, "downgrade", "--db", "main", "--to", "9")
    assert code == 1
    assert "no migration has version 9" in output

    # reports has no migration_config: the default folder, "migrations" under the app's root
    # path, holds no migration files of its own.
    code, output = run(app, "upgrade", "--db", "reports")
    assert (code, output) == (0, "reports: up to date (version none)\n")


def test_usage_errors_exit_with_status_2(app: Flask) -> None:
    code, output = run(app, "downgrade")
    assert code == 2
    assert "--to" in output
    code, output = run(app, "new")
    assert code == 2


MODULE = """
from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig

spec = SQLSpec()
spec.add_config(
    SqliteConfig(pool_config={"database": "app.db"}, migration_config={"script_location": "db"})
)


def make_spec():
    return spec
"""


def python_m(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SQLSPEC_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "sqlspec", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_sqlspec_runs_every_command(tmp_path: Path) -> None:
    (tmp_path / "dbconf.py").write_text(MODULE)
    folder = tmp_path / "db"
    folder.mkdir()
    write(folder, "0001_users.sql", "CREATE TABLE users (id INTEGER);", "DROP TABLE users;")

    done = python_m(tmp_path, "--config", "dbconf:spec", "status")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2].split() == ["0001", "users", "pending", "-"]

    done = python_m(tmp_path, "--config", "dbconf:make_spec", "upgrade")
    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        ["default: applied 0001_users", "default: now at version 0001"],
    ), done.stderr
    assert (tmp_path / "app.db").exists()  # relative to the current directory

    done = python_m(tmp_path, "--config", "dbconf:spec", "new", "add_tags")
    assert done.returncode == 0, done.stderr
    assert (folder / "0002_add_tags.sql").exists()
    (folder / "0002_add_tags.sql").write_text("-- migrate:up\nCREATE TABLE tags (id INTEGER);\n")

    done = python_m(tmp_path, "--config", "dbconf:spec", "upgrade", "--db", "default", "--to", "2")
    assert done.returncode == 0, done.stderr
    assert "applied 0002_add_tags" in done.stdout

    done = python_m(tmp_path, "--config", "dbconf:spec", "downgrade", "--to", "1")
    assert done.returncode == 1
    assert "0002_add_tags.sql has no '-- migrate:down' section" in done.stderr

    (folder / "0001_users.sql").write_text("-- migrate:up\nCREATE TABLE users (id BIGINT);\n")
    done = python_m(tmp_path, "--config", "dbconf:spec", "upgrade")
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert "0001_users.sql was changed after it was applied" in done.stderr

    done = python_m(tmp_path, "--config", "dbconf:spec", "status")
    assert done.returncode == 0
    assert "applied, file changed" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status"], "--config MODULE:ATTRIBUTE is required"),
        (["--config", "dbconf", "status"], "write it as module:attribute"),
        (["--config", "missing_module:spec", "status"], "cannot import 'missing_module'"),
        (["--config", "dbconf:nope", "status"], "dbconf has no 'nope'"),
        (["--config", "dbconf:MODULE_CONSTANT", "status"], "expected a SQLSpec"),
        (["--config", "dbconf:spec"], "COMMAND"),
        (["--config", "dbconf:spec", "downgrade"], "--to"),
    ],
)
def test_python_m_sqlspec_usage_errors_exit_with_status_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "dbconf.py").write_text(MODULE + "\nMODULE_CONSTANT = 3\n")
    done = python_m(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_plugin_migrations_read_relative_folders_against_the_app_root(app: Flask) -> None:
    plugin = app.extensions["sqlspec"]
    with app.app_context():
        migrations = plugin.migrations("notes")
        assert migrations.path == Path(app.root_path) / "migrations/notes"
        assert migrations.table == "v"
        assert migrations.upgrade() == ["0001"]
    assert plugin.migrations().upgrade() == ["0001", "0002"]  # no context: the only app; "main"
