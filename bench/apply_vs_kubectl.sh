#!/usr/bin/env bash
# apply_vs_kubectl.sh [N]: apply throughput of moorage's cluster backend against
# `kubectl apply --server-side`, on the same real control plane, in the same run.
#
# Renders N tenants (default 200; each a tenant + one release, 12 objects) with moorage's
# manifest writer and applies them with `kubectl apply --server-side -f DIR -R`; then compiles
# N other tenants (other names, so both start from empty namespaces) and applies them with
# `ClusterBackend` (tests/src/bin/apply_bench.rs). Each is then re-applied unchanged. Last, a third
# set is applied by a raw concurrent server-side-apply loop (one PATCH per object, no reads, waits
# or retries: the API server's limit on this machine). Wall
# times include process start (kubectl's discovery, moorage's compile) and are printed side by side.
#
# Cluster: $MOORAGE_TEST_KUBECONFIG, else $KUBECONFIG; with neither, a test control plane is
# started with testcluster/testcluster.sh and stopped at the end.
# Environment: KUBECTL (default kubectl), BENCH_PROFILE (dev|release, default dev),
# MOORAGE_APPLY_CONCURRENCY (default 16), KEEP=1 to keep the tenants afterwards.
# The tenants' namespaces are deleted at the end without waiting: the namespace controller keeps
# the control plane busy for minutes afterwards, so run the benchmark on its own control plane
# (leave both variables unset) or after the other tests, never next to them.
set -euo pipefail

N="${1:-200}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBECTL="${KUBECTL:-kubectl}"
PROFILE="${BENCH_PROFILE:-dev}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/moorage-bench.XXXXXX")"
STARTED_CLUSTER=""

log() { printf '[bench] %s\n' "$*" >&2; }

