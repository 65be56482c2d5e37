#!/usr/bin/env bash
# P1: compile 1,000 tenants with one release each to YAML files, whole process (start-up included),
# moorage against cdk8s (npm `cdk8s`, the same objects as plain ApiObjects, written by app.synth()),
# measured side by side in the same run, both layouts: one file per tenant (cdk8s: one file per
# chart) and one file for all (cdk8s: FILE_PER_APP). Prints the medians and the ratios.
#   bench/p1_cdk8s.sh [TENANTS] [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
TENANTS="${1:-1000}"
RUNS="${2:-5}"
cargo build -q --release -p moorage-bench --bin compile_tenants
(cd bench/cdk8s && npm install --no-audit --no-fund --silent)
BIN="$CARGO_TARGET_DIR/release/compile_tenants"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
"$BIN" "$TENANTS" "$OUT/x" "--json=$OUT/objects.json"

median_us() { # CMD... ; runs it RUNS times (fresh output folder), prints the median wall time in µs
  local times=() start end
  for _ in $(seq "$RUNS"); do
    rm -rf "$OUT/run"; mkdir -p "$OUT/run"
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

objects=$("$BIN" "$TENANTS" "$OUT/count" | sed -n 's/.*"objects":\([0-9]*\).*/\1/p')
for layout in per-tenant one-file; do
  if [ "$layout" = per-tenant ]; then mflag=--per-tenant; cflag=; else mflag=; cflag=--one-file; fi
  m=$(median_us "$BIN" "$TENANTS" "$OUT/run" $mflag)
  c=$(median_us node bench/cdk8s/synth.mjs "$OUT/objects.json" "$OUT/run" $cflag)
  echo "P1 layout=$layout tenants=$TENANTS objects=$objects runs=$RUNS moorage_us=$m cdk8s_us=$c moorage_objects_per_s=$(( objects * 1000000 / m )) cdk8s_objects_per_s=$(( objects * 1000000 / c )) ratio=$(awk "BEGIN{printf \"%.1f\", $c/$m}")"
done
