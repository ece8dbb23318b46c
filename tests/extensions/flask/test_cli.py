"""The ``flask sqlspec`` command group: ``configs`` and ``run-sql``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from sqlspec import SQLSpec
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import in_use, new_app, tags


def two_databases(sqlite_config: MakeConfig, spec: SQLSpec) -> Flask:
    sqlite_config("main", session_key="main", commit_mode="autocommit")
    sqlite_config("reports", session_key="reports")
    app, plugin = new_app(spec)

    @app.route("/touch")
    def touch() -> str:
        return str(plugin.get_session("main").select_value("SELECT 1"))

    return app


def test_configs_lists_keys_adapters_modes_and_pools(
    sqlite_config: MakeConfig, spec: SQLSpec, tmp_path: Path
) -> None:
    app = two_databases(sqlite_config, spec)
    app.test_client().get("/touch")

    result = app.test_cli_runner().invoke(args=["sqlspec", "configs"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"main: SqliteConfig(database={str(tmp_path / 'main.db')!r}) commit_mode=autocommit "
        "pool(size=1 in_use=0 idle=1 waiting=0 max_size=10)",
        f"reports: SqliteConfig(database={str(tmp_path / 'reports.db')!r}) commit_mode=manual "
        "pool(size=0 in_use=0 idle=0 waiting=0 max_size=10)",
        "(pool statistics are this flask command's own process, not a running server's: each "
        "process has its own pools. A server reports its own with plugin.pool_stats(), e.g. on "
        "a /health route.)",
    ]


def test_run_sql_runs_a_script_on_the_given_key_and_commits(
    sqlite_config: MakeConfig, spec: SQLSpec, tmp_path: Path
) -> None:
    app = two_databases(sqlite_config, spec)
    script = tmp_path / "seed.sql"
    script.write_text(
        "CREATE TABLE items (tag TEXT NOT NULL);\n"
        "INSERT INTO items (tag) VALUES ('a; not a separator');\n"
        "INSERT INTO items (tag) VALUES ('b');\n",
        encoding="utf-8",
    )

    result = app.test_cli_runner().invoke(
        args=["sqlspec", "run-sql", str(script), "--key", "reports"]
    )

    assert result.exit_code == 0, result.output
    assert "reports" in result.output
    reports = spec.configs[1]
    assert tags(reports) == ["a; not a separator", "b"]
    assert in_use(reports) == 0
    main = spec.configs[0]
    assert main.pool_stats().size == 0  # the other database was not touched


def test_run_sql_defaults_to_the_first_database(
    sqlite_config: MakeConfig, spec: SQLSpec, tmp_path: Path
) -> None:
    app = two_databases(sqlite_config, spec)
    script = tmp_path / "seed.sql"
    script.write_text("CREATE TABLE items (tag TEXT); INSERT INTO items VALUES ('x');")

    result = app.test_cli_runner().invoke(args=["sqlspec", "run-sql", str(script)])

    assert result.exit_code == 0, result.output
    assert "'main'" in result.output
    assert tags(spec.configs[0]) == ["x"]


def test_run_sql_with_bad_sql_fails_and_commits_nothing(
    sqlite_config: MakeConfig, spec: SQLSpec, tmp_path: Path
) -> None:
    app = two_databases(sqlite_config, spec)
    script = tmp_path / "broken.sql"
    script.write_text("CREATE TABLE items (tag TEXT);\nINSERT INTO nowhere VALUES (1);\n")

    result = app.test_cli_runner().invoke(args=["sqlspec", "run-sql", str(script)])

    assert result.exit_code != 0
    assert "Error:" in result.output
    assert str(script) in result.output
    assert "nowhere" in result.output
    assert in_use(spec.configs[0]) == 0
    fixed = tmp_path / "check.sql"
    fixed.write_text("CREATE TABLE items (tag TEXT);")  # the first statement was rolled back
    assert app.test_cli_runner().invoke(args=["sqlspec", "run-sql", str(fixed)]).exit_code == 0


def test_run_sql_with_unknown_key_lists_the_keys(
    sqlite_config: MakeConfig, spec: SQLSpec, tmp_path: Path
) -> None:
    app = two_databases(sqlite_config, spec)
    script = tmp_path / "noop.sql"
    script.write_text("SELECT 1;")

    result = app.test_cli_runner().invoke(args=["sqlspec", "run-sql", str(script), "--key", "nope"])

    assert result.exit_code != 0
    assert "'nope'" in result.output
    assert "'main', 'reports'" in result.output


def test_run_sql_with_missing_file_is_a_usage_error(
    sqlite_config: MakeConfig, spec: SQLSpec
) -> None:
    app = two_databases(sqlite_config, spec)

    result = app.test_cli_runner().invoke(args=["sqlspec", "run-sql", "missing.sql"])

    assert result.exit_code == 2
    assert "missing.sql" in result.output
