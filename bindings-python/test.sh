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
"$VENV/bin/python" -m pip install -q --upgrade maturin pytest mypy hypothesis

step "python: pip install ./bindings-python"
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps ./bindings-python

step "python: stubs match the compiled module (mypy stubtest)"
(cd /tmp && "$VENV/bin/python" -m mypy.stubtest moorage)

step "python: pytest"
REPORT="$(mktemp)"
status=0
"$VENV/bin/python" -m pytest -q bindings-python/tests --junitxml="$REPORT" || status=$?
# One line in cargo's format, so that the root test.sh adds the Python tests to its summary.
"$VENV/bin/python" - "$REPORT" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
total, failed, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
bad = failed + errors
print(f"test result: {'ok' if bad == 0 else 'FAILED'}. {total - bad - skipped} passed; {bad} failed; {skipped} ignored; 0 measured; 0 filtered out (python)")
PY
rm -f "$REPORT"
[ "$status" -eq 0 ] || exit "$status"

step "python: examples/python/onboard.py"
"$VENV/bin/python" examples/python/onboard.py
