#!/usr/bin/env bash
# P1: compile 1,000 tenants with one release each to YAML files, whole process (start-up included),
# moorage against cdk8s (npm `cdk8s`, the same objects as plain ApiObjects, written by app.synth()),
# measured side by side in the same run (runs alternated), both layouts: one file per tenant (cdk8s: one file per
# chart) and one file for all (cdk8s: FILE_PER_APP), each written to the disk (ext4) and to a
# tmpfs (/dev/shm, when there is one). Prints the medians and the ratios.
#   bench/p1_cdk8s.sh [TENANTS] [RUNS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
TENANTS="${1:-1000}"
RUNS="${2:-5}"
cargo build -q --release -p moorage-bench --bin compile_tenants
(cd bench/cdk8s && npm install --no-audit --no-fund --silent)
BIN="$CARGO_TARGET_DIR/release/compile_tenants"
# The output folder lives under $HOME/.cache/moorage, not /tmp: on the project's machine, creating
# a file anywhere under /tmp costs ~0.8 ms of kernel CPU (strace -c: openat 779 µs, rename 353 µs
# per call; 0.03 ms under $HOME on the same ext4 file system), which would turn a 1,000-file run
# of either tool into a measure of /tmp's inode allocation. MOORAGE_BENCH_DIR overrides it.
BENCH_DIR="${MOORAGE_BENCH_DIR:-$HOME/.cache/moorage}"
mkdir -p "$BENCH_DIR"
INPUT="$(mktemp -d "$BENCH_DIR/p1.XXXXXX")"
SHM=""
trap 'rm -rf "$INPUT" "$SHM"' EXIT
"$BIN" "$TENANTS" "$INPUT/x" "--json=$INPUT/objects.json"
# The same runs on a tmpfs as well: writing 1,000 files on this machine's ext4 costs from 0.05 s
# to 0.7 s of kernel time depending on the file system's state (strace -c: openat 30 µs to 780 µs
# per file, for both tools), which swamps moorage's 0.1 s of CPU; in memory, the comparison is
# of the tools alone. Both are reported.
filesystems=("disk:$INPUT")
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  SHM="$(mktemp -d /dev/shm/moorage-p1.XXXXXX)"
  filesystems+=("tmpfs:$SHM")
fi

timed_us() { # CMD... (the argument DIR stands for a fresh output folder); prints its wall time in µs
  local dir start end
  dir="$(mktemp -d "$OUT/run.XXXXXX")"
  local args=()
  for a in "$@"; do if [ "$a" = DIR ]; then args+=("$dir"); else args+=("$a"); fi; done
  # Each run starts with nothing left to write back, in a folder never used before, and nothing is
  # deleted until the end: on this machine's ext4 (mounted with online `discard`), files created
  # right after 1,000 others were deleted cost more kernel time at each repetition (moorage's
  # per-tenant run grew from 0.16 to 0.61 s over five runs that removed the previous output first).
  sync
  start=$(date +%s%N)
  "${args[@]}" >/dev/null
  end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))
}

objects=$("$BIN" "$TENANTS" "$INPUT/count" | sed -n 's/.*"objects":\([0-9]*\).*/\1/p')
for entry in "${filesystems[@]}"; do
  fs="${entry%%:*}"; OUT="${entry#*:}"
  for layout in per-tenant one-file; do
    if [ "$layout" = per-tenant ]; then mflag=--per-tenant; cflag=; else mflag=; cflag=--one-file; fi
    # Alternated (moorage, cdk8s, moorage, ...), so that both see the same state of the machine.
    ms=() cs=()
    # One untimed run of each first (caches warm; the file system done with what came before).
    timed_us "$BIN" "$TENANTS" DIR $mflag >/dev/null
    timed_us node bench/cdk8s/synth.mjs "$INPUT/objects.json" DIR $cflag >/dev/null
    for _ in $(seq "$RUNS"); do
      ms+=($(timed_us "$BIN" "$TENANTS" DIR $mflag))
      cs+=($(timed_us node bench/cdk8s/synth.mjs "$INPUT/objects.json" DIR $cflag))
    done
    m=$(median "${ms[@]}"); c=$(median "${cs[@]}")
    echo "P1 layout=$layout fs=$fs tenants=$TENANTS objects=$objects runs=$RUNS moorage_us=$m cdk8s_us=$c moorage_objects_per_s=$(per_second "$objects" "$m") cdk8s_objects_per_s=$(per_second "$objects" "$c") ratio=$(ratio "$c" "$m" 1) moorage_all_us=${ms[*]}"
  done
done
