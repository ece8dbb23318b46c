"""Testing a Flask app with ``plugin.isolated()`` (the example documented for users).

Each test runs inside ``plugin.isolated()``: the app commits exactly as in production (so a row
created by one request is seen by the next), and everything the test wrote is rolled back when
it ends. The schema is created once, before any test. Works with SQLite files and PostgreSQL.
"""

import pytest
from flask import Flask, request

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin


def create_app(database: str) -> Flask:
    sqlspec = SQLSpec()
    sqlspec.add_config(
        SqliteConfig(
            pool_config={"database": database},
            extension_config={"flask": {"commit_mode": "autocommit"}},
        )
    )
    app = Flask(__name__)
    plugin = SQLSpecPlugin(sqlspec, app)

    @app.post("/users")
    def create_user():
        db = plugin.get_session()
        db.execute("INSERT INTO users (email) VALUES (?)", (request.json["email"],))
        return {"created": True}, 201

    @app.get("/users")
    def list_users():
        db = plugin.get_session()
        return {"users": db.select("SELECT email FROM users ORDER BY email")}

    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app(str(tmp_path_factory.mktemp("db") / "app.db"))
    with app.app_context():
        db = app.extensions["sqlspec"].get_session()
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE)")
        db.commit()
    yield app
    app.extensions["sqlspec"].sqlspec.close_all_pools()


@pytest.fixture
def client(app):
    with app.extensions["sqlspec"].isolated():
        yield app.test_client()


def test_create_user(client):
    assert client.post("/users", json={"email": "ada@example.com"}).status_code == 201
    assert client.get("/users").json == {"users": [{"email": "ada@example.com"}]}


def test_each_test_starts_from_an_empty_table(client):
    assert client.get("/users").json == {"users": []}


def test_the_same_email_can_be_created_again(client):
    assert client.post("/users", json={"email": "ada@example.com"}).status_code == 201
