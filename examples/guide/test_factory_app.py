"""The guide's "Testing" example as a test module for ``factory_app``.

Run it from ``examples/guide``:  python -m pytest test_factory_app.py

Each test gets an app on its own ``:memory:`` database in manual mode (the factory reads the
dict with ``from_mapping``, so these settings are really used).
"""

import pytest
from factory_app import create_app


@pytest.fixture
def app():
    app = create_app({"TESTING": True, "DATABASE_URL": ":memory:", "DB_COMMIT_MODE": "manual"})
    yield app
    app.sqlspec_plugin.sqlspec.close_all_pools()


@pytest.fixture
def client(app):
    return app.test_client()


def test_list_users(client):
    response = client.get("/users")
    assert response.status_code == 200
    assert response.json == {"users": []}


def test_uses_the_test_settings(app):
    state = app.sqlspec_plugin.state("db")
    assert (state.config.pool_config["database"], state.commit_mode) == (":memory:", "manual")


def test_sees_rows_committed_in_the_fixture(app, client):
    with app.app_context():
        db = app.sqlspec_plugin.get_session()
        db.execute("INSERT INTO users (email) VALUES ('ada@example.com')")
        app.sqlspec_plugin.get_connection().commit()
    assert client.get("/users").json == {"users": [{"id": 1, "email": "ada@example.com"}]}
