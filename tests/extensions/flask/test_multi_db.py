"""Several databases on one app: one session per key, each committed or rolled back by its own
commit mode."""

from __future__ import annotations

import pytest
from flask import redirect
from werkzeug.wrappers import Response

from sqlspec import SQLSpec
from sqlspec.exceptions import ImproperConfigurationError
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import ITEMS_DDL, in_use, new_app, run_sql, tags


def test_sessions_by_key(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    primary = sqlite_config("primary", session_key="primary")
    audit = sqlite_config("audit", session_key="audit")
    app, plugin = new_app(spec)

    with app.app_context():
        assert plugin.get_session(key="primary").config is primary
        assert plugin.get_session("audit").config is audit
        assert plugin.get_session() is plugin.get_session("primary")  # no key: the first
        assert plugin.get_connection("audit") is plugin.get_session("audit").connection
        assert (in_use(primary), in_use(audit)) == (1, 1)
    assert (in_use(primary), in_use(audit)) == (0, 0)
    assert plugin.session_keys() == ("primary", "audit")


def test_only_the_databases_used_are_borrowed(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    primary = sqlite_config("primary", session_key="primary")
    audit = sqlite_config("audit", session_key="audit")
    app, plugin = new_app(spec)

    with app.app_context():
        plugin.get_session("audit").select_value("SELECT 1")

    assert (primary.pool_stats().size, audit.pool_stats().size) == (0, 1)


def test_unknown_key_lists_known_keys(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    sqlite_config("primary", session_key="primary")
    sqlite_config("audit", session_key="audit")
    app, plugin = new_app(spec)

    with (
        app.app_context(),
        pytest.raises(ImproperConfigurationError, match=r"'nope'.*'primary', 'audit'"),
    ):
        plugin.get_session("nope")


def test_autocommit_and_manual_databases_in_one_request(
    sqlite_config: MakeConfig, spec: SQLSpec
) -> None:
    auto = sqlite_config("auto", session_key="auto", commit_mode="autocommit")
    manual = sqlite_config("manual", session_key="manual", commit_mode="manual")
    for config in (auto, manual):
        run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/both")
    def both() -> tuple[str, int]:
        plugin.get_session("auto").execute("INSERT INTO items (tag) VALUES ('auto')")
        plugin.get_session("manual").execute("INSERT INTO items (tag) VALUES ('manual')")
        return "", 201

    assert app.test_client().post("/both").status_code == 201
    assert (tags(auto), tags(manual)) == (["auto"], [])
    assert (in_use(auto), in_use(manual)) == (0, 0)


def test_redirect_commits_only_the_database_that_includes_redirects(
    sqlite_config: MakeConfig, spec: SQLSpec
) -> None:
    strict = sqlite_config("strict", session_key="strict", commit_mode="autocommit")
    lenient = sqlite_config(
        "lenient", session_key="lenient", commit_mode="autocommit_include_redirect"
    )
    for config in (strict, lenient):
        run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/form")
    def form() -> Response:
        plugin.get_session("strict").execute("INSERT INTO items (tag) VALUES ('strict')")
        plugin.get_session("lenient").execute("INSERT INTO items (tag) VALUES ('lenient')")
        return redirect("/done")

    assert app.test_client().post("/form").status_code == 302
    assert (tags(strict), tags(lenient)) == ([], ["lenient"])


def test_extra_statuses_apply_per_database(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    accepts = sqlite_config(
        "accepts", session_key="accepts", commit_mode="autocommit", extra_commit_statuses={409}
    )
    plain = sqlite_config("plain", session_key="plain", commit_mode="autocommit")
    for config in (accepts, plain):
        run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/conflict")
    def conflict() -> tuple[str, int]:
        for key in ("accepts", "plain"):
            plugin.get_session(key).execute("INSERT INTO items (tag) VALUES (?)", (key,))
        return "", 409

    assert app.test_client().post("/conflict").status_code == 409
    assert (tags(accepts), tags(plain)) == (["accepts"], [])
