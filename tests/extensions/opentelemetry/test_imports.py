"""The OpenTelemetry extension stays optional: the core never imports it, and it never imports
Flask."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; {statement}; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def test_the_core_and_the_adapters_do_not_import_opentelemetry() -> None:
    loaded = _modules_after(
        "import sqlspec, sqlspec.observe, sqlspec.portal_session, sqlspec.adapters.sqlite, "
        "sqlspec.adapters.psycopg, sqlspec.adapters.asyncpg, sqlspec.adapters.duckdb, "
        "sqlspec.extensions.flask"
    )
    assert not {name for name in loaded if name.startswith("opentelemetry")}


def test_the_instrumentor_does_not_import_flask() -> None:
    loaded = _modules_after("import sqlspec.extensions.opentelemetry")
    assert "flask" not in loaded
    assert "opentelemetry.trace" in loaded
