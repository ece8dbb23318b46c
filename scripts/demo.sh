#!/usr/bin/env bash
# Run the demo app:   bash scripts/demo.sh   (then open http://127.0.0.1:5000)
# Sets up .venv on first use with only what the demo needs (sqlspec with its duckdb and flask
# extras, plus psycopg when USERS_POSTGRES_DSN is set; scripts/test.sh adds the rest). Users
# are stored in SQLite and events in DuckDB, both under ./data (set DEMO_DATA_DIR to change it;
# USERS_POSTGRES_DSN moves users to PostgreSQL).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
printf '==> Python environment (.venv)\n'
source scripts/_venv.sh
extras="duckdb,flask"
if [[ -n "${USERS_POSTGRES_DSN:-}" ]]; then
    extras="$extras,psycopg"
fi
if venv_installed dev; then
    echo "up to date (the test command's full install)"
else
    venv_install "demo-${extras//,/-}" -e ".[$extras]"
fi
printf '==> demo on http://127.0.0.1:%s\n' "${PORT:-5000}"
exec .venv/bin/flask --app examples.demo.app run --port "${PORT:-5000}" "$@"
