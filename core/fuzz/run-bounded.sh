#!/usr/bin/env bash
# Bounded fuzzing: builds every cargo-fuzz target of core/fuzz and runs each for a fixed time from
# its committed seeds (core/fuzz/seeds/<target>/). A panic (crash) or an input slower than the
# per-input timeout (hang) fails the target; the crashing input is kept under
# $HOME/.cache/moorage/fuzz-artifacts/. Installs cargo-fuzz (into $HOME/.cargo/bin) and the nightly
# toolchain when missing. Ends with one cargo-style "test result" line (one test per target), which
# the root test.sh adds to its summary.
#
#   core/fuzz/run-bounded.sh                 every target, 20 s each
#   MOORAGE_FUZZ_SECONDS=300 core/fuzz/run-bounded.sh spec     one target, longer
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

SECONDS_PER_TARGET="${MOORAGE_FUZZ_SECONDS:-20}"
# Per input: a hang is an input that takes longer than this.
INPUT_TIMEOUT="${MOORAGE_FUZZ_INPUT_TIMEOUT:-10}"
export CARGO_TARGET_DIR="${MOORAGE_FUZZ_TARGET_DIR:-$HOME/.cache/moorage/fuzz-target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
ARTIFACTS="$HOME/.cache/moorage/fuzz-artifacts"
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz from crates.io into $HOME/.cargo/bin"
  cargo install cargo-fuzz --locked
fi

# No sanitizer: moorage forbids unsafe code, so what fuzzing finds is panics (debug assertions on:
# overflows panic too) and hangs.
FLAGS=(--sanitizer none --debug-assertions)
echo "building the fuzz targets (cargo +nightly fuzz build, target dir $CARGO_TARGET_DIR)"
cargo +nightly fuzz build "${FLAGS[@]}"

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

passed=0
failed=0
work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
  work="$(mktemp -d)"
  mkdir -p "$work/corpus" "$work/artifacts"
  status=0
  # The first corpus directory is written to (a scratch copy); the seeds are only read.
  cargo +nightly fuzz run "${FLAGS[@]}" "$target" "$work/corpus" "seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout="$INPUT_TIMEOUT" -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 >"$work/log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/log" | tail -n 1)
  corpus=$(find "$work/corpus" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    echo "fuzz $target ... ok (${runs:-?} executions in ${SECONDS_PER_TARGET} s, corpus grew to $corpus inputs)"
  else
    failed=$((failed + 1))
    mkdir -p "$ARTIFACTS/$target"
    cp "$work"/artifacts/* "$ARTIFACTS/$target/" 2>/dev/null || true
    echo "fuzz $target ... FAILED (exit $status after ${runs:-?} executions); inputs kept in $ARTIFACTS/$target"
    grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$work/log" | head -n 20 || tail -n 30 "$work/log"
  fi
  rm -rf "$work"
done

echo "test result: $([ "$failed" -eq 0 ] && echo ok || echo FAILED). $passed passed; $failed failed; 0 ignored; 0 measured; 0 filtered out (fuzz, ${SECONDS_PER_TARGET} s per target)"
[ "$failed" -eq 0 ]
