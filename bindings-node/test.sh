#!/usr/bin/env bash
# Tests of the Node bindings: `npm ci` in bindings-node (what users run as `npm install`: its
# install script builds the native module with `napi build --platform --release`, into
# $CARGO_TARGET_DIR), the generated index.d.ts/index.js checked against the committed ones, the
# spec types (spec-types.d.ts) checked against the core's JSON Schemas, the TypeScript check
# (types-check.ts, types-check-specs.ts under `tsc --strict`), `node --test`, and the examples/node
# tools.
#
#   bindings-node/test.sh
#
# The real control plane tests run when MOORAGE_TEST_KUBECONFIG is set (skipped otherwise, failed
# when CI or MOORAGE_REQUIRE_CLUSTER=1 is set).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
# Two cores, shared: cargo under napi build uses at most two jobs.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

step() { printf '\n==> %s\n' "$*"; }

step "node: npm ci in bindings-node (builds the native module, release profile)"
(cd bindings-node && npm ci --no-audit --no-fund)

step "node: the generated declarations and loader match the committed ones"
git diff --exit-code -- bindings-node/index.d.ts bindings-node/index.js

step "node: spec-types.d.ts is what scripts/spec-types.mjs generates from docs/schema/"
node bindings-node/scripts/spec-types.mjs --check

step "node: types-check.ts and types-check-specs.ts compile with tsc --strict"
(cd bindings-node && npx tsc -p tsconfig.json)

step "node: node --test${MOORAGE_TEST_KUBECONFIG:+ (with the real control plane)}"
REPORT="$(mktemp)"
status=0
(cd bindings-node && node --test --test-reporter=tap --test-reporter-destination=stdout tests/) | tee "$REPORT" || status=$?
# One line in cargo's format, so that the root test.sh adds the Node tests to its summary.
count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$REPORT" | tail -n 1; }
passed="$(count pass)" failed="$(count fail)" skipped="$(count skipped)" cancelled="$(count cancelled)"
passed="${passed:-0}" failed=$(( ${failed:-0} + ${cancelled:-0} )) skipped="${skipped:-0}"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "test result: $([ "$failed" -eq 0 ] && echo ok || echo FAILED). $passed passed; $failed failed; $skipped ignored; 0 measured; 0 filtered out (node)"
rm -f "$REPORT"
[ "$status" -eq 0 ] || exit "$status"

step "node: examples/node/onboard.mjs"
node examples/node/onboard.mjs

step "node: examples/node/fleet_waves.mjs"
node examples/node/fleet_waves.mjs
