# bench/lib.sh: helpers shared by the benchmark scripts; each script sources it.

# The repository's root, found when this file is sourced (the scripts may change directory later).
MOORAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# median VALUE...: the median of the values, as they are written for an odd count, the mean of the
# middle two for an even one (`%.10g`, so it may have a fraction: compute with awk, not $(( ))).
# Fails without values.
median() {
  [ "$#" -gt 0 ] || { echo "median: no values" >&2; return 1; }
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# per_second COUNT MICROSECONDS: COUNT per second, rounded down.
per_second() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%d\n", n * 1000000 / us }'; }

# ratio A B [DIGITS]: A / B with DIGITS decimals (default 2).
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f\n", d, a / b }'; }

# elapsed T0 T1: the seconds from T0 to T1 (both `date +%s.%N`), with 2 decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", b - a }'; }

# build_bin PROFILE BIN: builds the moorage-tests program BIN (tests/src/bin/) with cargo's PROFILE
# (dev or release) into $CARGO_TARGET_DIR and prints its path; cargo's own output goes to stderr.
# Fails when the build does (use it as `BIN="$(build_bin ...)"` under `set -e`).
build_bin() {
  (cd "$MOORAGE_ROOT" && cargo build -q --profile "$1" -p moorage-tests --bin "$2") >&2 || return 1
  local dir=debug
  [ "$1" = dev ] || dir="$1"
  echo "${CARGO_TARGET_DIR:?}/$dir/$2"
}
