#!/usr/bin/env bash
# run-with-cluster.sh CMD [ARGS...]
#
# Builds the test control plane if it is not cached, starts it, runs CMD with
# MOORAGE_TEST_KUBECONFIG and KUBECONFIG pointing at its admin kubeconfig, and always stops it
# afterwards (also on failure or interruption). The component logs are kept in
# $HOME/.cache/moorage/testcluster/last-logs when CMD fails. Exits with CMD's status
# (or with the failure of `up`, whose logs are shown and kept too).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TC="$HERE/testcluster.sh"

[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

BIN_DIR="$("$TC" build)" || { echo "[run-with-cluster] build failed" >&2; exit 1; }
# The tests use the kubectl built with the control plane (a fresh machine may have none).
export KUBECTL="$BIN_DIR/kubectl"
export PATH="$BIN_DIR:$PATH"

STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/moorage-testcluster.XXXXXX")"
status=1
cleanup() {
  local keep=()
  [ "$status" -ne 0 ] && keep=(--keep-logs)
  if [ -f "$STATE_DIR/pids" ]; then
    "$TC" down "${keep[@]}" "$STATE_DIR" || true
  else
    rm -rf "$STATE_DIR"
  fi
}
trap cleanup EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM

kubeconfig="$(MOORAGE_TESTCLUSTER_REMEMBER=0 "$TC" up "$STATE_DIR")" || {
  # `up` shows the logs, keeps them and cleans up after itself on failure
  status=1
  echo "[run-with-cluster] the test control plane did not come up" >&2
  exit 1
}
export MOORAGE_TEST_KUBECONFIG="$kubeconfig"
export KUBECONFIG="$kubeconfig"
echo "[run-with-cluster] MOORAGE_TEST_KUBECONFIG=$kubeconfig" >&2

"$@"
status=$?
if [ "$status" -ne 0 ]; then
  echo "[run-with-cluster] command failed with status $status; component logs will be kept" >&2
fi
exit "$status"
