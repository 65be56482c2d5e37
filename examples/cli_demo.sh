#!/usr/bin/env bash
# The blue/green demo driven through the `moorage` CLI on the embedded simulated cluster, its state in
# a temporary file so that every command sees the same cluster.
#
#   examples/cli_demo.sh                         builds and runs the CLI with cargo
#   MOORAGE_BIN=path/to/moorage examples/cli_demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export MOORAGE_STATE="$work/cluster.json"
if [ -n "${MOORAGE_BIN:-}" ]; then
  moorage() { "$MOORAGE_BIN" --simulated "$@"; }
else
  moorage() { cargo run -q -p moorage-cli -- --simulated "$@"; }
fi
say() { printf '\n### %s\n' "$*"; }

specs=examples/specs
say "blue: the tenant and its web server (3 pods behind one Service)"
moorage apply -f "$specs/acme.tenant.yaml" -f "$specs/webserver-blue.release.yaml"

say "green, planned: a second Deployment, and the stable Service's selector moves from blue to green"
moorage plan -f "$specs/webserver-green.release.yaml"

say "green, rolled out: refused before anything is created, the quota cannot hold both versions"
code=0
moorage rollout -f "$specs/webserver-green.release.yaml" || code=$?
[ "$code" -eq 4 ] || { echo "expected exit code 4 (refused by policy), got $code" >&2; exit 1; }

say "the operator raises the quota in the tenant spec (limits.cpu 1 -> 2, limits.memory 512Mi -> 1Gi, pods 6 -> 12)"
sed -e 's/    cpu: "1"/    cpu: "2"/; s/    memory: 512Mi/    memory: 1Gi/; s/    cpu: 500m/    cpu: "1"/; s/    memory: 256Mi/    memory: 512Mi/; s/  pods: 6/  pods: 12/' \
  "$specs/acme.tenant.yaml" >"$work/acme.tenant.yaml"
moorage plan -f "$work/acme.tenant.yaml"
moorage apply -f "$work/acme.tenant.yaml"

say "green, rolled out: traffic switches the moment green is ready; blue stays warm, then scales down"
moorage rollout -f "$specs/webserver-green.release.yaml"
moorage status acme webserver

say "deleting green while it serves is what gave the 503; here a rollback moves traffic back first"
moorage rollback acme webserver
moorage history acme webserver
moorage status acme
