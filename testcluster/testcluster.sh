#!/usr/bin/env bash
# testcluster.sh: a real Kubernetes control plane for moorage's tests, built from Go modules.
#
#   testcluster.sh build          build kube-apiserver/-controller-manager/-scheduler, kubectl,
#                                 etcd and kwok, generate prometheus-operator's CRDs (or reuse the
#                                 cached builds) and print the bin directory
#   testcluster.sh up [DIR]       build if needed, start everything (state in DIR or a temp dir),
#                                 install the CRDs, wait until it is usable, print the admin
#                                 kubeconfig path
#   testcluster.sh down [--keep-logs] [DIR]
#                                 stop the processes that `up` started, remove the state dir
#                                 (logs are copied to $CACHE_ROOT/last-logs when asked or failed)
#   testcluster.sh env [DIR]      print `export KUBECONFIG=...` for the current cluster
#   testcluster.sh status [DIR]   show the recorded processes and whether they run
#   testcluster.sh stop-component [--kill] NAME [DIR]
#                                 stop one component (etcd, kube-apiserver, kube-controller-manager,
#                                 kube-scheduler, kwok): TERM, or KILL at once with --kill
#   testcluster.sh start-component NAME [DIR]
#                                 start it again with the same arguments and wait until it serves
#   testcluster.sh restart-component [--kill] NAME [DIR]   both (fault-injection tests, S2)
#
# Environment:
#   MOORAGE_TESTCLUSTER_CACHE   cache root (default $HOME/.cache/moorage/testcluster)
#   MOORAGE_TESTCLUSTER_GO_P    `go build -p` (default 2; use 1 on machines short of memory)
#   MOORAGE_TESTCLUSTER_TIMEOUT seconds `up` waits for everything (default 120)
#   MOORAGE_TESTCLUSTER_NODES   number of kwok nodes (default 3)
#   MOORAGE_TESTCLUSTER_REMEMBER=0  `up` does not record its state dir as the current cluster
#   MOORAGE_TESTCLUSTER_GATEWAY_API the Gateway API version whose standard CRDs `up` installs
#                               (default v1.4.1, from the Go module proxy, cached; "none" skips them)
#   MOORAGE_TESTCLUSTER_PROFILING=1 kube-apiserver serves /debug/pprof (bench/p2_profile.sh)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO_DIR="$HERE/go"
CACHE_ROOT="${MOORAGE_TESTCLUSTER_CACHE:-$HOME/.cache/moorage/testcluster}"
CURRENT_FILE="$CACHE_ROOT/current"
LAST_LOGS="$CACHE_ROOT/last-logs"
GO_P="${MOORAGE_TESTCLUSTER_GO_P:-2}"
UP_TIMEOUT="${MOORAGE_TESTCLUSTER_TIMEOUT:-120}"
NODES="${MOORAGE_TESTCLUSTER_NODES:-3}"
GATEWAY_API="${MOORAGE_TESTCLUSTER_GATEWAY_API:-v1.4.1}"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1"
POD_CIDR="10.244.0.0/16"

# The machine starts on its own Go; never let a go.mod line fetch another toolchain silently.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"

