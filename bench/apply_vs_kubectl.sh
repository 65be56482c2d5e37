#!/usr/bin/env bash
# apply_vs_kubectl.sh [N] [ROUNDS]: apply throughput of moorage's cluster backend against
# `kubectl apply --server-side`, on the same real control plane, in the same run.
#
# Renders N tenants (default 200; each a tenant + one release, 12 objects) with moorage's
# manifest writer and applies them with `kubectl apply --server-side -f DIR -R`; compiles N other
# tenants (other names, so every side starts from empty namespaces) and applies them with
# `ClusterBackend` (tests/src/bin/apply_bench.rs); each is then re-applied unchanged. A third set
# is applied by a raw concurrent server-side-apply loop (one PATCH per object, no reads, waits or
# retries: the API server's limit on this machine). That is one round; ROUNDS rounds (default 3)
# run the three sides in a rotated order each time, and the figures are the medians, with each
# round's ratios beside them. Wall times include process start (kubectl's discovery, moorage's
# compile).
#
# Cluster: $MOORAGE_TEST_KUBECONFIG, else $KUBECONFIG; with neither, a test control plane is
# started with testcluster/testcluster.sh and stopped at the end.
# Environment: KUBECTL (default: the kubectl built with the test control plane, the server's own
# version; a `kubectl` on PATH may be another, e.g. this machine's /usr/bin/kubectl is Google Cloud
# SDK's version dispatcher, which spends ~45 ms of CPU per object), BENCH_PROFILE (dev|release, default dev),
# MOORAGE_APPLY_CONCURRENCY (default 16), KEEP=1 to keep the tenants on a given cluster afterwards.
# On a given cluster, the tenants' namespaces are deleted at the end without waiting: the namespace controller keeps
# the control plane busy for minutes afterwards, so run the benchmark on its own control plane
# (leave both variables unset) or after the other tests, never next to them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${1:-200}"
ROUNDS="${2:-3}"
ROOT="$MOORAGE_ROOT"
KUBECTL="${KUBECTL:-$(bash "$ROOT/testcluster/testcluster.sh" build)/kubectl}"
PROFILE="${BENCH_PROFILE:-dev}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
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
  # Enough kwok nodes (110 pods each) for the pods of every side and round (N tenants each, a
  # Deployment of 2 replicas per tenant: tests/src/bin/apply_bench.rs): with fewer, the pods that
  # do not fit stay pending and the scheduler keeps retrying them, a load that grows with each
  # side, so the later sides would pay for the earlier ones'.
  NODES="${MOORAGE_TESTCLUSTER_NODES:-$(( (3 * ROUNDS * N * 2 + 109) / 110 + 1 ))}"
  log "no MOORAGE_TEST_KUBECONFIG nor KUBECONFIG: starting a test control plane ($NODES kwok nodes)"
  STARTED_CLUSTER="$WORK/cluster"
  KUBECONFIG="$(MOORAGE_TESTCLUSTER_NODES="$NODES" bash "$ROOT/testcluster/testcluster.sh" up "$STARTED_CLUSTER")"
  export KUBECONFIG
fi

log "building the moorage side ($PROFILE profile)"
BENCH="$(build_bin "$PROFILE" apply_bench)"

RUN="$(date +%H%M%S)"
# Tenants of side S in round R are named "<S><RUN><R>-<i>": k for kubectl, m for moorage, r for the
# raw server-side-apply loop.

now() { date +%s.%N; }
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

K1=() K2=() M1=() M2=() R1=() OBJECTS=""

side_kubectl() {
  local prefix="k$1" t0 t1 applied
  "$BENCH" render "$WORK/manifests-$prefix" "$prefix" "$N" >"$WORK/render-$prefix.log"
  OBJECTS="$(sed -n 's/^objects=//p' "$WORK/render-$prefix.log")"
  settle
  log "round $2: kubectl apply --server-side of $OBJECTS objects"
  t0="$(now)"; "$KUBECTL" apply --server-side -f "$WORK/manifests-$prefix" -R >"$WORK/kubectl-$prefix-1.log"; t1="$(now)"
  K1+=("$(elapsed "$t0" "$t1")")
  applied="$(grep -c 'serverside-applied' "$WORK/kubectl-$prefix-1.log")"
  [ "$applied" = "$OBJECTS" ] || { log "kubectl applied $applied of $OBJECTS objects"; exit 1; }
  t0="$(now)"; "$KUBECTL" apply --server-side -f "$WORK/manifests-$prefix" -R >"$WORK/kubectl-$prefix-2.log"; t1="$(now)"
  K2+=("$(elapsed "$t0" "$t1")")
}

