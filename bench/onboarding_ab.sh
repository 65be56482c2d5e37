#!/usr/bin/env bash
# onboarding_ab.sh: what a change costs the fleet onboarding of 100 tenants
# (tests/tests/fleet.rs::onboarding_100_tenants): the test binary of this tree against the one of an
# earlier commit, alternated RUNS times on one test control plane (noise hits both sides alike).
# Prints one line per run and the medians.
#
#   bench/onboarding_ab.sh REV [RUNS]     e.g. bench/onboarding_ab.sh e4be500 3
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$MOORAGE_ROOT"
REV="${1:?usage: bench/onboarding_ab.sh REV [RUNS]}"
RUNS="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}" CARGO_INCREMENTAL=0
work="$(mktemp -d "${TMPDIR:-/tmp}/moorage-bench-onboarding.XXXXXX")"
trap 'git -C "$ROOT" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# test_binary DIR OUT: builds the fleet test of the tree in DIR and copies its binary to OUT. The
# sources are touched first: both trees share one target folder, and cargo compares times only.
test_binary() {
  find "$1/core/src" "$1/tests" -name '*.rs' -exec touch {} +
  local bin
  bin="$(cd "$1/tests" && cargo test --test fleet --no-run 2>&1 | sed -n 's/.*(\(.*deps\/fleet-[0-9a-f]*\)).*/\1/p' | tail -1)"
  [ -x "$bin" ] || { echo "no fleet test binary built in $1" >&2; exit 1; }
  cp "$bin" "$2"
}
git -C "$ROOT" worktree add -q --detach "$work/old" "$REV"
test_binary "$work/old" "$work/fleet-old"
test_binary "$ROOT" "$work/fleet-new"

cat > "$work/runs.sh" <<EOF
set -euo pipefail
for i in \$(seq $RUNS); do
  for side in old new; do
    line=\$("$work/fleet-\$side" --ignored --nocapture onboarding_100_tenants 2>&1 | grep 'onboarded') || { echo "\$side run \$i failed" >&2; exit 1; }
    echo "\$side \$i \$line"
  done
done
EOF
"$ROOT/testcluster/run-with-cluster.sh" bash "$work/runs.sh" 2>/dev/null | tee "$work/lines"
seconds() { grep "^$1 " "$work/lines" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p'; }
echo "median seconds for 100 tenants: $REV $(median $(seconds old)), this tree $(median $(seconds new))"