log() { printf '[testcluster] %s\n' "$*" >&2; }
die() { printf '[testcluster] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# versions and cache key
# ---------------------------------------------------------------------------------------------
modversion() { # modversion <gomod> <module path>
  sed -n "s#^[[:space:]]*\(require \)\{0,1\}$2 \(v[^ ]*\).*#\2#p" "$1" | head -n1
}

versions() {
  K8S_VERSION="$(modversion "$GO_DIR/k8s/go.mod" k8s.io/kubernetes)"
  ETCD_VERSION="$(modversion "$GO_DIR/etcd/go.mod" go.etcd.io/etcd/server/v3)"
  KWOK_VERSION="$(modversion "$GO_DIR/kwok/go.mod" sigs.k8s.io/kwok)"
  [ -n "$K8S_VERSION" ] && [ -n "$ETCD_VERSION" ] && [ -n "$KWOK_VERSION" ] ||
    die "cannot read versions from $GO_DIR/*/go.mod"
  # The key changes with the versions and with anything that changes what is built:
  # the wrapper modules (go.mod, go.sum, sources), the Go toolchain and the build recipe below.
  local h
  h="$( {
    cat "$GO_DIR"/k8s/go.mod "$GO_DIR"/k8s/go.sum "$GO_DIR"/etcd/go.mod "$GO_DIR"/etcd/go.sum \
      "$GO_DIR"/etcd/*.go "$GO_DIR"/kwok/go.mod "$GO_DIR"/kwok/go.sum
    go env GOVERSION GOARCH GOOS
    echo "recipe-1"
  } | sha256sum | cut -c1-10)"
  CACHE_KEY="${K8S_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}-${h}"
  BUILD_DIR="$CACHE_ROOT/$CACHE_KEY"
  BIN_DIR="$BUILD_DIR/bin"
}

# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------
build_k8s() { # build_k8s <outdir>
  local v="$K8S_VERSION" minor major
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w"
  for p in $pkg $cpkg; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $v (go build -p $GO_P)"
  (cd "$GO_DIR/k8s" && CGO_ENABLED=0 go build -p "$GO_P" -trimpath -ldflags "$ld" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl)
}

build_etcd() {
  log "building etcd $ETCD_VERSION"
  (cd "$GO_DIR/etcd" && CGO_ENABLED=0 go build -p "$GO_P" -trimpath -ldflags "-s -w" -o "$1/etcd" .)
}

build_kwok() {
  log "building kwok $KWOK_VERSION"
  local v="${KWOK_VERSION#v}" kv="${K8S_VERSION#v}"
  (cd "$GO_DIR/kwok" && CGO_ENABLED=0 go build -p "$GO_P" -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$v -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$kv" \
    -o "$1/kwok" sigs.k8s.io/kwok/cmd/kwok)
  # The Stage configurations ship inside the kwok module: take them from the module cache.
  local src
  src="$(cd "$GO_DIR/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  [ -d "$src/kustomize/stage" ] || die "kwok module source not found at $src"
  mkdir -p "$1/../stages"
  cp "$src/kustomize/stage/node/fast/node-initialize.yaml" \
    "$src/kustomize/stage/node/heartbeat/node-heartbeat.yaml" \
    "$src/kustomize/stage/pod/fast/pod-ready.yaml" \
    "$src/kustomize/stage/pod/fast/pod-complete.yaml" \
    "$src/kustomize/stage/pod/fast/pod-delete.yaml" \
    "$1/../stages/"
}

# The CustomResourceDefinitions `up` installs: prometheus-operator's ServiceMonitor, PodMonitor
# and PrometheusRule, generated by controller-gen (sigs.k8s.io/controller-tools, a tool of the
# go/crds module) from the operator's Go types (module .../prometheus-operator/pkg/apis/monitoring),
# as the operator's own release does; and kwok's Logs and ClusterLogs (shipped in the kwok module),
# through which kwok serves a pod's log from a file. Cached apart from the binaries (own key), so
# that adding or bumping them never rebuilds Kubernetes.
CRD_FILES="monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_prometheusrules.yaml"
KWOK_CRD_FILES="kwok.x-k8s.io_logs.yaml kwok.x-k8s.io_clusterlogs.yaml"
CRD_NAMES="crd/servicemonitors.monitoring.coreos.com crd/podmonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com crd/logs.kwok.x-k8s.io crd/clusterlogs.kwok.x-k8s.io"
crd_versions() {
  local h
  h="$( {
    cat "$GO_DIR"/crds/go.mod "$GO_DIR"/crds/go.sum "$GO_DIR"/crds/*.go "$GO_DIR"/kwok/go.mod
    go env GOVERSION GOARCH GOOS
    echo "crd-recipe-2 $CRD_FILES $KWOK_CRD_FILES"
  } | sha256sum | cut -c1-10)"
  CRD_DIR="$CACHE_ROOT/crds-$(modversion "$GO_DIR/crds/go.mod" github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring)-$h"
}

build_crds() {
  crd_versions
  [ -f "$CRD_DIR/complete" ] && return 0
  command -v go >/dev/null || die "go is not installed"
  mkdir -p "$CACHE_ROOT"
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$CACHE_ROOT/crds.lock"
    flock 8
    if [ -f "$CRD_DIR/complete" ]; then exec 8>&-; return 0; fi
  fi
  local tmp="$CRD_DIR.tmp.$$" t0=$SECONDS f
  rm -rf "$tmp"; mkdir -p "$tmp/all"
  log "building controller-gen and generating the prometheus-operator CRDs"
  (cd "$GO_DIR/crds" && CGO_ENABLED=0 go build -p "$GO_P" -trimpath -ldflags "-s -w" -o "$tmp/controller-gen" \
    sigs.k8s.io/controller-tools/cmd/controller-gen) >&2
  (cd "$GO_DIR/crds" && "$tmp/controller-gen" crd:crdVersions=v1 \
    paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 output:crd:dir="$tmp/all") >&2
  for f in $CRD_FILES; do
    [ -s "$tmp/all/$f" ] || die "controller-gen did not write $f"
    cp "$tmp/all/$f" "$tmp/"
  done
  local kwok_src
  kwok_src="$(cd "$GO_DIR/kwok" && go mod download sigs.k8s.io/kwok >&2 && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  for f in $KWOK_CRD_FILES; do
    [ -s "$kwok_src/kustomize/crd/bases/$f" ] || die "$f not found in the kwok module ($kwok_src)"
    cp "$kwok_src/kustomize/crd/bases/$f" "$tmp/"
  done
  rm -rf "$tmp/all" "$tmp/controller-gen"
  echo "seconds=$((SECONDS - t0))" > "$tmp/complete"
  rm -rf "$CRD_DIR"
  mv "$tmp" "$CRD_DIR"
  exec 8>&-
  log "CRDs generated in $((SECONDS - t0)) s: $CRD_DIR"
}

cmd_build() {
  versions
  build_crds
  if [ -f "$BUILD_DIR/complete" ]; then
    log "cached build: $BIN_DIR"
    echo "$BIN_DIR"
    return 0
  fi
  command -v go >/dev/null || die "go is not installed"
  mkdir -p "$CACHE_ROOT"
  # one build at a time per cache root; another process may have finished it meanwhile
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE_ROOT/build.lock"
    flock 9
    if [ -f "$BUILD_DIR/complete" ]; then
      exec 9>&-
      log "cached build: $BIN_DIR"
      echo "$BIN_DIR"
      return 0
    fi
  fi
  local tmp="$BUILD_DIR.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp/bin"
  local t0=$SECONDS
  build_etcd "$tmp/bin"
  build_kwok "$tmp/bin"
  build_k8s "$tmp/bin"
  {
    echo "k8s=$K8S_VERSION"; echo "etcd=$ETCD_VERSION"; echo "kwok=$KWOK_VERSION"
    echo "go=$(go env GOVERSION)"; echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "seconds=$((SECONDS - t0))"
  } > "$tmp/complete"
  rm -rf "$BUILD_DIR" # an incomplete earlier attempt
  mv "$tmp" "$BUILD_DIR"
  exec 9>&-
  log "built in $((SECONDS - t0)) s: $BIN_DIR"
  echo "$BIN_DIR"
}

# The standard-channel Gateway API CRDs (HTTPRoute, Gateway, ...) of version $GATEWAY_API, taken
# from the sigs.k8s.io/gateway-api module zip (Go module proxy) and cached as one YAML stream.
gateway_api_crds() { # prints the path of the cached stream
  local out="$CACHE_ROOT/gateway-api-$GATEWAY_API/standard-crds.yaml"
  if [ ! -s "$out" ]; then
    command -v go >/dev/null || die "go is not installed (needed once to fetch the Gateway API CRDs)"
    local dir
    dir="$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    [ -d "$dir/config/crd/standard" ] || die "Gateway API $GATEWAY_API: no config/crd/standard in the module ($dir)"
    mkdir -p "$(dirname "$out")"
    local f tmp="$out.tmp.$$"
    : > "$tmp"
    for f in "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do
      printf -- '---\n' >> "$tmp"; cat "$f" >> "$tmp"
    done
    mv "$tmp" "$out"
  fi
  echo "$out"
}

install_gateway_api() { # install_gateway_api <kubeconfig> <crds file or empty>
  [ -n "$2" ] || return 0
  local crds="$2"
  wait_for "Gateway API $GATEWAY_API CRDs applied" \
    "$BIN_DIR/kubectl" --kubeconfig "$1" apply --server-side --force-conflicts -f "$crds" -o name
  wait_for "HTTPRoute CRD established" "$BIN_DIR/kubectl" --kubeconfig "$1" wait --timeout=5s \
    --for condition=Established crd/httproutes.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io
}

# ---------------------------------------------------------------------------------------------
# up
# ---------------------------------------------------------------------------------------------
declare -A USED_PORTS=()
# Ports are drawn below the kernel's ephemeral range (ip_local_port_range), so that an outgoing
# connection cannot take one between the check and the bind, and must be unused in any state.
PORT_LO=10000
PORT_HI="$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)"
[ "${PORT_HI:-0}" -gt $((PORT_LO + 1000)) ] 2>/dev/null || PORT_HI=32767
free_port() { # sets FREE_PORT (no subshell, so USED_PORTS keeps track)
  local p i
  for i in $(seq 1 200); do
    p=$(( PORT_LO + (RANDOM * 32768 + RANDOM) % (PORT_HI - PORT_LO) ))
    [ -n "${USED_PORTS[$p]:-}" ] && continue
    if command -v ss >/dev/null 2>&1; then
      [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || continue
    elif (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      continue # something answers there
    fi
    USED_PORTS[$p]=1
    FREE_PORT="$p"
    return 0
  done
  die "no free port found"
}

gen_certs() { # gen_certs <pki dir>: ECDSA P-256 keys everywhere (RSA key generation is slow)
  local d="$1"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=moorage-testcluster-ca" 2>/dev/null
    # name cn org [san]
    issue() {
      local name="$1" cn="$2" org="$3" san="${4:-}" ext="$1.ext"
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name.key" -out "$name.csr" \
        -subj "/CN=$cn${org:+/O=$org}" 2>/dev/null
      {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        if [ -n "$san" ]; then
          echo "extendedKeyUsage=serverAuth,clientAuth"
          echo "subjectAltName=$san"
        else
          echo "extendedKeyUsage=clientAuth"
        fi
      } > "$ext"
      openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -out "$name.crt" -days 3650 -extfile "$ext" 2>/dev/null
      rm -f "$name.csr" "$ext"
    }
    issue apiserver kube-apiserver "" \
      "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    issue admin kubernetes-admin system:masters
    issue controller-manager system:kube-controller-manager ""
    issue scheduler system:kube-scheduler ""
    issue kwok kwok-controller system:masters
    # front-proxy (aggregation layer) CA and client, so that requestheader authn is configured
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout front-proxy-ca.key -out front-proxy-ca.crt \
      -days 3650 -subj "/CN=moorage-testcluster-front-proxy-ca" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout front-proxy-client.key -out front-proxy-client.csr \
      -subj "/CN=front-proxy-client" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > fp.ext
    openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key \
      -CAcreateserial -out front-proxy-client.crt -days 3650 -extfile fp.ext 2>/dev/null
    rm -f front-proxy-client.csr fp.ext
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
}

write_kubeconfig() { # write_kubeconfig <file> <server> <ca> <cert> <key> <user>
  local ca cert key
  ca="$(base64 -w0 < "$3")"; cert="$(base64 -w0 < "$4")"; key="$(base64 -w0 < "$5")"
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: moorage-testcluster
  cluster:
    server: $2
    certificate-authority-data: $ca
contexts:
- name: $6@moorage-testcluster
  context:
    cluster: moorage-testcluster
    user: $6
current-context: $6@moorage-testcluster
users:
- name: $6
  user:
    client-certificate-data: $cert
    client-key-data: $key
EOF
  chmod 600 "$1"
}

start() { # start <name> <binary> args...
  local name="$1" bin="$2"; shift 2
  # The command line is kept so that start-component can start the component again.
  mkdir -p "$STATE/cmd"
  printf '%s\0' "$bin" "$@" > "$STATE/cmd/$name"
  nohup "$bin" "$@" >> "$STATE/logs/$name.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$name $pid $bin" >> "$STATE/pids"
  log "started $name (pid $pid)"
}

show_logs() {
  local f
  for f in "$STATE"/logs/*.log; do
    [ -f "$f" ] || continue
    printf '\n===== %s (last 40 lines) =====\n' "$(basename "$f")" >&2
    tail -n 40 "$f" >&2 || true
  done
}

fail_up() {
  log "FAILED: $*"
  show_logs
  touch "$STATE/failed"
  cmd_down "$STATE" || true
  exit 1
}

check_alive() {
  local name pid bin
  while read -r name pid bin; do
    kill -0 "$pid" 2>/dev/null || fail_up "$name (pid $pid) exited"
  done < "$STATE/pids"
}

wait_for() { # wait_for <description> <command...>: polls until success or the deadline
  local what="$1"; shift
  until "$@" >/dev/null 2>&1; do
    check_alive
    [ "$SECONDS" -lt "$DEADLINE" ] || fail_up "timed out waiting for $what"
    sleep 0.3
  done
  log "$what: ok after $((SECONDS - T0)) s"
}

cmd_up() {
  local dir="${1:-}"
  cmd_build >/dev/null
  versions
  crd_versions
  mkdir -p "$CACHE_ROOT"
  # fetched (once) before anything starts, so that a failure leaves nothing running
  local gateway_crds=""
  [ "$GATEWAY_API" = none ] || gateway_crds="$(gateway_api_crds)"
  if [ -n "$dir" ]; then
    mkdir -p "$dir"; STATE="$(cd "$dir" && pwd)"
    [ -e "$STATE/pids" ] && die "$STATE already holds a cluster (pids file exists)"
  else
    STATE="$(mktemp -d "${TMPDIR:-/tmp}/moorage-testcluster.XXXXXX")"
  fi
  mkdir -p "$STATE/logs" "$STATE/etcd"
  chmod 700 "$STATE/etcd"
  : > "$STATE/pids"
  # run-with-cluster.sh sets MOORAGE_TESTCLUSTER_REMEMBER=0 so that it never replaces the
  # cluster a user started by hand as the "current" one
  if [ "${MOORAGE_TESTCLUSTER_REMEMBER:-1}" != 0 ]; then echo "$STATE" > "$CURRENT_FILE"; fi
  T0=$SECONDS
  DEADLINE=$((SECONDS + UP_TIMEOUT))
  trap 'fail_up "interrupted"' INT TERM

  local etcd_port etcd_peer api_port kcm_port sched_port kwok_port
  free_port; etcd_port=$FREE_PORT
  free_port; etcd_peer=$FREE_PORT
  free_port; api_port=$FREE_PORT
  free_port; kcm_port=$FREE_PORT
  free_port; sched_port=$FREE_PORT
  free_port; kwok_port=$FREE_PORT
  local server="https://127.0.0.1:$api_port" pki="$STATE/pki"
  gen_certs "$pki"
  write_kubeconfig "$STATE/admin.kubeconfig" "$server" "$pki/ca.crt" "$pki/admin.crt" "$pki/admin.key" admin
  write_kubeconfig "$STATE/controller-manager.kubeconfig" "$server" "$pki/ca.crt" \
    "$pki/controller-manager.crt" "$pki/controller-manager.key" system:kube-controller-manager
  write_kubeconfig "$STATE/scheduler.kubeconfig" "$server" "$pki/ca.crt" \
    "$pki/scheduler.crt" "$pki/scheduler.key" system:kube-scheduler
  write_kubeconfig "$STATE/kwok.kubeconfig" "$server" "$pki/ca.crt" "$pki/kwok.crt" "$pki/kwok.key" kwok
  {
    echo "server=$server"; echo "etcd=http://127.0.0.1:$etcd_port"
    echo "k8s=$K8S_VERSION"; echo "etcd_version=$ETCD_VERSION"; echo "kwok=$KWOK_VERSION"
    echo "bin=$BIN_DIR"
  } > "$STATE/cluster.env"
  log "state dir: $STATE ($(( SECONDS - T0 )) s for certificates)"

  start etcd "$BIN_DIR/etcd" \
    --name=default --data-dir="$STATE/etcd" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" \
    --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
    --initial-cluster="default=http://127.0.0.1:$etcd_peer" \
    --initial-cluster-state=new \
    --unsafe-no-fsync=true --quota-backend-bytes=4294967296 --log-level=warn
  wait_for "etcd health" curl -fsS "http://127.0.0.1:$etcd_port/health"

  local profiling=false
  [ "${MOORAGE_TESTCLUSTER_PROFILING:-0}" = 1 ] && profiling=true
  start kube-apiserver "$BIN_DIR/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --client-ca-file="$pki/ca.crt" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --kubelet-client-certificate="$pki/admin.crt" --kubelet-client-key="$pki/admin.key" \
    --kubelet-preferred-address-types=InternalIP \
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$pki/front-proxy-client.crt" \
    --proxy-client-key-file="$pki/front-proxy-client.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --endpoint-reconciler-type=none \
    --allow-privileged=true \
    --enable-priority-and-fairness=false \
    --profiling="$profiling" \
    --v=1
  wait_for "kube-apiserver /readyz" "$BIN_DIR/kubectl" --kubeconfig "$STATE/admin.kubeconfig" get --raw /readyz
  local crd_args=() f
  for f in $CRD_FILES $KWOK_CRD_FILES; do crd_args+=(-f "$CRD_DIR/$f"); done
  wait_for "CRDs created" \
    "$BIN_DIR/kubectl" --kubeconfig "$STATE/admin.kubeconfig" apply --server-side "${crd_args[@]}"
  install_gateway_api "$STATE/admin.kubeconfig" "$gateway_crds"

  start kube-controller-manager "$BIN_DIR/kube-controller-manager" \
    --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$kcm_port" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$pki/sa.key" \
    --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --resource-quota-sync-period=10s \
    --profiling=false \
    --v=1
  start kube-scheduler "$BIN_DIR/kube-scheduler" \
    --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$sched_port" \
    --leader-elect=false --profiling=false --v=1

  # kwok: its kubelet server on 127.0.0.1 (the nodes' InternalIP, which the API server dials for
  # logs) serves a pod's log from the file a Logs/ClusterLogs object names;
  # stages from the kwok module (copied at build time) and this repository's own
  # (testcluster/stages: pod-exit-code makes a Job pod fail with a chosen exit code), fake nodes.
  {
    local f first=1
    for f in "$BUILD_DIR"/stages/*.yaml "$HERE"/stages/*.yaml; do
      [ $first = 1 ] || echo "---"
      first=0
      cat "$f"
    done
  } > "$STATE/kwok-stages.yaml"
  start kwok "$BIN_DIR/kwok" \
    --kubeconfig="$STATE/kwok.kubeconfig" \
    --config="$STATE/kwok-stages.yaml" \
    --manage-all-nodes=true \
    --cidr="$POD_CIDR" \
    --node-ip=127.0.0.1 \
    --enable-crds=Logs,ClusterLogs \
    --node-port="$kwok_port" --server-address="127.0.0.1:$kwok_port" \
    --tls-cert-file="$pki/kwok.crt" --tls-private-key-file="$pki/kwok.key" \
    --node-lease-duration-seconds=40

  local i nodes=""
  for i in $(seq 1 "$NODES"); do
    nodes+="$(cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    topology.kubernetes.io/zone: zone-$(( (i - 1) % 3 + 1 ))
status:
  allocatable:
    cpu: "4"
    memory: 8Gi
    pods: "110"
    ephemeral-storage: 100Gi
  capacity:
    cpu: "4"
    memory: 8Gi
    pods: "110"
    ephemeral-storage: 100Gi
  nodeInfo:
    architecture: amd64
    kubeletVersion: fake
    kubeProxyVersion: fake
    operatingSystem: linux
EOF
)"$'\n'
  done
  echo "$nodes" > "$STATE/nodes.yaml"
  wait_for "nodes created" "$BIN_DIR/kubectl" --kubeconfig "$STATE/admin.kubeconfig" create -f "$STATE/nodes.yaml"
  wait_for "$NODES nodes Ready" nodes_ready
  wait_for "ServiceAccount default/default" \
    "$BIN_DIR/kubectl" --kubeconfig "$STATE/admin.kubeconfig" -n default get serviceaccount default
  # shellcheck disable=SC2086 # CRD_NAMES is a list
  wait_for "CRDs established" \
    "$BIN_DIR/kubectl" --kubeconfig "$STATE/admin.kubeconfig" wait --for=condition=Established --timeout=1s $CRD_NAMES
  trap - INT TERM
  log "cluster up in $((SECONDS - T0)) s ($K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  log "export KUBECONFIG=$STATE/admin.kubeconfig"
  echo "$STATE/admin.kubeconfig"
}

nodes_ready() {
  local n
  n="$("$BIN_DIR/kubectl" --kubeconfig "$STATE/admin.kubeconfig" get nodes \
    -o jsonpath='{range .items[*]}{range .status.conditions[?(@.type=="Ready")]}{.status}{"\n"}{end}{end}' \
    | grep -c '^True$')" || return 1
  [ "$n" -ge "$NODES" ]
}

# ---------------------------------------------------------------------------------------------
# down / env / status
# ---------------------------------------------------------------------------------------------
resolve_state() { # resolve_state [DIR]
  if [ -n "${1:-}" ]; then
    STATE="$(cd "$1" 2>/dev/null && pwd)" || die "no such state dir: $1"
  else
    [ -f "$CURRENT_FILE" ] || die "no current cluster (no $CURRENT_FILE)"
    STATE="$(cat "$CURRENT_FILE")"
    [ -d "$STATE" ] || die "current cluster state dir $STATE is gone"
  fi
}

is_ours() { # is_ours <pid> <binary>: the pid still runs the binary we started
  local exe
  exe="$(readlink "/proc/$1/exe" 2>/dev/null)" || return 1
  [ "${exe% (deleted)}" = "$2" ]
}

cmd_down() {
  local keep=0 arg dir=""
  for arg in "$@"; do
    case "$arg" in
      --keep-logs) keep=1 ;;
      *) dir="$arg" ;;
    esac
  done
  resolve_state "$dir"
  [ -f "$STATE/pids" ] || die "$STATE has no pids file: not a testcluster state dir"
  local name pid bin i
  # stop one by one in reverse start order (the API server before etcd), TERM then KILL
  while read -r name pid bin; do
    is_ours "$pid" "$bin" || continue
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      is_ours "$pid" "$bin" || break
      sleep 0.2
    done
    if is_ours "$pid" "$bin"; then
      log "$name (pid $pid) did not stop on TERM within 10 s: killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < <(tac "$STATE/pids")
  if [ $keep = 1 ] || [ -e "$STATE/failed" ]; then
    rm -rf "$LAST_LOGS"; mkdir -p "$LAST_LOGS"
    cp -r "$STATE/logs/." "$LAST_LOGS/" 2>/dev/null || true
    cp "$STATE/cluster.env" "$LAST_LOGS/" 2>/dev/null || true
    log "logs kept in $LAST_LOGS"
  fi
  case "$STATE" in
    /|"$HOME"|"") die "refusing to remove $STATE" ;;
  esac
  rm -rf "$STATE"
  if [ -f "$CURRENT_FILE" ] && [ "$(cat "$CURRENT_FILE")" = "$STATE" ]; then rm -f "$CURRENT_FILE"; fi
  log "stopped; removed $STATE"
}

cmd_env() {
  resolve_state "${1:-}"
  echo "export KUBECONFIG=$STATE/admin.kubeconfig"
}

cmd_status() {
  resolve_state "${1:-}"
  echo "state: $STATE"
  cat "$STATE/cluster.env"
  local name pid bin
  while read -r name pid bin; do
    if is_ours "$pid" "$bin"; then echo "$name pid $pid running"; else echo "$name pid $pid NOT running"; fi
  done < "$STATE/pids"
}

# ---------------------------------------------------------------------------------------------
# stop-component / start-component / restart-component (fault injection)
# ---------------------------------------------------------------------------------------------
component_pid() { # component_pid <name>: the recorded pid of a component (its latest start)
  awk -v n="$1" '$1 == n { pid = $2 } END { if (pid) print pid }' "$STATE/pids"
}

cmd_stop_component() {
  local signal=TERM name="" dir="" arg
  for arg in "$@"; do
    case "$arg" in
      --kill) signal=KILL ;;
      *) if [ -z "$name" ]; then name="$arg"; else dir="$arg"; fi ;;
    esac
  done
  [ -n "$name" ] || die "usage: stop-component [--kill] NAME [DIR]"
  resolve_state "$dir"
  local pid bin i
  pid="$(component_pid "$name")"
  [ -n "$pid" ] || die "no component $name in $STATE/pids"
  bin="$(awk -v n="$name" '$1 == n { bin = $3 } END { print bin }' "$STATE/pids")"
  if ! is_ours "$pid" "$bin"; then log "$name (pid $pid) is not running"; return 0; fi
  kill -"$signal" "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    is_ours "$pid" "$bin" || break
    sleep 0.1
  done
  if is_ours "$pid" "$bin"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  log "stopped $name (pid $pid, SIG$signal)"
}

component_serves() { # component_serves <name>: the component answers its health check
  local server etcd bin
  server="$(sed -n 's/^server=//p' "$STATE/cluster.env")"
  etcd="$(sed -n 's/^etcd=//p' "$STATE/cluster.env")"
  bin="$(sed -n 's/^bin=//p' "$STATE/cluster.env")"
  case "$1" in
    etcd) curl -fsS "$etcd/health" ;;
    kube-apiserver) "$bin/kubectl" --kubeconfig "$STATE/admin.kubeconfig" get --raw /readyz ;;
    *) kill -0 "$(component_pid "$1")" ;;
  esac
}

cmd_start_component() {
  local name="${1:-}"
  [ -n "$name" ] || die "usage: start-component NAME [DIR]"
  resolve_state "${2:-}"
  [ -f "$STATE/cmd/$name" ] || die "no recorded command line for $name in $STATE/cmd"
  local pid bin
  pid="$(component_pid "$name")"
  bin="$(awk -v n="$name" '$1 == n { bin = $3 } END { print bin }' "$STATE/pids")"
  if [ -n "$pid" ] && is_ours "$pid" "$bin"; then log "$name (pid $pid) is already running"; return 0; fi
  local -a argv=()
  mapfile -d '' argv < "$STATE/cmd/$name"
  nohup "${argv[@]}" >> "$STATE/logs/$name.log" 2>&1 < /dev/null &
  pid=$!
  # The new pid replaces the old one in place: `down` keeps stopping in reverse start order.
  awk -v n="$name" -v p="$pid" '$1 == n { $2 = p } { print }' "$STATE/pids" > "$STATE/pids.new" && mv "$STATE/pids.new" "$STATE/pids"
  local t0=$SECONDS
  until component_serves "$name" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited; see $STATE/logs/$name.log"
    [ $((SECONDS - t0)) -lt "$UP_TIMEOUT" ] || die "$name did not serve within $UP_TIMEOUT s"
    sleep 0.2
  done
  log "started $name again (pid $pid), serving after $((SECONDS - t0)) s"
}

cmd_restart_component() {
  local kill="" name="" dir="" arg
  for arg in "$@"; do
    case "$arg" in
      --kill) kill=--kill ;;
      *) if [ -z "$name" ]; then name="$arg"; else dir="$arg"; fi ;;
    esac
  done
  cmd_stop_component $kill "$name" $dir
  cmd_start_component "$name" $dir
}

# Everything runs from main, called on the last line together with exit: bash has then parsed
# the whole file, so editing this script while a cluster starts cannot break the running one.
main() {
  case "${1:-}" in
    build) shift; cmd_build "$@" ;;
    up) shift; cmd_up "$@" ;;
    down) shift; cmd_down "$@" ;;
    env) shift; cmd_env "$@" ;;
    status) shift; cmd_status "$@" ;;
    stop-component) shift; cmd_stop_component "$@" ;;
    start-component) shift; cmd_start_component "$@" ;;
    restart-component) shift; cmd_restart_component "$@" ;;
    *) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
}

main "$@"; exit $?
