#!/usr/bin/env bash
# load_rollouts.sh [TENANTS [APPS]]: the Load figure of docs/reliability.md. One rollout alone, then
# TENANTS x APPS (default 5 x 10 = 50) rollouts at once in one process (tests/src/bin/load_rollouts.rs:
# all tenants and versions blue first, then every application blue -> green at the same time;
# every fifth application a canary, the others blue/green), on the same control plane in the same
# run. Prints one JSON line: wall time alone and for the concurrent wave, their ratio, the fastest
# and slowest rollout of the wave, and the process's peak RSS (VmHWM).
#
# Cluster: $MOORAGE_TEST_KUBECONFIG; without it a test control plane is started with
# testcluster/run-with-cluster.sh and stopped at the end. BENCH_PROFILE=dev|release (default dev,
# the profile the tests use).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$MOORAGE_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
PROFILE="${BENCH_PROFILE:-dev}"
cd "$ROOT"
BIN="$(build_bin "$PROFILE" load_rollouts)"
if [ -n "${MOORAGE_TEST_KUBECONFIG:-}" ]; then
  exec "$BIN" "$@"
fi
exec bash "$ROOT/testcluster/run-with-cluster.sh" "$BIN" "$@"
