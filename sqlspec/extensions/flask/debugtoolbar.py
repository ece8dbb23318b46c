"""A Flask-DebugToolbar panel listing the request's statements (the ``debugtoolbar`` extra).

Enable it with ``app.config["DEBUG_TB_PANELS"] = [...,
"sqlspec.extensions.flask.debugtoolbar.SQLSpecPanel"]``. It shows what
``plugin.get_recorded_queries()`` returns for the request: each statement with its duration,
database (session key) and caller, and the total. Recording must be on for the databases to
show (it is by default when ``app.debug`` is set).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_debugtoolbar.panels import DebugPanel
from markupsafe import Markup
from werkzeug import Request, Response

from sqlspec.extensions.flask._observe import RecordedQuery

__all__ = ("SQLSpecPanel",)


class SQLSpecPanel(DebugPanel):
    """The SQL statements of the request, slowest highlighted by their duration column."""

    name = "SQLSpec"
    has_content = True

    def __init__(self, jinja_env: Any, context: dict[str, Any] | None = None) -> None:
        super().__init__(jinja_env, context)
        self._queries: list[RecordedQuery] = []

    def process_response(self, request: Request, response: Response) -> None:
        plugin = current_app.extensions.get("sqlspec")
        self._queries = plugin.get_recorded_queries() if plugin is not None else []

    def _total_ms(self) -> float:
        return sum(query.duration for query in self._queries) * 1000

    def nav_title(self) -> str:
        return "SQLSpec"

    def nav_subtitle(self) -> str:
        count = len(self._queries)
        return f"{count} {'query' if count == 1 else 'queries'} in {self._total_ms():.2f} ms"

    def title(self) -> str:
        return "SQL statements"

    def url(self) -> str:
        return ""

    def content(self) -> str:
        if not self._queries:
            return str(
                Markup("<p>No statements were recorded in this request (is recording on? ")
                + Markup('see the <code>"record_queries"</code> Flask key).</p>')
            )
        rows = Markup("").join(
            Markup(
                "<tr><td>{n}</td><td>{ms:.3f}</td><td>{db}</td><td><code>{sql}</code>{error}"
                "</td><td>{rows}</td><td>{where}</td></tr>"
            ).format(
                n=number,
                ms=query.duration * 1000,
                db=query.session_key,
                sql=query.statement,
                error=Markup("<br><strong>{}</strong>").format(type(query.error).__name__)
                if query.error is not None
                else "",
                rows=query.rows_affected if query.rows_affected >= 0 else "",
                where=query.location or "",
            )
            for number, query in enumerate(self._queries, 1)
        )
        table = Markup(
            "<table><thead><tr><th>#</th><th>ms</th><th>Database</th><th>Statement</th>"
            "<th>Rows</th><th>Caller</th></tr></thead><tbody>{rows}</tbody></table>"
            "<p>Total: {count} statement(s) in {total:.3f} ms</p>"
        ).format(rows=rows, count=len(self._queries), total=self._total_ms())
        return str(table)
