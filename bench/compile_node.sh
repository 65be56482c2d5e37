#!/usr/bin/env bash
# Compiling 1,000 tenants (one release each) from Node vs the same from Rust, same run: the Node
# twin (bench/compile_tenants.mjs, the `moorage` package of bindings-node) and the Rust binary
# (bench/src/compile_tenants.rs), alternated RUNS times, whole process timed from outside
# (start-up included), and in process. Prints both medians, the ratios, the median time Node spends
# building the tenants and releases on its JavaScript thread and pushing them into a CompileBatch
# (the core's workers compile them meanwhile, on the same cores; the rest is finishToFile waiting
# for the last units and writing), the median start-up of a bare `node -e 0` (the floor of any
# Node program's whole-process time), the load average at the end, and whether the outputs are identical. Also, as a diagnostic, the Rust
# binary with `--build-first` (every tenant built on the main thread, then one batch compile: the
# Node twin's structure before pushes took plain specs), so that the binding layer's cost shows apart from Rust's parallel build.
#   bench/compile_node.sh [TENANTS] [RUNS]      (after bindings-node/test.sh or `npm install` in bindings-node)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
TENANTS="${1:-1000}"
RUNS="${2:-9}"
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
rust=() node=() node_no_ca=() rust_in=() node_in=() node_build=() rust_first_in=() rust_first_build=()
# A field of the JSON line (seconds) in microseconds.
field_us() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1" | awk '{printf "%d", $1 * 1000000}'; }
in_us() { field_us "$1" in_process_seconds; }
for _ in $(seq "$RUNS"); do
  s=$(now); rs=$(fresh); line=$("$BIN" "$TENANTS" "$rs"); e=$(now); rust+=($(( (e - s) / 1000 ))); rust_in+=($(in_us "$line"))
  first=$(fresh); line=$("$BIN" "$TENANTS" "$first" --build-first); rust_first_in+=($(in_us "$line")) rust_first_build+=($(field_us "$line" build_seconds))
  s=$(now); js=$(fresh); line=$(node bench/compile_tenants.mjs "$TENANTS" "$js"); e=$(now); node+=($(( (e - s) / 1000 )))
  node_in+=($(in_us "$line")) node_build+=($(field_us "$line" build_seconds))
  # The same without NODE_EXTRA_CA_CERTS, when the environment sets it: Node then parses that CA
  # bundle at every start-up (on the project's machine, the whole system bundle: ~40 ms), which
  # no Node program of a user without the variable pays.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
    s=$(now); env -u NODE_EXTRA_CA_CERTS node bench/compile_tenants.mjs "$TENANTS" "$(fresh)" >/dev/null; e=$(now); node_no_ca+=($(( (e - s) / 1000 )))
  fi
done
cmp -s "$rs/manifests.yaml" "$js/manifests.yaml" && cmp -s "$rs/manifests.yaml" "$first/manifests.yaml" && same=identical || same=DIFFERENT
r=$(median "${rust[@]}"); j=$(median "${node[@]}"); ri=$(median "${rust_in[@]}"); ji=$(median "${node_in[@]}"); jb=$(median "${node_build[@]}"); rfi=$(median "${rust_first_in[@]}"); rfb=$(median "${rust_first_build[@]}")
# Start-up alone, medians of RUNS: the bare interpreter (`node -e 0`, the floor of any Node
# program's whole-process time) and the interpreter loading the package.
bare=() loaded=()
for _ in $(seq "$RUNS"); do
  s=$(now); node -e 0; e=$(now); bare+=($(( (e - s) / 1000 )))
  s=$(now); node -e 'require("./bindings-node/moorage.js")'; e=$(now); loaded+=($(( (e - s) / 1000 )))
done
startup=$(median "${loaded[@]}"); bare_startup=$(median "${bare[@]}")
no_ca=""
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  bare_no_ca=()
  for _ in $(seq "$RUNS"); do s=$(now); env -u NODE_EXTRA_CA_CERTS node -e 0; e=$(now); bare_no_ca+=($(( (e - s) / 1000 ))); done
  jn=$(median "${node_no_ca[@]}")
  no_ca=" node_without_extra_ca_median_us=$jn ratio_without_extra_ca=$(ratio "$jn" "$r") node_bare_startup_without_extra_ca_us=$(median "${bare_no_ca[@]}")"
fi
echo "tenants=$TENANTS runs=$RUNS rust_median_us=$r node_median_us=$j ratio=$(ratio "$j" "$r") rust_in_process_median_us=$ri node_in_process_median_us=$ji in_process_ratio=$(ratio "$ji" "$ri") node_build_median_us=$jb rust_build_first_in_process_median_us=$rfi rust_build_first_build_median_us=$rfb node_vs_rust_build_first=$(ratio "$ji" "$rfi") load_average=\"$(cut -d' ' -f1-3 /proc/loadavg)\" node_startup_and_load_us=$startup node_bare_startup_us=$bare_startup$no_ca output=$same rust_all_us=${rust[*]} node_all_us=${node[*]}"
