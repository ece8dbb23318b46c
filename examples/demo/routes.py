"""The demo's views: HTML pages (Jinja templates) and a JSON API over the same two databases.

HTML actions answer ``303 See Other`` with a flash message on success (users commit in
``autocommit_include_redirect`` mode, events on their extra commit status 303) and re-render the
page with ``422`` (invalid field) or ``409`` (duplicate) otherwise, which rolls both databases
back. Under ``/api/`` every answer is JSON, errors included: ``{"error": message}`` plus
``"fields": {name: message}`` when specific fields are at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from examples.demo.validation import EMAIL_MAX, NAME_MAX, clean_email, clean_kind, clean_name
from sqlspec.exceptions import NotFoundError, UniqueViolationError
from sqlspec.extensions.flask import SQLSpecPlugin


class ApiError(Exception):
    """A JSON API error answered as ``{"error": message, "fields": {...}}`` with ``status``."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields or {}


def json_object(*string_fields: str) -> dict[str, Any]:
    """The request's JSON object; 400 when the body is not a JSON object or one of
    ``string_fields`` is present but not a string."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object sent as application/json")
    wrong = {name: "must be a string" for name in string_fields if name in data}
    wrong = {name: msg for name, msg in wrong.items() if not isinstance(data[name], str)}
    if wrong:
        raise ApiError(400, f"wrong field type: {', '.join(wrong)} must be a string", wrong)
    return data


def invalid(errors: dict[str, str | None]) -> dict[str, str]:
    return {name: message for name, message in errors.items() if message}


def register_routes(app: Flask, plugin: SQLSpecPlugin, sql: Callable[[str], str]) -> None:
    """Add the views; ``sql(name)`` is a statement of the demo's ``queries/`` files."""

    def users_db() -> Any:
        return plugin.get_session("users_db")

    def events_db() -> Any:
        return plugin.get_session("events_db")

    def api_request() -> bool:
        return request.path.startswith("/api/")

    # ------------------------------------------------------------------------ errors

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[dict[str, Any], int]:
        body: dict[str, Any] = {"error": error.message}
        if error.fields:
            body["fields"] = error.fields
        return body, error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code is None:  # not an error (routing redirects never get here, but be safe)
            return error
        message = error.description or error.name
        if error.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            message = f"the request body is larger than the {limit} bytes this app accepts"
        if api_request():
            return {"error": message}, error.code
        return render_template("error.html", code=error.code, title=error.name, message=message), (
            error.code
        )

    @app.errorhandler(NotFoundError)
    def missing(error: NotFoundError) -> Any:
        if api_request():
            return {"error": "not found"}, 404
        return render_template("error.html", code=404, title="Not Found", message=str(error)), 404

    @app.errorhandler(UniqueViolationError)
    def duplicate(error: UniqueViolationError) -> tuple[dict[str, str], int]:
        # A backstop: the views catch the duplicates they expect and say which field.
        return {"error": "already exists"}, 409

    # ------------------------------------------------------------------------ HTML

    def render_dashboard(
        form: dict[str, str] | None = None, errors: dict[str, str] | None = None
    ) -> str:
        users = users_db().select(sql("recent_users"))
        counts: dict[int, int] = {}
        if users:
            rows = events_db().select(
                sql("events_per_user"), min_user_id=min(user["id"] for user in users)
            )
            counts = {row["user_id"]: row["n"] for row in rows}
        kinds = events_db().select(sql("events_by_kind"))
        return render_template(
            "dashboard.html",
            users=users,
            event_counts=counts,
            kinds=kinds,
            user_total=users_db().select_value(sql("count_users")),
            event_total=events_db().select_value(sql("count_events")),
            form=form or {"email": "", "name": ""},
            errors=errors or {},
            created=request.args.get("created", type=int),
            email_max=EMAIL_MAX,
            name_max=NAME_MAX,
        )

    @app.get("/")
    def dashboard() -> str:
        return render_dashboard()

    @app.post("/users")
    def create_user_form() -> Any:
        form = {"email": request.form.get("email", ""), "name": request.form.get("name", "")}
        email, email_error = clean_email(form["email"])
        name, name_error = clean_name(form["name"])
        errors = invalid({"email": email_error, "name": name_error})
        if errors:
            return render_dashboard(form, errors), 422
        try:
            user = users_db().select_one(sql("create_user"), email=email, name=name)
        except UniqueViolationError:
            users_db().rollback()  # PostgreSQL refuses further statements in a failed transaction
            return render_dashboard(form, {"email": f"{email} is already registered."}), 409
        user_id = user["id"]
        events_db().execute(sql("record_event"), user_id=user_id, kind="signup")
        flash(f"Added {name} <{email}> as user #{user_id}.", "success")
        # 303: users commit (redirect mode), events commit (extra status)
        return redirect(url_for("dashboard", created=user_id), code=303)

    @app.post("/users/<int:user_id>/events")
    def record_event_form(user_id: int) -> Any:
        kind, kind_error = clean_kind(request.form.get("kind", ""))
        if kind_error:
            flash(kind_error, "error")
            return render_dashboard(), 422
        user = users_db().select_one(sql("get_user"), id=user_id)
        events_db().execute(sql("record_event"), user_id=user_id, kind=kind)
        flash(f"Recorded a {kind} event for {user['name']}.", "success")
        return redirect(url_for("dashboard"), code=303)

    # ------------------------------------------------------------------------ JSON API

    @app.get("/api/users")
    def list_users() -> dict[str, Any]:
        return {"users": users_db().select(sql("list_users"))}

    @app.post("/api/users")
    def create_user() -> tuple[dict[str, Any], int]:
        data = json_object("email", "name")
        email, email_error = clean_email(data.get("email", ""))
        name, name_error = clean_name(data.get("name", ""))
        errors = invalid({"email": email_error, "name": name_error})
        if errors:
            raise ApiError(422, "invalid input", errors)
        try:
            user = users_db().select_one(sql("create_user"), email=email, name=name)
        except UniqueViolationError:
            raise ApiError(
                409, f"a user with email {email} already exists", {"email": "already registered"}
            ) from None
        events_db().execute(sql("record_event"), user_id=user["id"], kind="signup")
        return {"user": user}, 201

    @app.get("/api/users/<int:user_id>")
    def get_user(user_id: int) -> dict[str, Any]:
        user = users_db().select_one_or_none(sql("get_user"), id=user_id)
        if user is None:
            raise ApiError(404, f"no user with id {user_id}")
        return {"user": user}

    @app.post("/api/users/<int:user_id>/events")
    def record_event(user_id: int) -> tuple[dict[str, Any], int]:
        kind, kind_error = clean_kind(json_object("kind").get("kind", ""))
        if kind_error:
            raise ApiError(422, "invalid input", {"kind": kind_error})
        if users_db().select_one_or_none(sql("get_user"), id=user_id) is None:
            raise ApiError(404, f"no user with id {user_id}")
        event_id = events_db().select_value(sql("record_event"), user_id=user_id, kind=kind)
        return {"event": {"id": event_id, "user_id": user_id, "kind": kind}}, 201

    @app.get("/api/dashboard")
    def dashboard_api() -> dict[str, Any]:
        return {
            "users": users_db().select_value(sql("count_users")),
            "events": events_db().select_value(sql("count_events")),
        }

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "pools": plugin.pool_stats()}

    @app.get("/ping")
    def ping() -> str:
        return "pong"
