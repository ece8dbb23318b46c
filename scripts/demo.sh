#!/usr/bin/env bash
# Run the demo:   bash scripts/demo.sh
# Sets up .venv on first use, then runs the example against embedded databases (no server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
printf '==> Python environment (.venv)\n'
source scripts/_venv.sh
printf '==> demo\n'
exec .venv/bin/python examples/quickstart.py "$@"
