#!/usr/bin/env bash
# Where a Node program's fixed cost goes, before and after its work (P5's whole-process gap):
# the median wall time of a bare `node -e 0`, of loading the native module alone
# (`process.dlopen`), of napi-rs's generated loader (`require('./index.js')`), of the package
# (`require('./moorage.js')`, what users load), and of the same package imported from an ES module,
# each once per round, in rotated order, ROUNDS rounds. Run without NODE_EXTRA_CA_CERTS (Node
# parses that bundle at every start), and with it when this environment sets it.
#   bench/node_startup.sh [ROUNDS]      (after bindings-node/test.sh or `npm install` in bindings-node)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS="${1:-21}"
PKG="$PWD/bindings-node"
NATIVE="$(ls "$PKG"/moorage.*.node | head -1)"
ESM="$(mktemp -d)"
trap 'rm -rf "$ESM"' EXIT
echo "import '$PKG/moorage.js'" > "$ESM/load.mjs"
names=(bare native loader package package_esm)
cmds=(
  "node -e 0"
  "node -e process.dlopen({exports:{}},'$NATIVE')"
  "node -e require('$PKG/index.js')"
  "node -e require('$PKG/moorage.js')"
  "node $ESM/load.mjs"
)
measure() { # $1: label; runs every command ROUNDS times, rotated; prints medians in ms
  local -A times=()
  for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < ${#cmds[@]}; k++)); do
      local i=$(((k + r) % ${#cmds[@]}))
      local s=$EPOCHREALTIME
      ${cmds[$i]} > /dev/null
      local e=$EPOCHREALTIME
      times[${names[$i]}]+="$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f ", (e - s) * 1000 }')"
    done
  done
  local line="node_startup $1 rounds=$ROUNDS"
  for n in "${names[@]}"; do
    line+=" ${n}_ms=$(tr ' ' '\n' <<< "${times[$n]}" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
  done
  echo "$line"
}
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  measure with_extra_ca_certs
fi
(unset NODE_EXTRA_CA_CERTS; measure without_extra_ca_certs)
echo "node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
