#!/usr/bin/env bash
# One command for the performance figures of issue 11 (P1 to P5 and the fleet wave upgrade): runs
# every benchmark on this machine, each comparison side by side in the same run, and rewrites the
# generated section of docs/benchmarks.md (between the `bench:run-all` markers) with the figures,
# the machine, the date and the command.
#
#   bench/run-all.sh            everything (starts its own test control plane, stops it at the end)
#   bench/run-all.sh --no-write print the figures, leave docs/benchmarks.md alone
#
# Takes about 10 minutes on the project's 2-CPU machine. Run it alone: the figures are wall times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
WRITE=1
[ "${1:-}" = "--no-write" ] && WRITE=0
WORK="$(mktemp -d "${TMPDIR:-/tmp}/moorage-run-all.XXXXXX")"
CLUSTER="$WORK/cluster"
cleanup() {
  bash testcluster/testcluster.sh down "$CLUSTER" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '\n[run-all] %s\n' "$*" >&2; }
RESULTS="$WORK/results.txt"
: >"$RESULTS"
keep() { tee -a "$RESULTS"; }
# record TAG COMMAND...: keeps "TAG <the command's output>", or "TAG failed exit=N" when it fails,
# so that a failed benchmark shows in the table as failed instead of stopping the run.
record() {
  local tag="$1" out status=0
  shift
  out="$("$@")" || status=$?
  if [ "$status" = 0 ]; then echo "$tag $out" | keep; else echo "$tag failed exit=$status" | keep; fi
}

log "building the benchmark programs (release)"
cargo build -q --release -p moorage-bench --bin compile_tenants
cargo build -q --release -p moorage-tests --bin switch_latency --bin fleet_memory --bin wave_bench --bin apply_bench
REL="$CARGO_TARGET_DIR/release"

log "P1: compile 1,000 tenants to YAML, moorage vs cdk8s"
bench/p1_cdk8s.sh 1000 5 | grep '^P1 ' | keep

log "P5: the P1 work from Python (and Node when its bindings are built) against Rust"
bench/compile_python.sh 1000 21 2>/dev/null | grep '^tenants=' | sed 's/^/P5 python /' | keep || true
if [ -x bench/compile_node.sh ]; then
  bench/compile_node.sh 1000 9 2>/dev/null | grep '^tenants=' | sed 's/^/P5 node /' | keep || true
fi

log "starting a test control plane (8 kwok nodes: P4's 200 tenants need more than the default 3)"
KUBECONFIG="$(MOORAGE_TESTCLUSTER_NODES="${MOORAGE_TESTCLUSTER_NODES:-8}" bash testcluster/testcluster.sh up "$CLUSTER" | tail -n1)"
export KUBECONFIG MOORAGE_TEST_KUBECONFIG="$KUBECONFIG"

log "P3: switch latency, 50 blue/green rollouts"
record P3 "$REL/switch_latency" 50

log "P4: peak RSS managing 1,000 tenants (simulated) and 200 (real control plane)"
record P4 "$REL/fleet_memory" --simulated 1000
record P4 "$REL/fleet_memory" 200

log "fleet wave upgrade of 100 tenants on the real control plane"
record WAVES "$REL/wave_bench" 100

log "P2: apply 200 tenants: moorage vs kubectl --server-side vs a raw concurrent SSA loop"
# On a control plane of its own, as bench/apply_vs_kubectl.sh asks: the shared one is stopped
# first, with the namespaces the benchmarks above left terminating on it.
bash testcluster/testcluster.sh down "$CLUSTER" >/dev/null 2>&1 || true
(unset KUBECONFIG MOORAGE_TEST_KUBECONFIG; BENCH_PROFILE=release bench/apply_vs_kubectl.sh 200 3 2>/dev/null) | grep '^P2 ' | keep

MACHINE="$(nproc) vCPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, load average before the run $(cut -d' ' -f1-3 /proc/loadavg)"
log "results"
cat "$RESULTS"

if [ "$WRITE" = 1 ]; then
  python3 bench/write_results.py "$RESULTS" "$MACHINE" docs/benchmarks.md
  log "docs/benchmarks.md updated"
fi
