#!/usr/bin/env bash
# moorage's one test command: installs what the tests need, builds and starts the real test control
# plane (testcluster/), runs every test against the embedded simulated cluster and the real control
# plane, runs the examples, and stops the control plane even when tests fail.
#
#   ./test.sh            everything (what CI runs through .ci/run)
#   ./test.sh --no-cluster   only what needs no control plane (quick local loop; CI never uses it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$(pwd)"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/moorage/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
# Two cores: keep the test binaries from fighting over them.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-2}"

step() { printf '\n==> %s\n' "$*"; }

install_prerequisites() {
  step "checking prerequisites"
  local missing=()
  for tool in cargo go openssl curl ss python3 node npm; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "missing tools: ${missing[*]}; installing the Debian packages that provide them where possible"
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq openssl curl iproute2 python3 python3-venv >/dev/null
      command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt-get install -y -qq nodejs npm >/dev/null
    fi
    for tool in cargo go; do
      command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is required (Rust via rustup, Go >= 1.26)" >&2; exit 1; }
    done
  fi
  # The analysis tests run a real Prometheus on loopback (tests/src/prometheus.rs starts the binary
  # itself with a config of its own; the Debian service is never started).
  if ! command -v prometheus >/dev/null 2>&1; then
    echo "installing Debian's prometheus (the analysis tests start it on loopback)"
    if command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) \
        || echo "warning: prometheus could not be installed; the Prometheus analysis tests will fail where a cluster is required" >&2
      # The package's service is not wanted: the tests run their own servers.
      if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
    fi
  fi
  cargo --version
  go version
  echo "node $(node --version), npm $(npm --version)"
  prometheus --version 2>/dev/null | head -1 || true
}

# Runs one lint command, its output cut to its last 40 lines; fails when the command fails.
lint() {
  "$@" 2>&1 | tail -n 40
  return "${PIPESTATUS[0]}"
}

run_tests() {
  local failed=0
  local log
  log="$(mktemp)"
  step "Rust: cargo clippy -D warnings (the lint gate: every crate and target; the bindings' libraries)"
  if ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add clippy || echo "error: cargo clippy is missing and could not be installed" >&2
  fi
  # A lint failure counts as one failed test in the summary. The bindings are linted as libraries
  # only: they have no Rust test targets (test = false), and napi-rs's macros register nothing
  # under cfg(test), which would make every exported function look unused.
  lint cargo clippy --workspace --all-targets --exclude moorage-node --exclude moorage-python -- -D warnings || failed=1
  lint cargo clippy -p moorage-node -p moorage-python -- -D warnings || failed=1

  step "Rust: cargo fmt --check (rustfmt.toml), the core crate's features one at a time (clippy -D warnings), its docs (rustdoc -D warnings)"
  if ! cargo fmt --version >/dev/null 2>&1; then
    rustup component add rustfmt || echo "error: cargo fmt is missing and could not be installed" >&2
  fi
  lint cargo fmt --all --check || failed=1
  lint cargo fmt --manifest-path core/fuzz/Cargo.toml --check || failed=1
  # The library picks no Kubernetes version (its users do): v1_36 here, as the bindings and tests.
  for features in "" cluster analysis-http; do
    lint cargo clippy -p moorage --no-default-features --features "k8s-openapi/v1_36${features:+,$features}" -- -D warnings || failed=1
  done
  # The public crate's API docs: no broken or ambiguous intra-doc link.
  lint env RUSTDOCFLAGS="-D warnings" cargo doc -p moorage --no-deps --features k8s-openapi/v1_36 || failed=1

  step "Rust: cargo test --workspace (simulated cluster${MOORAGE_TEST_KUBECONFIG:+ and the real control plane})"
  cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || failed=1
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1

  if [ -x bindings-python/test.sh ]; then
    step "Python bindings: pip install ./bindings-python, stubtest, pytest${MOORAGE_TEST_KUBECONFIG:+ (with the real control plane)}, examples/python"
    # Its pytest counts come out as a cargo-style "test result" line, which the summary adds up.
    bindings-python/test.sh 2>&1 | tee -a "$log" || failed=1
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
  fi

  if [ -x bindings-node/test.sh ]; then
    step "Node bindings: npm ci in bindings-node (napi build), index.d.ts check, tsc, node --test${MOORAGE_TEST_KUBECONFIG:+ (with the real control plane)}, examples/node"
    # Its node --test counts come out as a cargo-style "test result" line, which the summary adds up.
    bindings-node/test.sh 2>&1 | tee -a "$log" || failed=1
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
  fi

  if [ -x core/fuzz/run-bounded.sh ]; then
    step "fuzzing: core/fuzz/run-bounded.sh (every cargo-fuzz target for ${MOORAGE_FUZZ_SECONDS:-20} s; a panic or a hang fails)"
    # Its per-target results come out as one cargo-style "test result" line, which the summary adds up.
    core/fuzz/run-bounded.sh 2>&1 | tee -a "$log" || failed=1
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
  fi

  step "examples (each one runs)"
  for example in $(sed -n 's/^name = "\(.*\)"$/\1/p' examples/Cargo.toml | grep -v '^moorage-examples$'); do
    echo "--- example $example"
    cargo run -q -p moorage-examples --example "$example" >/tmp/moorage-example-"$example".log 2>&1 || { failed=1; cat /tmp/moorage-example-"$example".log; echo "example $example FAILED"; }
    tail -n 3 /tmp/moorage-example-"$example".log
  done

  # One closing line for the whole run: every test binary's counts added up (a failed build,
  # install or example step counts as one failure, so the line can never read as a success).
  local passed failures
  passed=$(sed -n 's/^test result: .* \([0-9]*\) passed; .*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  failures=$(sed -n 's/^test result: .* \([0-9]*\) failed; .*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  rm -f "$log"
  if [ "$failed" -ne 0 ] && [ "$failures" -eq 0 ]; then
    failures=1
  fi
  if [ -n "${MOORAGE_SUMMARY_FILE:-}" ]; then
    echo "$passed passed, $failures failed" >"$MOORAGE_SUMMARY_FILE"
  else
    step "summary"
    echo "$passed passed, $failures failed"
  fi
  return "$failed"
}

case "${1:-}" in
  --inner)
    run_tests
    ;;
  --no-cluster)
    install_prerequisites
    unset MOORAGE_TEST_KUBECONFIG
    run_tests
    ;;
  "")
    install_prerequisites
    export MOORAGE_REQUIRE_CLUSTER=1
    step "test control plane: build (cached after the first time) and start"
    MOORAGE_SUMMARY_FILE="$(mktemp)"
    export MOORAGE_SUMMARY_FILE
    status=0
    "$ROOT/testcluster/run-with-cluster.sh" "$ROOT/test.sh" --inner || status=$?
    step "summary (Rust tests against the simulated cluster and the real control plane)"
    if [ -s "$MOORAGE_SUMMARY_FILE" ]; then cat "$MOORAGE_SUMMARY_FILE"; else echo "0 passed, 1 failed"; fi
    rm -f "$MOORAGE_SUMMARY_FILE"
    exit "$status"
    ;;
  *)
    echo "usage: $0 [--no-cluster]" >&2
    exit 2
    ;;
esac
