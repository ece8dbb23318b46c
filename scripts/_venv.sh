# Sourced by scripts/test.sh and scripts/demo.sh: venv_install NAME PIP-ARGS... makes .venv (once)
# and runs `pip install PIP-ARGS` in it, unless .venv/.installed-NAME is newer than
# pyproject.toml (delete that file to force a reinstall). Every step says what it does, and pip
# shows its own progress, because a first run downloads packages for a while.
#
#   venv_install dev  -e ".[duckdb,...]" --group dev    # scripts/test.sh: everything
#   venv_install demo -e ".[duckdb,flask]"              # scripts/demo.sh: what the demo needs
venv_installed() {
    [[ -x .venv/bin/python && .venv/.installed-$1 -nt pyproject.toml ]]
}

venv_install() {
    local name="$1"
    shift
    if venv_installed "$name"; then
        echo "up to date ($name; delete .venv/.installed-$name to force a reinstall)"
        return 0
    fi
    if [[ ! -x .venv/bin/python ]]; then
        echo "creating .venv with $(python3 --version 2>&1)"
        python3 -m venv .venv
    fi
    # Dependency groups (pip install --group) need pip >= 25.1; a new venv's pip is older.
    echo "upgrading pip in .venv"
    .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -q --upgrade pip
    echo "installing into .venv: pip install $*"
    .venv/bin/python -m pip install --disable-pip-version-check "$@"
    touch ".venv/.installed-$name"
    echo "installed ($name)"
}