side_moorage() {
  local prefix="m$1" t0 t1 first second objects
  settle
  log "round $2: moorage ClusterBackend apply of $N tenants"
  t0="$(now)"; first="$("$BENCH" apply "$prefix" "$N")"; t1="$(now)"
  M1+=("$(elapsed "$t0" "$t1")")
  t0="$(now)"; second="$("$BENCH" apply "$prefix" "$N")"; t1="$(now)"
  M2+=("$(elapsed "$t0" "$t1")")
  objects="$(sed -n 's/.*objects=\([0-9]*\) .*/\1/p' <<<"$first")"
  M1LINE="$first"
  grep -q "created=$objects " <<<"$first" || { log "first moorage apply did not create everything: $first"; exit 1; }
  grep -q "unchanged=$objects " <<<"$second" || { log "second moorage apply was not a no-op: $second"; exit 1; }
  MOBJECTS="$objects"
}

side_raw() {
  local prefix="r$1" t0 t1
  settle
  log "round $2: raw concurrent server-side-apply loop of $N tenants (the API server's limit)"
  t0="$(now)"; RLINE="$("$BENCH" raw "$prefix" "$N")"; t1="$(now)"
  R1+=("$(elapsed "$t0" "$t1")")
}

# Every round runs the three sides in another order (kubectl first, then moorage first, then the
# raw loop first), so that no side always gets the emptiest control plane or the one the other
# sides' pods are still settling on.
ORDER=(kubectl moorage raw)
for ((round = 1; round <= ROUNDS; round++)); do
  for ((s = 0; s < 3; s++)); do
    "side_${ORDER[(s + round - 1) % 3]}" "$RUN$round" "$round/$ROUNDS"
  done
done
[ "$MOBJECTS" = "$OBJECTS" ] || { log "moorage applied $MOBJECTS objects, kubectl $OBJECTS"; exit 1; }

K1M="$(median "${K1[@]}")" K2M="$(median "${K2[@]}")" M1M="$(median "${M1[@]}")" M2M="$(median "${M2[@]}")" R1M="$(median "${R1[@]}")"
PER_ROUND_VS_KUBECTL="" PER_ROUND_OVER_RAW=""
for ((i = 0; i < ROUNDS; i++)); do
  PER_ROUND_VS_KUBECTL+="${PER_ROUND_VS_KUBECTL:+,}$(ratio "${K1[i]}" "${M1[i]}" 1)"
  PER_ROUND_OVER_RAW+="${PER_ROUND_OVER_RAW:+,}$(ratio "${M1[i]}" "${R1[i]}" 2)"
done

echo
echo "machine: $(nproc) CPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server:  $("$KUBECTL" version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n1); kubectl $("$KUBECTL" version --client -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | head -n1)"
echo "tenants: $N ($OBJECTS objects per side and round), $ROUNDS rounds, medians; last moorage apply: $M1LINE"
echo
printf '%-34s %12s %12s %10s\n' "" "kubectl" "moorage" "speed-up"
printf '%-34s %11ss %11ss %9sx\n' "first apply (empty namespaces)" "$K1M" "$M1M" "$(ratio "$K1M" "$M1M" 1)"
printf '%-34s %12s %12s\n' "  objects/s" "$(rate "$OBJECTS" "$K1M")" "$(rate "$OBJECTS" "$M1M")"
printf '%-34s %11ss %11ss %9sx\n' "re-apply (no change)" "$K2M" "$M2M" "$(ratio "$K2M" "$M2M" 1)"
printf '%-34s %12s %12s\n' "  objects/s" "$(rate "$OBJECTS" "$K2M")" "$(rate "$OBJECTS" "$M2M")"
echo
printf '%-34s %11ss %11ss %9sx\n' "first apply: raw SSA loop vs moorage" "$R1M" "$M1M" "$(ratio "$M1M" "$R1M" 2)"
echo "per round (kubectl / moorage / raw loop, first apply): $(for ((i = 0; i < ROUNDS; i++)); do printf '%s/%s/%s ' "${K1[i]}" "${M1[i]}" "${R1[i]}"; done)"
echo "last raw loop: $RLINE"
echo "P2 rounds=$ROUNDS kubectl_s=$K1M moorage_s=$M1M raw_s=$R1M speedup_vs_kubectl=$(ratio "$K1M" "$M1M" 1) moorage_over_raw=$(ratio "$M1M" "$R1M" 2) per_round_vs_kubectl=$PER_ROUND_VS_KUBECTL per_round_over_raw=$PER_ROUND_OVER_RAW kubectl_all_s=$(IFS=,; echo "${K1[*]}") moorage_all_s=$(IFS=,; echo "${M1[*]}") raw_all_s=$(IFS=,; echo "${R1[*]}") reapply_kubectl_s=$K2M reapply_moorage_s=$M2M"

# On a control plane of its own, stopped on exit, there is nothing to delete (deleting the 1,800
# namespaces of 3 rounds took ~5 minutes).
if [ "${KEEP:-0}" != 1 ] && [ -z "$STARTED_CLUSTER" ]; then
  log "deleting the benchmark tenants"
  "$KUBECTL" get ns -o name | grep -E "^namespace/[kmr]$RUN[0-9]+-" | xargs -r "$KUBECTL" delete --wait=false >/dev/null
fi
