#!/usr/bin/env bash
# Tests of the Python bindings: a virtual environment under $HOME/.cache/moorage/venv (reused),
# `pip install ./bindings-python` (what users run), the stubs checked against the compiled module
# (mypy stubtest), pytest, and the onboarding example.
#
#   bindings-python/test.sh
#
# The real control plane tests run when MOORAGE_TEST_KUBECONFIG is set (skipped otherwise, failed
# when CI or MOORAGE_REQUIRE_CLUSTER=1 is set).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
VENV="${MOORAGE_VENV:-$HOME/.cache/moorage/venv}"
PYTHON="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }

step "python: virtual environment $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade maturin pytest mypy

step "python: pip install ./bindings-python"
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps ./bindings-python

step "python: stubs match the compiled module (mypy stubtest)"
(cd /tmp && "$VENV/bin/python" -m mypy.stubtest moorage)

step "python: pytest"
"$VENV/bin/python" -m pytest -q bindings-python/tests

step "python: examples/python/onboard.py"
"$VENV/bin/python" examples/python/onboard.py
