"""WSGI entry point of the demo app for the load tests: ``tests.load.demo_wsgi:app``.

``create_app`` reads its settings (``DEMO_DATA_DIR``, ``USERS_POSTGRES_DSN``,
``USERS_DATABASE``, ``EVENTS_DATABASE``) from the environment. Under multi-worker gunicorn
``EVENTS_DATABASE`` must be ``:memory:`` (a DuckDB file can be opened by one process only): each
worker then has its own events database, whose schema the demo creates in every process.

Every response carries ``X-Worker-Pid`` so a test can tell which worker answered.
"""

from __future__ import annotations

import os

from flask import Response

from examples.demo.app import create_app

app = create_app()


@app.after_request
def _worker_pid(response: Response) -> Response:
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response
