#!/usr/bin/env bash
# Compiling 1,000 tenants (one release each) from Python vs the same from Rust, same run: the
# Python twin (bench/compile_tenants.py, the `moorage` package from the venv) and the Rust binary
# (bench/src/compile_tenants.rs), alternated RUNS times, whole process timed from outside
# (start-up included). Prints both medians and the ratio, and the median of the RUNS ratios of
# each Python run to the Rust run just before it (`pair_ratio`: steadier when other programs load
# the machine, since each pair runs under nearly the same load).
#   bench/compile_python.sh [TENANTS] [RUNS]      (after bindings-python/test.sh has installed moorage)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
TENANTS="${1:-1000}"
RUNS="${2:-9}"
PY="${MOORAGE_VENV:-$HOME/.cache/moorage/venv}/bin/python"
cargo build -q --release -p moorage-bench --bin compile_tenants
BIN="$CARGO_TARGET_DIR/release/compile_tenants"
# Output in a tmpfs (/dev/shm) when there is one, each run into a folder of its own (no file
# replaced): both programs write the same 9 MB file, and on this machine's ext4 the time to
# write it swings by tens of ms with the file system's state (see bench/p1_cdk8s.sh), which is
# noise on a comparison of the bindings. Else $HOME/.cache/moorage (not /tmp, slow here).
if [ -d /dev/shm ] && [ -w /dev/shm ]; then default_dir=/dev/shm; else default_dir="$HOME/.cache/moorage"; fi
BENCH_DIR="${MOORAGE_BENCH_DIR:-$default_dir}"
mkdir -p "$BENCH_DIR"
OUT="$(mktemp -d "$BENCH_DIR/p5.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
fresh() { mktemp -d "$OUT/run.XXXXXX"; }
now() { date +%s%N; }
rust=() python=() rust_in=() python_in=()
load_before=$(cut -d' ' -f1 /proc/loadavg)
in_us() { sed -n 's/.*"in_process_seconds": *\([0-9.]*\).*/\1/p' <<<"$1" | awk '{printf "%d", $1 * 1000000}'; }
for _ in $(seq "$RUNS"); do
  s=$(now); rs=$(fresh); line=$("$BIN" "$TENANTS" "$rs"); e=$(now); rust+=($(( (e - s) / 1000 ))); rust_in+=($(in_us "$line"))
  s=$(now); py=$(fresh); line=$("$PY" bench/compile_tenants.py "$TENANTS" "$py"); e=$(now); python+=($(( (e - s) / 1000 ))); python_in+=($(in_us "$line"))
done
cmp -s "$rs/manifests.yaml" "$py/manifests.yaml" && same=identical || same=DIFFERENT
r=$(median "${rust[@]}"); p=$(median "${python[@]}"); ri=$(median "${rust_in[@]}"); pi=$(median "${python_in[@]}")
pair_median() { median $(paste -d' ' <(printf '%s\n' "${@:1:RUNS}") <(printf '%s\n' "${@:RUNS+1}") | awk '{printf "%.4f\n", $2 / $1}'); }
pair=$(pair_median "${rust[@]}" "${python[@]}"); pair_in=$(pair_median "${rust_in[@]}" "${python_in[@]}")
# Start-up alone, medians of RUNS: the bare interpreter (`python -c pass`, the floor of any Python
# program's whole-process time) and the interpreter importing the package.
bare=() loaded=()
for _ in $(seq "$RUNS"); do
  s=$(now); "$PY" -c pass; e=$(now); bare+=($(( (e - s) / 1000 )))
  s=$(now); "$PY" -c 'import moorage'; e=$(now); loaded+=($(( (e - s) / 1000 )))
done
startup=$(median "${loaded[@]}"); bare_startup=$(median "${bare[@]}")
echo "tenants=$TENANTS runs=$RUNS rust_median_us=$r python_median_us=$p ratio=$(ratio "$p" "$r") rust_in_process_median_us=$ri python_in_process_median_us=$pi in_process_ratio=$(ratio "$pi" "$ri") pair_ratio=$(printf '%.2f' "$pair") in_process_pair_ratio=$(printf '%.2f' "$pair_in") load_average_before_after=$load_before/$(cut -d' ' -f1 /proc/loadavg) python_startup_and_import_us=$startup python_bare_startup_us=$bare_startup output=$same rust_all_us=${rust[*]} python_all_us=${python[*]} rust_in_process_all_us=${rust_in[*]} python_in_process_all_us=${python_in[*]}"
