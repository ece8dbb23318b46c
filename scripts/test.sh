#!/usr/bin/env bash
# Run the whole sqlspec test suite:   bash scripts/test.sh [pytest args]
#
# Works on a fresh Debian 12 machine (as root, with network access to Debian's apt and
# PyPI): installs what is missing, then lints, type-checks and runs pytest. Safe to run
# again; later runs skip the set-up steps that are already done.
#
#   1. system packages: PostgreSQL 15, PgBouncer and MariaDB server binaries (apt, root only).
#      Their system services are not needed: the tests start their own throwaway servers.
#      Chromium and its chromedriver, for the demo's browser test (headless, driven by Selenium).
#   2. Python: .venv with the package installed editable with every driver extra, and the
#      "dev" dependency group (pytest, ruff, mypy, ...).
#   3. ruff check, ruff format --check, mypy, pytest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==> %s\n' "$*"; }

export DEBIAN_FRONTEND=noninteractive
PG_BIN="${SQLSPEC_PG_BIN:-/usr/lib/postgresql/15/bin}"

# ----------------------------------------------------------------------------- system
section "System packages"

missing=()
if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3)
fi
if [[ ! -x .venv/bin/python ]] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
if [[ -z "${SQLSPEC_PG_DSN:-}" && ! -x "$PG_BIN/initdb" ]]; then
    missing+=(postgresql-15)
fi
if [[ -z "${SQLSPEC_PGBOUNCER:-}" ]] && ! command -v pgbouncer >/dev/null 2>&1 \
    && [[ ! -x /usr/sbin/pgbouncer ]]; then
    missing+=(pgbouncer)
fi
have_mariadbd() {
    command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 \
        || [[ -x /usr/sbin/mariadbd || -x /usr/sbin/mysqld ]]
}
if ! have_mariadbd; then
    missing+=(mariadb-server)
fi
if [[ ! -x /usr/bin/chromium ]]; then
    missing+=(chromium)
fi
if [[ ! -x /usr/bin/chromedriver ]]; then
    missing+=(chromium-driver)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "all present"
elif [[ "$(id -u)" -ne 0 ]]; then
    echo "missing system packages: ${missing[*]}"
    echo "install them with:  sudo apt-get install -y ${missing[*]}"
    echo "(continuing: tests that need a missing database server are skipped, or fail when CI is set)"
else
    echo "installing: ${missing[*]}"
    # Keep the packages' maintainer scripts from starting the system services, which the
    # tests do not use (policy-rc.d exit status 101 = "action forbidden").
    own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    status=0
    apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || status=$?
    if [[ $own_policy -eq 1 ]]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
    if [[ $status -ne 0 ]]; then
        echo "apt-get failed (exit status $status)" >&2
        exit "$status"
    fi
    # Should a service have been started anyway, stop and disable it to free resources.
    for service in postgresql pgbouncer mariadb; do
        if [[ " ${missing[*]} " == *" ${service}"* ]]; then
            service "$service" stop >/dev/null 2>&1 || true
            if [[ -d /run/systemd/system ]]; then
                systemctl disable --now "$service" >/dev/null 2>&1 || true
            else
                update-rc.d "$service" disable >/dev/null 2>&1 || true
            fi
        fi
    done
fi

# ----------------------------------------------------------------------------- python
section "Python environment (.venv)"

source scripts/_venv.sh
venv_install dev -e ".[aiosqlite,duckdb,psycopg,asyncpg,asyncmy,flask,msgspec,pydantic,attrs,opentelemetry,debugtoolbar]" \
    --group dev

# ----------------------------------------------------------------------------- checks
section "ruff check"
.venv/bin/ruff check sqlspec tests examples benchmarks

section "ruff format --check"
.venv/bin/ruff format --check sqlspec tests examples benchmarks

section "mypy"
.venv/bin/mypy

section "pytest"
exec .venv/bin/pytest "$@"
