# Sourced by scripts/test.sh and scripts/demo.sh: make .venv and install sqlspec[dev] into it.
if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
if [[ .venv/.installed -nt pyproject.toml ]]; then
    echo "up to date (delete .venv/.installed to force a reinstall)"
else
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e ".[dev]"
    touch .venv/.installed
    echo "installed sqlspec[dev]"
fi
