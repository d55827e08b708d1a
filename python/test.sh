#!/usr/bin/env bash
# The Python package's tests (after `cargo test --release`, whose binary they compare
# with): a fresh venv, the package installed the README's way, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${RULELAB_VENV:-target/python-venv}
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "./python[test]"
# Mesa's window-system probe warns without a runtime dir; the value does not matter.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
"$venv/bin/python" -m pytest -q python/tests
