#!/usr/bin/env bash
# p2_profile.sh [N] [SECONDS]: where kube-apiserver's CPU goes while moorage applies N tenants (P2).
#
# Starts a test control plane of its own with kube-apiserver's /debug/pprof served
# (MOORAGE_TESTCLUSTER_PROFILING=1), applies N tenants (default 200, 12 objects each) with
# moorage's cluster backend (tests/src/bin/apply_bench.rs), takes a CPU profile of kube-apiserver
# for SECONDS (default 7) from half a second after the apply starts, and prints the share of the
# profile's samples (cumulative) spent in the parts of a server-side apply, with `go tool pprof`.
# The profile is kept as $OUT (default ~/.cache/moorage/bench/p2-apiserver.pprof).
# Environment: BENCH_PROFILE (dev|release, default release), MOORAGE_APPLY_CONCURRENCY (default 16).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${1:-200}"
SECONDS_PROFILED="${2:-7}"
ROOT="$MOORAGE_ROOT"
PROFILE="${BENCH_PROFILE:-release}"
OUT="${OUT:-$HOME/.cache/moorage/bench/p2-apiserver.pprof}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/moorage-p2-profile.XXXXXX")"
mkdir -p "$(dirname "$OUT")"

log() { printf '[p2-profile] %s\n' "$*" >&2; }

cleanup() {
  bash "$ROOT/testcluster/testcluster.sh" down "$WORK/cluster" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "building apply_bench ($PROFILE profile)"
BENCH="$(build_bin "$PROFILE" apply_bench)"
KUBECTL="$(bash "$ROOT/testcluster/testcluster.sh" build)/kubectl"

log "starting a test control plane with kube-apiserver's profiling on"
KUBECONFIG="$(MOORAGE_TESTCLUSTER_PROFILING=1 MOORAGE_TESTCLUSTER_REMEMBER=0 \
  MOORAGE_TESTCLUSTER_NODES=$(( (N * 2 + 109) / 110 + 1 )) bash "$ROOT/testcluster/testcluster.sh" up "$WORK/cluster")"
export KUBECONFIG

log "applying $N tenants while profiling kube-apiserver for $SECONDS_PROFILED s"
( sleep 0.5; "$KUBECTL" get --raw "/debug/pprof/profile?seconds=$SECONDS_PROFILED" > "$OUT" ) &
PROFILER=$!
APPLIED="$("$BENCH" apply p2prof "$N")"
wait "$PROFILER"

# share FUNCTION: the cumulative share of the profile's samples in FUNCTION (a regular expression
# matched against pprof's function names).
TOP="$(go tool pprof -top -cum -nodecount=100000 "$OUT" 2>/dev/null)"
share() { awk -v f="$1" '$6 ~ f { print $5; found = 1; exit } END { if (!found) print "0%" }' <<<"$TOP"; }

echo "apply: $APPLIED"
echo "profile: $(sed -n 's/^Duration: //p' <<<"$TOP") (kube-apiserver's CPU over the profiled seconds), $OUT"
echo "share of kube-apiserver's samples (cumulative):"
printf '  %-58s %s\n' \
  "writes (create, update, patch; the controllers' too)" "$(share 'handlers/finisher\.finishRequest\.func1$')" \
  "  server-side applies (patch handler)" "$(share 'handlers\.\(\*patcher\)\.patchResource\.func2$')" \
  "    YAML parse of the apply patch" "$(share '^sigs\.k8s\.io/yaml\.unmarshal$')" \
  "    managed fields (structured merge)" "$(share 'managedfields/internal\.\(\*FieldManager\)\.Apply$')" \
  "    admission" "$(share 'handlers\.\(\*patcher\)\.applyAdmission$')" \
  "  etcd calls (gRPC client)" "$(share 'grpc\.\(\*ClientConn\)\.Invoke$')" \
  "response encoding" "$(share 'handlers\.transformResponseObject$')" \
  "client authentication (x509)" "$(share 'x509\.\(\*Authenticator\)\.AuthenticateRequest$')" \
  "watches served (controllers, kwok)" "$(share 'handlers\.handleWatch$')" \
  "Go garbage collector (background)" "$(share '^runtime\.gcBgMarkWorker$')"
