#!/usr/bin/env bash
# Run the demo app:   bash scripts/demo.sh   (then open http://127.0.0.1:5000)
# Sets up .venv on first use. Users are stored in SQLite and events in DuckDB, both under
# ./data (set DEMO_DATA_DIR to change it; USERS_POSTGRES_DSN moves users to PostgreSQL).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
printf '==> Python environment (.venv)\n'
source scripts/_venv.sh
printf '==> demo on http://127.0.0.1:%s\n' "${PORT:-5000}"
exec .venv/bin/flask --app examples.demo.app run --port "${PORT:-5000}" "$@"
