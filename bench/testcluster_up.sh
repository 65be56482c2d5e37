#!/usr/bin/env bash
# testcluster_up.sh: wall time of `testcluster.sh up` of this tree against the script of an
# earlier commit, alternating runs on the same cached binaries (what a change of the start
# sequence costs; noise hits both sides alike). Prints one line per pair and the medians.
#
#   bench/testcluster_up.sh REV [RUNS]     e.g. bench/testcluster_up.sh 1059a65 5
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$MOORAGE_ROOT"
REV="${1:?usage: bench/testcluster_up.sh REV [RUNS]}"
RUNS="${2:-5}"
work="$(mktemp -d "${TMPDIR:-/tmp}/moorage-bench-up.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The earlier script beside the same Go wrapper modules, so that it finds the same cached build.
mkdir -p "$work/old"
git -C "$ROOT" show "$REV:testcluster/testcluster.sh" > "$work/old/testcluster.sh"
ln -s "$ROOT/testcluster/go" "$work/old/go"
export MOORAGE_TESTCLUSTER_REMEMBER=0

bash "$ROOT/testcluster/testcluster.sh" build >/dev/null 2>&1
bash "$work/old/testcluster.sh" build >/dev/null 2>&1

time_up() { # time_up <script>: seconds from start to the kubeconfig, then down
  local t0 t1
  t0="$(date +%s.%N)"
  bash "$1" up "$work/cp" >/dev/null 2>"$work/up.log" || { cat "$work/up.log" >&2; exit 1; }
  t1="$(date +%s.%N)"
  bash "$1" down "$work/cp" >/dev/null 2>&1
  elapsed "$t0" "$t1"
}

echo "run  $REV  HEAD  load"
: > "$work/old.txt"; : > "$work/new.txt"
for i in $(seq 1 "$RUNS"); do
  old="$(time_up "$work/old/testcluster.sh")"
  new="$(time_up "$ROOT/testcluster/testcluster.sh")"
  echo "$old" >> "$work/old.txt"; echo "$new" >> "$work/new.txt"
  echo "$i    $old s  $new s  $(cut -d' ' -f1 /proc/loadavg)"
done
o="$(median $(cat "$work/old.txt"))"; n="$(median $(cat "$work/new.txt"))"
echo "median: $REV $o s, HEAD $n s, ratio $(ratio "$n" "$o")"
