"""The demo app (examples/demo) on its embedded default: SQLite users + DuckDB events.

Through Flask's test client: the HTML form (validation shown next to the field, flash messages,
duplicates as a message on the page, size limits) and the JSON API (every error JSON, with its
status). ``tests/examples/test_demo_browser.py`` drives the same pages in a real browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from examples.demo.app import create_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"DATA_DIR": str(tmp_path)})
    yield app
    app.extensions["sqlspec_spec"].close_all_pools()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def dashboard_totals(client: FlaskClient) -> dict[str, int]:
    return client.get("/api/dashboard").json


def page(response: TestResponse) -> str:
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def field_error(html: str, field: str) -> str | None:
    """The error message shown under the form field ``field``, or ``None``."""
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- HTML form


def test_form_redirect_commits_both_databases(client: FlaskClient) -> None:
    response = client.post("/users", data={"email": "ada@example.com", "name": "Ada"})
    assert response.status_code == 303
    assert dashboard_totals(client) == {"users": 1, "events": 1}
    assert "Ada" in client.get("/").get_data(as_text=True)


def test_form_success_shows_a_confirmation_and_the_row(client: FlaskClient) -> None:
    response = client.post(
        "/users", data={"email": " ada@Example.COM ", "name": " Ada "}, follow_redirects=True
    )

    html = page(response)
    assert response.status_code == 200
    assert '<li class="flash success">Added Ada &lt;ada@example.com&gt; as user #1.</li>' in html
    assert re.search(r'<tr id="user-1" class="new">\s*<td>1</td>\s*<td>Ada</td>', html)
    assert "Added Ada" not in page(client.get("/"))  # a flash is shown once


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "", "name": "Ada"}, "email", "Enter an email address."),
        ({"email": "   ", "name": "Ada"}, "email", "Enter an email address."),
        ({"email": "ada.example.com", "name": "Ada"}, "email", "like ada@example.com"),
        ({"email": "ada@example", "name": "Ada"}, "email", "like ada@example.com"),
        ({"email": "a b@example.com", "name": "Ada"}, "email", "like ada@example.com"),
        ({"email": "a" * 243 + "@example.com", "name": "Ada"}, "email", "at most 254 characters"),
        ({"email": "ada@example.com", "name": ""}, "name", "Enter a name."),
        ({"email": "ada@example.com", "name": "x" * 101}, "name", "at most 100 characters"),
        ({"email": "ada@example.com", "name": "a\x07b"}, "name", "control characters"),
        ({"email": "ada@example.com"}, "name", "Enter a name."),
    ],
)
def test_form_validation_error_is_shown_next_to_the_field(
    client: FlaskClient, form: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/users", data=form)

    html = page(response)
    assert response.status_code == 422
    shown = field_error(html, field)
    assert shown is not None, html
    assert message in shown
    other = "name" if field == "email" else "email"
    assert field_error(html, other) is None
    assert f'value="{escape(form.get(other, ""))}"' in html  # what was typed is kept
    assert dashboard_totals(client) == {"users": 0, "events": 0}


def test_form_accepts_the_longest_allowed_values(client: FlaskClient) -> None:
    email = "a" * 242 + "@example.com"  # 254 characters
    response = client.post("/users", data={"email": email, "name": "n" * 100})
    assert response.status_code == 303
    assert client.get("/api/users").json["users"][0]["email"] == email


def test_form_shows_both_errors_at_once(client: FlaskClient) -> None:
    html = page(client.post("/users", data={"email": "nope", "name": ""}))
    assert field_error(html, "email") == "Enter an email address like ada@example.com."
    assert field_error(html, "name") == "Enter a name."


def test_form_duplicate_is_a_message_on_the_page(client: FlaskClient) -> None:
    client.post("/users", data={"email": "cy@example.com", "name": "Cy"})

    response = client.post("/users", data={"email": "cy@example.com", "name": "Cy again"})

    html = page(response)
    assert response.status_code == 409
    assert field_error(html, "email") == "cy@example.com is already registered."
    assert 'value="Cy again"' in html
    assert dashboard_totals(client) == {"users": 1, "events": 1}  # no second signup event


def test_form_body_over_the_size_limit_is_refused(client: FlaskClient) -> None:
    response = client.post("/users", data={"email": "x" * 2_000_000 + "@example.com", "name": "X"})

    assert response.status_code == 413
    assert "larger than the 16384 bytes" in page(response)
    assert dashboard_totals(client) == {"users": 0, "events": 0}


def test_record_event_form_flashes_and_commits(client: FlaskClient) -> None:
    client.post("/users", data={"email": "ev@example.com", "name": "Ev"})

    response = client.post("/users/1/events", data={"kind": "login"}, follow_redirects=True)

    assert "Recorded a login event for Ev." in page(response)
    assert dashboard_totals(client) == {"users": 1, "events": 2}


def test_record_event_form_errors_are_pages(client: FlaskClient) -> None:
    missing = client.post("/users/99/events", data={"kind": "login"})
    assert missing.status_code == 404
    assert "404 Not Found" in page(missing)
    client.post("/users", data={"email": "ev@example.com", "name": "Ev"})
    bad = client.post("/users/1/events", data={"kind": "DROP TABLE"})
    assert bad.status_code == 422
    assert '<li class="flash error">' in page(bad)
    assert dashboard_totals(client) == {"users": 1, "events": 1}


def test_dashboard_escapes_user_input(client: FlaskClient) -> None:
    client.post("/users", data={"email": "x@example.com", "name": "<script>alert(1)</script>"})
    html = page(client.get("/"))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_dashboard_links_to_the_api_health_and_stylesheet(client: FlaskClient) -> None:
    html = page(client.get("/"))
    for href in ("/api/users", "/api/dashboard", "/health", "/static/style.css"):
        assert f'href="{href}"' in html
    assert client.get("/static/style.css").status_code == 200


def test_unknown_page_is_an_html_404(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "404 Not Found" in page(response)


# --------------------------------------------------------------------------- JSON API


def test_api_create_and_fetch_user(client: FlaskClient) -> None:
    created = client.post("/api/users", json={"email": "bob@example.com", "name": "Bob"})
    assert created.status_code == 201
    user = created.json["user"]
    assert client.get(f"/api/users/{user['id']}").json == {"user": user}


def test_duplicate_email_is_409_and_leaves_no_event(client: FlaskClient) -> None:
    client.post("/api/users", json={"email": "cy@example.com", "name": "Cy"})
    duplicate = client.post("/api/users", json={"email": "cy@example.com", "name": "Cy 2"})
    assert duplicate.status_code == 409
    assert duplicate.json == {
        "error": "a user with email cy@example.com already exists",
        "fields": {"email": "already registered"},
    }
    assert dashboard_totals(client) == {"users": 1, "events": 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "{not json", "content_type": "application/json"}, "must be a JSON object"),
        ({"json": ["ada@example.com", "Ada"]}, "must be a JSON object"),
        ({"json": "ada@example.com"}, "must be a JSON object"),
        ({"data": {"email": "ada@example.com", "name": "Ada"}}, "must be a JSON object"),  # form
        ({}, "must be a JSON object"),
        ({"json": {"email": 5, "name": "Ada"}}, "email must be a string"),
        ({"json": {"email": "ada@example.com", "name": ["Ada"]}}, "name must be a string"),
        ({"json": {"email": None, "name": None}}, "email, name must be a string"),
    ],
)
def test_api_malformed_body_or_wrong_type_is_400_json(
    client: FlaskClient, kwargs: dict[str, Any], message: str
) -> None:
    response = client.post("/api/users", **kwargs)

    assert (response.status_code, response.mimetype) == (400, "application/json")
    assert message in response.json["error"]
    assert dashboard_totals(client) == {"users": 0, "events": 0}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "x@example.com"}, {"name"}),
        ({"name": "X"}, {"email"}),
        ({}, {"email", "name"}),
        ({"email": "not-an-email", "name": "X"}, {"email"}),
        ({"email": "a" * 300 + "@example.com", "name": "X"}, {"email"}),
        ({"email": "x@example.com", "name": "n" * 101}, {"name"}),
    ],
)
def test_api_invalid_field_is_422_json_naming_the_field(
    client: FlaskClient, body: dict[str, str], fields: set[str]
) -> None:
    response = client.post("/api/users", json=body)

    assert (response.status_code, response.mimetype) == (422, "application/json")
    assert response.json["error"] == "invalid input"
    assert set(response.json["fields"]) == fields
    assert dashboard_totals(client) == {"users": 0, "events": 0}


def test_api_body_over_the_size_limit_is_413_json(client: FlaskClient) -> None:
    response = client.post("/api/users", json={"email": "x" * 20_000 + "@example.com", "name": "X"})
    assert (response.status_code, response.mimetype) == (413, "application/json")
    assert "larger than the 16384 bytes" in response.json["error"]


def test_api_unknown_user_is_404_json(client: FlaskClient) -> None:
    response = client.get("/api/users/999")
    assert (response.status_code, response.json) == (404, {"error": "no user with id 999"})


def test_event_for_unknown_user_is_404(client: FlaskClient) -> None:
    response = client.post("/api/users/99/events", json={"kind": "login"})
    assert (response.status_code, response.json) == (404, {"error": "no user with id 99"})
    assert dashboard_totals(client)["events"] == 0


def test_api_event_errors_are_json(client: FlaskClient) -> None:
    client.post("/api/users", json={"email": "d@example.com", "name": "D"})
    assert client.post("/api/users/1/events", json={"kind": 3}).status_code == 400
    invalid = client.post("/api/users/1/events", json={"kind": "Log In!"})
    assert (invalid.status_code, set(invalid.json["fields"])) == (422, {"kind"})
    assert client.post("/api/users/1/events", json={}).status_code == 422
    assert dashboard_totals(client)["events"] == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/nowhere", 404), ("DELETE", "/api/users", 405), ("GET", "/api/users/x", 404)],
)
def test_api_http_errors_are_json(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method)
    assert (response.status_code, response.mimetype) == (status, "application/json")
    assert response.json["error"]


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
