#!/usr/bin/env bash
# Brings up the local control plane the tests run on (see docs TESTENV.md):
#   etcd, two kube-apiservers on it (the second with --watch-cache=false, for
#   the 410 Gone test), kube-controller-manager, kube-scheduler, kwok with one
#   fake node, a test-controlled metrics exporter and Prometheus scraping it,
#   and a real node (containerd, kubelet, kube-proxy; hack/node/lib.sh) where
#   the machine can run containers. MLOPS_REAL_NODE=off leaves it out.
# Everything listens on 127.0.0.1 on ports picked free at start.
#
# Idempotent: when the plane recorded in .cluster/ is running and healthy it is
# reused and the script returns at once; otherwise leftovers are stopped and a
# fresh plane is started. On success .cluster/env holds KEY=value lines (shell
# syntax) for the tests: `set -a; . .cluster/env; set +a`.
set -euo pipefail

# shellcheck source=SCRIPTDIR/plane/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/plane/lib.sh"
# shellcheck source=SCRIPTDIR/versions.sh
source "$PLANE_HACK/versions.sh"
# shellcheck source=SCRIPTDIR/node/lib.sh
source "$PLANE_HACK/node/lib.sh"

NODE_NAME=kwok-node-0
# Timeouts (seconds). Cold starts on a 2-core machine take a few seconds per
# component; these bounds are generous so a loaded CI runner still passes, but
# a hang fails with a clear message instead of blocking the build.
T_ETCD=30 T_APISERVER=90 T_COMPONENT=60 T_NODE=60 T_PROM=60

START=$SECONDS

# --- prerequisites ---------------------------------------------------------

