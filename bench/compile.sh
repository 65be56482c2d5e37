#!/usr/bin/env bash
# Compile throughput, whole process: 1,000 tenants with one release each compiled and written as
# YAML by `compile_tenants`, timed from outside the process (start-up included), for both layouts:
# one YAML stream for all tenants, and one file per tenant. Prints the median of RUNS runs of each
# as objects/s and Markdown rows for docs/benchmarks.md.
#   bench/compile.sh [TENANTS] [RUNS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
TENANTS="${1:-1000}"
RUNS="${2:-7}"
cargo build -q --release -p moorage-bench --bin compile_tenants
BIN="$CARGO_TARGET_DIR/release/compile_tenants"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
measure() {
  local layout_flag="$1" label="$2"
  local times=() objects=0 start end line median_us rate
  for _ in $(seq "$RUNS"); do
    rm -rf "$OUT/run"
    start=$(date +%s%N)
    line="$("$BIN" "$TENANTS" "$OUT/run" $layout_flag)"
    end=$(date +%s%N)
    objects=$(echo "$line" | sed -n 's/.*"objects":\([0-9]*\).*/\1/p')
    times+=($(( (end - start) / 1000 )))
  done
  median_us=$(median "${times[@]}")
  rate=$(per_second "$objects" "$median_us")
  echo "layout=$label tenants=$TENANTS objects=$objects runs=$RUNS median_wall_us=$median_us objects_per_second=$rate all_us=${times[*]}" >&2
  echo "| compile + write YAML ($label), whole process | $TENANTS tenants, $objects objects | $(awk "BEGIN{printf \"%.1f\", $median_us/1000}") ms | **$rate objects/s** |"
}
measure "" "one stream file"
measure "--per-tenant" "one file per tenant"