cleanup() {
  if [ -n "$STARTED_CLUSTER" ]; then
    bash "$ROOT/testcluster/testcluster.sh" down "$STARTED_CLUSTER" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${MOORAGE_TEST_KUBECONFIG:-}" ]; then
  export KUBECONFIG="$MOORAGE_TEST_KUBECONFIG"
elif [ -z "${KUBECONFIG:-}" ]; then
  # Enough kwok nodes (110 pods each) for the pods of all three sides (N tenants each, a
  # Deployment of 2 replicas per tenant: tests/src/bin/apply_bench.rs): with fewer, the pods that
  # do not fit stay pending and the scheduler keeps retrying them, a load that grows with each
  # side, so the later sides (moorage, then the raw loop) would pay for the earlier ones'.
  NODES="${MOORAGE_TESTCLUSTER_NODES:-$(( (3 * N * 2 + 109) / 110 + 1 ))}"
  log "no MOORAGE_TEST_KUBECONFIG nor KUBECONFIG: starting a test control plane ($NODES kwok nodes)"
  STARTED_CLUSTER="$WORK/cluster"
  KUBECONFIG="$(MOORAGE_TESTCLUSTER_NODES="$NODES" bash "$ROOT/testcluster/testcluster.sh" up "$STARTED_CLUSTER")"
  export KUBECONFIG
fi

log "building the moorage side ($PROFILE profile)"
if [ "$PROFILE" = release ]; then
  (cd "$ROOT" && cargo build -q --release -p moorage-tests --bin apply_bench)
  BENCH="$CARGO_TARGET_DIR/release/apply_bench"
else
  (cd "$ROOT" && cargo build -q -p moorage-tests --bin apply_bench)
  BENCH="$CARGO_TARGET_DIR/debug/apply_bench"
fi

RUN="$(date +%H%M%S)"
KPREFIX="k$RUN"   # tenants applied by kubectl
MPREFIX="m$RUN"   # tenants applied by moorage
RPREFIX="r$RUN"   # tenants applied by the raw server-side-apply loop

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

# Waits until the controllers have caught up (the pod count is stable for 3 samples), so one
# side does not pay for the other's Deployments being rolled out.
settle() {
  local last=-1 same=0 count i
  for i in $(seq 1 90); do
    count="$("$KUBECTL" get pods -A --no-headers 2>/dev/null | wc -l)"
    if [ "$count" = "$last" ]; then same=$((same + 1)); else same=0; fi
    [ "$same" -ge 3 ] && return 0
    last="$count"
    sleep 2
  done
}

log "rendering $N tenants for kubectl"
OBJECTS="$("$BENCH" render "$WORK/manifests" "$KPREFIX" "$N" | sed -n 's/^objects=//p')"

settle
log "kubectl apply --server-side of $OBJECTS objects"
t0="$(now)"; "$KUBECTL" apply --server-side -f "$WORK/manifests" -R >"$WORK/kubectl-1.log"; t1="$(now)"
K1="$(elapsed "$t0" "$t1")"
[ "$(grep -c 'serverside-applied' "$WORK/kubectl-1.log")" = "$OBJECTS" ] || { log "kubectl applied $(grep -c 'serverside-applied' "$WORK/kubectl-1.log") of $OBJECTS objects"; exit 1; }
t0="$(now)"; "$KUBECTL" apply --server-side -f "$WORK/manifests" -R >"$WORK/kubectl-2.log"; t1="$(now)"
K2="$(elapsed "$t0" "$t1")"

settle
log "moorage ClusterBackend apply of $N tenants"
t0="$(now)"; M1LINE="$("$BENCH" apply "$MPREFIX" "$N")"; t1="$(now)"
M1="$(elapsed "$t0" "$t1")"
t0="$(now)"; M2LINE="$("$BENCH" apply "$MPREFIX" "$N")"; t1="$(now)"
M2="$(elapsed "$t0" "$t1")"
MOBJECTS="$(sed -n 's/.*objects=\([0-9]*\) .*/\1/p' <<<"$M1LINE")"
[ "$MOBJECTS" = "$OBJECTS" ] || { log "moorage applied $MOBJECTS objects, kubectl $OBJECTS"; exit 1; }
grep -q "created=$OBJECTS " <<<"$M1LINE" || { log "first moorage apply did not create everything: $M1LINE"; exit 1; }
grep -q "unchanged=$OBJECTS " <<<"$M2LINE" || { log "second moorage apply was not a no-op: $M2LINE"; exit 1; }

settle
log "raw concurrent server-side-apply loop of $N tenants (the API server's limit)"
t0="$(now)"; RLINE="$("$BENCH" raw "$RPREFIX" "$N")"; t1="$(now)"
R1="$(elapsed "$t0" "$t1")"

echo
echo "machine: $(nproc) CPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server:  $("$KUBECTL" version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n1); kubectl $("$KUBECTL" version --client -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | head -n1)"
echo "tenants: $N ($OBJECTS objects per side); moorage: $M1LINE"
echo
printf '%-34s %12s %12s %10s\n' "" "kubectl" "moorage" "speed-up"
printf '%-34s %11ss %11ss %9sx\n' "first apply (empty namespaces)" "$K1" "$M1" "$(awk -v k="$K1" -v m="$M1" 'BEGIN { printf "%.1f", k / m }')"
printf '%-34s %12s %12s\n' "  objects/s" "$(rate "$OBJECTS" "$K1")" "$(rate "$OBJECTS" "$M1")"
printf '%-34s %11ss %11ss %9sx\n' "re-apply (no change)" "$K2" "$M2" "$(awk -v k="$K2" -v m="$M2" 'BEGIN { printf "%.1f", k / m }')"
printf '%-34s %12s %12s\n' "  objects/s" "$(rate "$OBJECTS" "$K2")" "$(rate "$OBJECTS" "$M2")"
echo
printf '%-34s %11ss %11ss %9sx\n' "first apply: raw SSA loop vs moorage" "$R1" "$M1" "$(awk -v r="$R1" -v m="$M1" 'BEGIN { printf "%.2f", m / r }')"
echo "raw loop: $RLINE"
echo "P2 kubectl_s=$K1 moorage_s=$M1 raw_s=$R1 speedup_vs_kubectl=$(awk -v k="$K1" -v m="$M1" 'BEGIN { printf "%.1f", k / m }') moorage_over_raw=$(awk -v r="$R1" -v m="$M1" 'BEGIN { printf "%.2f", m / r }')"

if [ "${KEEP:-0}" != 1 ]; then
  log "deleting the benchmark tenants"
  "$KUBECTL" get ns -o name | grep -E "^namespace/($KPREFIX|$MPREFIX|$RPREFIX)-" | xargs -r "$KUBECTL" delete --wait=false >/dev/null
fi