# Debian packages the plane needs; installed when missing (CI runs as root on a
# fresh machine, see TESTENV.md "How tests use it").
ensure_packages() {
  local missing=() cmd pkg
  for pair in prometheus:prometheus openssl:openssl python3:python3 curl:curl flock:util-linux setsid:util-linux; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    plane_die "missing commands from Debian packages: ${missing[*]} (install them, e.g. apt-get install -y ${missing[*]})"
  fi
  plane_log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The package index may be absent on a fresh image; refresh only on failure.
  apt-get install -y --no-install-recommends "${missing[@]}" ||
    { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
}

# --- health of an existing plane -------------------------------------------

# curl with short timeouts; client certificate of the admin identity.
admin_curl() {
  curl -fsS --max-time 3 --cacert "$PKI_DIR/ca.crt" \
    --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" "$@"
}
http_ok() { curl -fsS --max-time 3 -o /dev/null "$1"; }

# Fingerprint of everything that shapes the plane (this script, its support
# files, the pinned versions): a plane started from other versions of them is
# replaced rather than reused, so an edit to e.g. the kwok stages takes effect
# on the next `make cluster-up`.
plane_fingerprint() {
  cat "$PLANE_HACK/cluster-up.sh" "$PLANE_HACK/versions.sh" "$PLANE_HACK"/plane/* \
    "$PLANE_HACK"/node/* |
    sha256sum | cut -c1-16
}

# True when every component recorded in .cluster/ is alive and answering, and
# the plane was started from the current scripts and binaries.
plane_healthy() {
  [ -f "$ENV_FILE" ] || return 1
  local name
  for name in "${PLANE_COMPONENTS[@]}"; do
    component_alive "$name" || return 1
  done
  (
    set +u
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    [ "$TOOLS_BIN" = "$EXPECTED_TOOLS_BIN" ] || exit 1
    [ "${PLANE_FINGERPRINT:-}" = "$(plane_fingerprint)" ] || exit 1
    if [ -z "${MLOPS_REAL_NODE_UNAVAILABLE:-}" ]; then
      for name in "${REAL_NODE_COMPONENTS[@]}"; do
        component_alive "$name" || exit 1
      done
      kubelet_healthy "$REAL_NODE_KUBELET_HEALTHZ_PORT" || exit 1
    fi
    http_ok "$ETCD_ENDPOINTS/health" &&
      admin_curl -o /dev/null "$APISERVER_URL/readyz" &&
      admin_curl -o /dev/null "$APISERVER_NO_WATCH_CACHE_URL/readyz" &&
      http_ok "$KWOK_URL/healthz" &&
      http_ok "$METRICS_EXPORTER_URL/healthz" &&
      http_ok "$PROMETHEUS_URL/-/ready"
  )
}

# --- fresh start helpers ---------------------------------------------------

# Picks N distinct free TCP ports on 127.0.0.1 by binding port 0 N times at once
# and releasing them. A port could in theory be taken by someone else before
# the component binds it; the component then fails to start and the error says
# so (re-running cluster-up picks new ports).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# Issues a certificate signed by the plane CA.
#   issue_cert NAME SUBJECT EXTENSIONS
issue_cert() {
  local name=$1 subject=$2 ext=$3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
    -keyout "$PKI_DIR/$name.key" -out "$PKI_DIR/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile <(printf '%s\n' "$ext") -out "$PKI_DIR/$name.crt" 2>/dev/null
  rm -f "$PKI_DIR/$name.csr"
}

# ECDSA P-256 keys throughout: generating them is instant, where RSA keys cost
# seconds on a busy 2-core machine; Kubernetes and OpenSSL clients accept both.
make_pki() {
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -sha256 \
    -subj "/CN=mlops-operator-local-plane-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$PKI_DIR/ca.key" -out "$PKI_DIR/ca.crt" 2>/dev/null
  local client="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  # The leaf keys are independent: generate them in parallel (2 cores).
  issue_cert apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" &
  # The admin user, and kube-controller-manager and kwok, are in the
  # system:masters group (full access). The scheduler has its own identity,
  # which Kubernetes' bootstrap RBAC policy already grants what it needs.
  issue_cert admin "/O=system:masters/CN=mlops-admin" "$client" &
  issue_cert controller-manager "/O=system:masters/CN=system:kube-controller-manager" "$client" &
  issue_cert scheduler "/CN=system:kube-scheduler" "$client" &
  issue_cert kwok "/O=system:masters/CN=kwok-controller" "$client" &
  # The real node: the kubelet's own identity (Node authorizer), its serving
  # certificate on the bridge address, kube-proxy (bound to
  # system:node-proxier by the bootstrap policy), and the API server's client
  # for kubelets (logs, exec).
  issue_cert kubelet "/O=system:nodes/CN=system:node:$REAL_NODE_NAME" "$client" &
  issue_cert kubelet-serving "/CN=$REAL_NODE_NAME" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$REAL_NODE_IP,DNS:$REAL_NODE_NAME" &
  issue_cert kube-proxy "/CN=system:kube-proxy" "$client" &
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client" &
  # Service-account token signing key pair (tokens are signed ES256).
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$PKI_DIR/sa.key" 2>/dev/null &&
    openssl pkey -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null &
  local pid
  for pid in $(jobs -p); do wait "$pid" || plane_die "certificate generation failed"; done
}

# write_kubeconfig FILE SERVER_URL USER: a self-contained kubeconfig (data
# embedded) so it can be copied or mounted anywhere.
write_kubeconfig() {
  local file=$1 server=$2 user=$3
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mlops-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$PKI_DIR/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$PKI_DIR/$user.crt")
    client-key-data: $(base64 -w0 <"$PKI_DIR/$user.key")
contexts:
- name: mlops-local
  context:
    cluster: mlops-local
    user: $user
current-context: mlops-local
EOF
  chmod 600 "$file"
}

# --shutdown-watch-termination-grace-period: on SIGTERM the server otherwise
# leaves open watches alone and only exits when its 60s shutdown timeout
# expires; with it, watches are ended within 2s and a restart takes seconds.
# --endpoint-reconciler-type=none: the default reconciler publishes the
# server's address as the endpoints of Service default/kubernetes, and the
# loopback address is rejected by validation (an error every 10s). Nothing on
# the plane reaches the API through that Service.
apiserver_args() { # PORT EXTRA...
  local port=$1
  shift
  printf '%s\n' "$TOOLS_BIN/kube-apiserver" \
    "--etcd-servers=http://127.0.0.1:$P_ETCD" \
    "--bind-address=127.0.0.1" \
    "--advertise-address=127.0.0.1" \
    "--secure-port=$port" \
    "--tls-cert-file=$PKI_DIR/apiserver.crt" \
    "--tls-private-key-file=$PKI_DIR/apiserver.key" \
    "--client-ca-file=$PKI_DIR/ca.crt" \
    "--service-cluster-ip-range=10.0.0.0/24" \
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local" \
    "--service-account-key-file=$PKI_DIR/sa.pub" \
    "--service-account-signing-key-file=$PKI_DIR/sa.key" \
    "--authorization-mode=Node,RBAC" \
    "--enable-admission-plugins=NodeRestriction" \
    "--kubelet-preferred-address-types=InternalIP" \
    "--kubelet-client-certificate=$PKI_DIR/apiserver-kubelet-client.crt" \
    "--kubelet-client-key=$PKI_DIR/apiserver-kubelet-client.key" \
    "--kubelet-certificate-authority=$PKI_DIR/ca.crt" \
    "--profiling=false" \
    "--endpoint-reconciler-type=none" \
    "--shutdown-watch-termination-grace-period=2s" \
    "$@"
}

# --- main ------------------------------------------------------------------

case "${1:-}" in
  "") ;;
  --check)
    # Read-only: exit 0 when a healthy plane is running (reusable), 1 otherwise.
    # Starts nothing, builds nothing (hack/test.sh uses it to learn whether it
    # is the one starting the plane, and so the one to stop it).
    EXPECTED_TOOLS_BIN="$TOOLS_BIN"
    if plane_healthy; then
      plane_log "plane in $CLUSTER_DIR is up and healthy"
      exit 0
    fi
    plane_log "no healthy plane in $CLUSTER_DIR"
    exit 1
    ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    echo "Usage: hack/cluster-up.sh [--check]"
    exit 0
    ;;
  *) plane_die "unknown argument: $1 (usage: hack/cluster-up.sh [--check])" ;;
esac

ensure_packages
# Builds (or finds cached) etcd, Kubernetes, kwok, helm; instant when cached.
"$PLANE_HACK/build-tools.sh"
EXPECTED_TOOLS_BIN="$TOOLS_BIN"
for b in etcd etcdctl kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [ -x "$TOOLS_BIN/$b" ] || plane_die "$TOOLS_BIN/$b missing after hack/build-tools.sh"
done
KUBECTL="$TOOLS_BIN/kubectl"

plane_lock

if plane_healthy; then
  plane_log "plane in $CLUSTER_DIR is up and healthy; reusing it ($((SECONDS - START))s)"
  exit 0
fi

if [ -f "$ENV_FILE" ] || compgen -G "$PID_DIR/*" >/dev/null; then
  plane_log "plane in $CLUSTER_DIR is not healthy or incomplete; replacing it"
fi
real_node_down
stop_all_components
# Fresh state; everything below CLUSTER_DIR except the lock we hold is ours
# (the real node's directory was cleaned by real_node_down: it may hold mounts).
rm -rf "${CLUSTER_DIR:?}/env" "$PID_DIR" "$CMD_DIR" "$PKI_DIR" "$LOG_DIR" \
  "$CLUSTER_DIR/etcd" "$CLUSTER_DIR/prometheus" "$CLUSTER_DIR/prometheus-sd" \
  "$CLUSTER_DIR/artifacts" "$CLUSTER_DIR"/*.kubeconfig "$CLUSTER_DIR/prometheus.yml"
mkdir -p "$LOG_DIR" "$PID_DIR" "$CMD_DIR"
# If anything below fails, the half-started plane is taken down again so no
# process is left behind; the logs stay for inspection.
cleanup_on_failure() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    plane_log "start failed; stopping what was started (logs kept in $LOG_DIR)"
    real_node_down || true
    stop_all_components || true
    rm -f "$ENV_FILE"
  fi
}
trap cleanup_on_failure EXIT

read -r P_ETCD P_ETCD_PEER P_API P_API2 P_KCM P_SCHED P_KWOK P_PROM P_EXPORTER \
  P_KUBELET_HEALTHZ P_KUBE_PROXY_HEALTHZ P_KUBE_PROXY_METRICS <<<"$(free_ports 12)"
plane_log "ports: etcd $P_ETCD, apiserver $P_API, apiserver(no watch cache) $P_API2, prometheus $P_PROM, exporter $P_EXPORTER"

plane_log "generating certificates"
make_pki
API_URL="https://127.0.0.1:$P_API"
API2_URL="https://127.0.0.1:$P_API2"
write_kubeconfig "$CLUSTER_DIR/admin.kubeconfig" "$API_URL" admin
write_kubeconfig "$CLUSTER_DIR/admin-no-watch-cache.kubeconfig" "$API2_URL" admin
write_kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" "$API_URL" controller-manager
write_kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" "$API_URL" scheduler
write_kubeconfig "$CLUSTER_DIR/kwok.kubeconfig" "$API_URL" kwok
write_kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" "$API_URL" kubelet
write_kubeconfig "$CLUSTER_DIR/kube-proxy.kubeconfig" "$API_URL" kube-proxy

# etcd: plain HTTP is fine on loopback. --unsafe-no-fsync: test data is
# disposable and fsync dominates write latency on CI disks.
plane_log "starting etcd"
start_component etcd "$TOOLS_BIN/etcd" \
  --name=plane \
  --data-dir="$CLUSTER_DIR/etcd" \
  --listen-client-urls="http://127.0.0.1:$P_ETCD" \
  --advertise-client-urls="http://127.0.0.1:$P_ETCD" \
  --listen-peer-urls="http://127.0.0.1:$P_ETCD_PEER" \
  --initial-advertise-peer-urls="http://127.0.0.1:$P_ETCD_PEER" \
  --initial-cluster="plane=http://127.0.0.1:$P_ETCD_PEER" \
  --unsafe-no-fsync \
  --log-level=warn

# The exporter and Prometheus do not depend on the API; start them now so they
# warm up while the API server boots.
plane_log "starting metrics exporter and prometheus"
start_component metrics-exporter python3 "$PLANE_HACK/plane/metrics_exporter.py" \
  --host 127.0.0.1 --port "$P_EXPORTER"
# The operator scrape job's targets: none until a test writes its operator's
# address (tests/e2e/dashboard_e2e_test.cc).
OPERATOR_TARGETS_FILE="$CLUSTER_DIR/prometheus-sd/operator-targets.json"
# The model servers on the real node (hack/plane/serving_sd.py keeps it
# current once the API is up).
SERVING_TARGETS_FILE="$CLUSTER_DIR/prometheus-sd/serving-targets.json"
mkdir -p "$CLUSTER_DIR/prometheus" "$CLUSTER_DIR/prometheus-sd"
echo '[]' >"$OPERATOR_TARGETS_FILE"
echo '[]' >"$SERVING_TARGETS_FILE"
sed -e "s|@EXPORTER_ADDRESS@|127.0.0.1:$P_EXPORTER|" \
  -e "s|@OPERATOR_TARGETS_FILE@|$OPERATOR_TARGETS_FILE|" \
  -e "s|@SERVING_TARGETS_FILE@|$SERVING_TARGETS_FILE|" \
  "$PLANE_HACK/plane/prometheus.yml.in" >"$CLUSTER_DIR/prometheus.yml"
start_component prometheus prometheus \
  --config.file="$CLUSTER_DIR/prometheus.yml" \
  --storage.tsdb.path="$CLUSTER_DIR/prometheus" \
  --storage.tsdb.retention.time=1d \
  --web.listen-address="127.0.0.1:$P_PROM" \
  --web.enable-admin-api \
  --log.level=warn

wait_until etcd "$T_ETCD" "etcd health on 127.0.0.1:$P_ETCD" http_ok "http://127.0.0.1:$P_ETCD/health"
plane_log "etcd ready"

plane_log "starting kube-apiserver"
mapfile -t api_argv < <(apiserver_args "$P_API")
start_component kube-apiserver "${api_argv[@]}"
wait_until kube-apiserver "$T_APISERVER" "kube-apiserver /readyz on $API_URL" admin_curl "$API_URL/readyz"
plane_log "kube-apiserver ready"

# Prometheus's targets for the model servers on the real node (no
# kubernetes_sd in Debian's Prometheus): serving pods listed every second.
# Started with or without a real node (without one it keeps an empty list).
start_component serving-sd python3 "$PLANE_HACK/plane/serving_sd.py" \
  --apiserver="$API_URL" --ca="$PKI_DIR/ca.crt" \
  --cert="$PKI_DIR/admin.crt" --key="$PKI_DIR/admin.key" \
  --node="$REAL_NODE_NAME" --out="$SERVING_TARGETS_FILE"

# The second API server shares etcd. Its identity lease is named after the
# host name, so both servers would write the same Lease and log conflicts;
# the second one does without it (APIServerIdentity only serves peer-proxy and
# storage-version bookkeeping, neither used here). Started after the first
# one so the two do not run the RBAC bootstrap at the same moment on 2 cores.
plane_log "starting kube-apiserver without watch cache, kube-controller-manager, kube-scheduler, kwok"
mapfile -t api2_argv < <(apiserver_args "$P_API2" --watch-cache=false --feature-gates=APIServerIdentity=false)
start_component kube-apiserver-no-watch-cache "${api2_argv[@]}"

# kube-controller-manager and kube-scheduler get no --authentication- or
# --authorization-kubeconfig: only their /healthz is used, which is always
# allowed, and delegated authentication would log errors every few seconds
# because the API server is not configured as an aggregation front proxy.
#
# Controller names as registered by kube-controller-manager v1.35
# (`kube-controller-manager --help`, flag --controllers). The real node needs
# node-lifecycle (it lifts the not-ready taint a new node gets; kwok renews
# the fake node's Lease, so that node stays Ready) and the root CA publisher
# (pods mount kube-root-ca.crt). No taint-eviction controller runs: a node
# that misses heartbeats is tainted, its pods are never evicted.
#
# --node-monitor-grace-period: both nodes live on this machine and renew their
# Leases every 10 s, yet after a test restarts the API server on a loaded
# machine the node-lifecycle controller marked both NotReady 47 s later (its
# view of the Leases was stale, the default grace being 50 s) and tainted
# them for 40 s more, so the next test's pods could not be scheduled (a Job
# took 105 s instead of 2). Ten minutes outlasts any such gap; no test needs
# a node declared lost.
#
# Its client's rate limit is raised from the default 20 QPS (burst 30): with
# it, the Job controller finishes about 3 Jobs a second (seven writes per
# Job), so `make bench`'s floor measured that limit rather than the API
# server, and hid what an operator adds on top.
start_component kube-controller-manager "$TOOLS_BIN/kube-controller-manager" \
  --kubeconfig="$CLUSTER_DIR/controller-manager.kubeconfig" \
  --kube-api-qps=200 --kube-api-burst=400 \
  --node-monitor-grace-period=10m \
  --bind-address=127.0.0.1 \
  --secure-port="$P_KCM" \
  --leader-elect=false \
  --controllers=job-controller,deployment-controller,replicaset-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,namespace-controller,ttl-after-finished-controller,endpointslice-controller,node-lifecycle-controller,root-ca-certificate-publisher-controller \
  --service-account-private-key-file="$PKI_DIR/sa.key" \
  --root-ca-file="$PKI_DIR/ca.crt" \
  --profiling=false

start_component kube-scheduler "$TOOLS_BIN/kube-scheduler" \
  --kubeconfig="$CLUSTER_DIR/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$P_SCHED" \
  --leader-elect=false \
  --profiling=false

# kwok manages only nodes carrying this annotation, i.e. the one created below.
start_component kwok "$TOOLS_BIN/kwok" \
  --kubeconfig="$CLUSTER_DIR/kwok.kubeconfig" \
  --config="$PLANE_HACK/plane/kwok.yaml" \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --server-address="127.0.0.1:$P_KWOK"

# The fake node. No taints, so ordinary pods schedule onto it. Capacity is
# generous so tests never wait on resources, and `make bench N=10000` finds
# room for every pod.
"$KUBECTL" --kubeconfig="$CLUSTER_DIR/admin.kubeconfig" create -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $NODE_NAME
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: $NODE_NAME
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  capacity: {cpu: "640", memory: 2560Gi, pods: "20000"}
  allocatable: {cpu: "640", memory: 2560Gi, pods: "20000"}
EOF
# The API server's TaintNodesByCondition admission gives a node created without
# a Ready condition the node.kubernetes.io/not-ready:NoSchedule taint. The
# node-lifecycle controller lifts it once kwok reports the node Ready, but
# possibly only after its next monitor period: lift it at once (it may be
# gone already, when the controller was quicker).
"$KUBECTL" --kubeconfig="$CLUSTER_DIR/admin.kubeconfig" taint node "$NODE_NAME" \
  node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true

wait_until kube-controller-manager "$T_COMPONENT" "kube-controller-manager /healthz" \
  curl -kfsS --max-time 3 "https://127.0.0.1:$P_KCM/healthz"
wait_until kube-scheduler "$T_COMPONENT" "kube-scheduler /readyz" \
  curl -kfsS --max-time 3 "https://127.0.0.1:$P_SCHED/readyz"
wait_until kwok "$T_COMPONENT" "kwok /healthz" http_ok "http://127.0.0.1:$P_KWOK/healthz"
wait_until kwok "$T_NODE" "node $NODE_NAME Ready" \
  "$KUBECTL" --kubeconfig="$CLUSTER_DIR/admin.kubeconfig" wait --for=condition=Ready \
  "node/$NODE_NAME" --timeout=5s
plane_log "controller-manager, scheduler, kwok ready; node $NODE_NAME Ready"
# The serviceaccount controller creates "default" in every namespace; pods
# cannot be created before it exists, so wait for it once here.
wait_until kube-controller-manager "$T_COMPONENT" "ServiceAccount default/default" \
  "$KUBECTL" --kubeconfig="$CLUSTER_DIR/admin.kubeconfig" get serviceaccount default -n default
wait_until kube-apiserver-no-watch-cache "$T_APISERVER" "second kube-apiserver /readyz on $API2_URL" \
  admin_curl "$API2_URL/readyz"
plane_log "kube-apiserver without watch cache ready"

prom_sees_exporter() {
  curl -fsS --max-time 3 -G "http://127.0.0.1:$P_PROM/api/v1/query" \
    --data-urlencode 'query=up{job="mlops-test-exporter"} == 1' | grep -q '"value"'
}
wait_until metrics-exporter "$T_PROM" "metrics exporter /healthz" http_ok "http://127.0.0.1:$P_EXPORTER/healthz"
wait_until prometheus "$T_PROM" "prometheus /-/ready" http_ok "http://127.0.0.1:$P_PROM/-/ready"
wait_until prometheus "$T_PROM" "prometheus scraping the exporter (up == 1)" prom_sees_exporter
plane_log "prometheus ready and scraping the exporter"

# The real node, where this machine can run containers and no other plane
# owns it. Otherwise ONE line says why, the reason goes to .cluster/env, and
# the plane runs with the kwok node only (the realnode tests skip with it).
REAL_NODE_UNAVAILABLE=""
if [ "${MLOPS_REAL_NODE:-on}" = off ]; then
  REAL_NODE_UNAVAILABLE="switched off (MLOPS_REAL_NODE=off)"
else
  REAL_NODE_UNAVAILABLE="$(real_node_probe)"
  if [ -z "$REAL_NODE_UNAVAILABLE" ]; then
    REAL_NODE_UNAVAILABLE="$(with_machine_lock claim_real_node)" || true
  fi
fi
if [ -n "$REAL_NODE_UNAVAILABLE" ]; then
  plane_log "real node: not started: $REAL_NODE_UNAVAILABLE; running with the kwok node only"
else
  real_node_up
  # The artifact store of the examples (examples/README.md): one host
  # directory mounted at /artifacts by training and serving pods, owned by
  # the images' user.
  install -d -m 0755 -o 10001 -g 10001 "$CLUSTER_DIR/artifacts"
fi

# Written last and atomically: its presence means a complete plane.
{
  echo "# Written by hack/cluster-up.sh at $(date -Is). Source with: set -a; . $ENV_FILE; set +a"
  env_line CLUSTER_DIR "$CLUSTER_DIR"
  env_line TOOLS_BIN "$TOOLS_BIN"
  env_line KUBECTL "$KUBECTL"
  env_line ETCDCTL "$TOOLS_BIN/etcdctl"
  env_line HELM "$TOOLS_BIN/helm"
  env_line KUBECONFIG "$CLUSTER_DIR/admin.kubeconfig"
  env_line KUBECONFIG_NO_WATCH_CACHE "$CLUSTER_DIR/admin-no-watch-cache.kubeconfig"
  env_line APISERVER_URL "$API_URL"
  env_line APISERVER_NO_WATCH_CACHE_URL "$API2_URL"
  env_line CLUSTER_CA_FILE "$PKI_DIR/ca.crt"
  env_line ETCD_ENDPOINTS "http://127.0.0.1:$P_ETCD"
  env_line PROMETHEUS_URL "http://127.0.0.1:$P_PROM"
  env_line METRICS_EXPORTER_URL "http://127.0.0.1:$P_EXPORTER"
  env_line PROMETHEUS_OPERATOR_TARGETS_FILE "$OPERATOR_TARGETS_FILE"
  env_line PROMETHEUS_SERVING_TARGETS_FILE "$SERVING_TARGETS_FILE"
  env_line KWOK_URL "http://127.0.0.1:$P_KWOK"
  env_line KWOK_NODE "$NODE_NAME"
  env_line REAL_NODE_OCI_ARCHIVE "$PLANE_HACK/node/oci-archive.sh"
  env_line REAL_NODE_IMPORT_IMAGE "$PLANE_HACK/node/import-image.sh"
  if [ -n "$REAL_NODE_UNAVAILABLE" ]; then
    env_line MLOPS_REAL_NODE_UNAVAILABLE "$REAL_NODE_UNAVAILABLE"
  else
    env_line REAL_NODE_NAME "$REAL_NODE_NAME"
    env_line REAL_NODE_IP "$REAL_NODE_IP"
    env_line REAL_NODE_SUBNET "$REAL_NODE_SUBNET"
    env_line REAL_NODE_TAINT "$REAL_NODE_TAINT_KEY=true:NoSchedule"
    env_line REAL_NODE_LABEL "$REAL_NODE_LABEL"
    env_line REAL_NODE_CONTAINERD_ADDRESS "$REAL_NODE_CONTAINERD_SOCK"
    env_line REAL_NODE_KUBELET_HEALTHZ_PORT "$P_KUBELET_HEALTHZ"
    env_line CRICTL "$NODE_BIN/crictl"
    env_line REAL_NODE_ARTIFACTS_DIR "$CLUSTER_DIR/artifacts"
  fi
  env_line PLANE_FINGERPRINT "$(plane_fingerprint)"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
trap - EXIT

plane_log "plane up in $((SECONDS - START))s; environment in $ENV_FILE"
