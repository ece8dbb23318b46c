"""The demo app (examples/demo) on its embedded default: SQLite users + DuckDB events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from examples.demo.app import create_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"DATA_DIR": str(tmp_path)})
    yield app
    app.extensions["sqlspec_spec"].close_all_pools()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_form_redirect_commits_both_databases(client: FlaskClient) -> None:
    response = client.post("/users", data={"email": "ada@example.com", "name": "Ada"})
    assert response.status_code == 303
    assert client.get("/api/dashboard").json == {"users": 1, "events": 1}
    assert "Ada" in client.get("/").get_data(as_text=True)


def test_api_create_and_fetch_user(client: FlaskClient) -> None:
    created = client.post("/api/users", json={"email": "bob@example.com", "name": "Bob"})
    assert created.status_code == 201
    user = created.json["user"]
    assert client.get(f"/api/users/{user['id']}").json == {"user": user}


def test_duplicate_email_is_409_and_leaves_no_event(client: FlaskClient) -> None:
    client.post("/api/users", json={"email": "cy@example.com", "name": "Cy"})
    duplicate = client.post("/api/users", json={"email": "cy@example.com", "name": "Cy 2"})
    assert duplicate.status_code == 409
    assert client.get("/api/dashboard").json == {"users": 1, "events": 1}


def test_invalid_input_is_400_and_rolls_back(client: FlaskClient) -> None:
    assert client.post("/api/users", json={"email": "x@example.com"}).status_code == 400
    assert client.post("/users", data={"email": "", "name": ""}).status_code == 400
    assert client.get("/api/dashboard").json == {"users": 0, "events": 0}


def test_event_for_unknown_user_is_404(client: FlaskClient) -> None:
    assert client.post("/api/users/99/events", json={"kind": "login"}).status_code == 404
    assert client.get("/api/users/99").status_code == 404
    assert client.get("/api/dashboard").json["events"] == 0


def test_event_for_known_user_is_recorded(client: FlaskClient) -> None:
    user_id = client.post("/api/users", json={"email": "d@example.com", "name": "D"}).json["user"][
        "id"
    ]
    response = client.post(f"/api/users/{user_id}/events", json={"kind": "login"})
    assert response.status_code == 201
    assert client.get("/api/dashboard").json == {"users": 1, "events": 2}


def test_health_reports_pools_with_nothing_borrowed(client: FlaskClient) -> None:
    client.get("/api/dashboard")
    pools = client.get("/health").json["pools"]
    assert set(pools) == {"users_db", "events_db"}
    assert all(stats["in_use"] == 0 for stats in pools.values())


def test_ping_borrows_nothing(app: Flask, client: FlaskClient) -> None:
    before = app.extensions["sqlspec"].pool_stats()
    assert client.get("/ping").data == b"pong"
    assert app.extensions["sqlspec"].pool_stats() == before


def test_data_survives_a_restart(tmp_path: Path) -> None:
    first = create_app({"DATA_DIR": str(tmp_path)})
    first.test_client().post("/api/users", json={"email": "e@example.com", "name": "E"})
    first.extensions["sqlspec_spec"].close_all_pools()
    second = create_app({"DATA_DIR": str(tmp_path)})
    assert second.test_client().get("/api/dashboard").json == {"users": 1, "events": 1}
    second.extensions["sqlspec_spec"].close_all_pools()
