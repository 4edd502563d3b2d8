#!/usr/bin/env bash
# Proves the local control plane (hack/cluster-up.sh) is real: the trainer
# contract played by kwok, the Job/Deployment controllers, Prometheus scraping
# the test exporter, real RBAC, and the second API server without watch cache.
#
# Assumes the plane is up (make cluster-up). A missing .cluster/env is a
# failure, never a skip. Works in its own namespace, deleted at the end.
# Prints one line per check and ends with "N passed, N failed".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENV_FILE="${MLOPS_CLUSTER_DIR:-$ROOT/.cluster}/env"
WAIT=60s # bound for every kubectl wait

passed=0
failed=0
summary() { echo "$passed passed, $failed failed"; }

if [ ! -f "$ENV_FILE" ]; then
  echo "FAIL plane environment: $ENV_FILE is missing; the plane is not up (run: make cluster-up)"
  failed=1
  summary
  exit 1
fi
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
for v in KUBECONFIG KUBECTL PROMETHEUS_URL METRICS_EXPORTER_URL KUBECONFIG_NO_WATCH_CACHE \
  APISERVER_URL ETCDCTL ETCD_ENDPOINTS TOOLS_BIN CLUSTER_DIR PROMETHEUS_OPERATOR_TARGETS_FILE; do
  if [ -z "${!v:-}" ]; then
    echo "FAIL plane environment: $v is not set in $ENV_FILE"
    failed=1
    summary
    exit 1
  fi
done

k() { "$KUBECTL" "$@"; }
NS="plane-test-$(date +%s)-$$"
WORK="$(mktemp -d)"
cleanup() {
  k delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  curl -fsS --max-time 3 -X DELETE "$METRICS_EXPORTER_URL/series" \
    -d "{\"name\":\"plane_test_value\",\"labels\":{\"run\":\"$NS\"}}" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# check DESCRIPTION FUNCTION: runs FUNCTION in a subshell with errexit, so the
# first failing command fails the check; its output is shown only on failure.
# (Not `if "$fn"; then`: bash ignores errexit inside a function called as an
# if-condition, which would let a failing step pass unnoticed.)
check() {
  local desc=$1 fn=$2 rc
  set +e
  (
    set -e
    "$fn"
  ) >"$WORK/out" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "PASS $desc"
  else
    failed=$((failed + 1))
    echo "FAIL $desc"
    sed 's/^/    /' "$WORK/out" | tail -n 25
  fi
}

# fail MESSAGE: prints the reason and fails the current check.
fail() {
  echo "$*"
  return 1
}

expect_eq() { # WHAT EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    printf '%s: expected\n  %s\ngot\n  %s\n' "$1" "$2" "$3"
    return 1
  fi
}

sha256_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

pod_of_job() { k get pods -n "$NS" -l "job-name=$1" -o jsonpath='{.items[0].metadata.name}'; }

pod_field() { k get pod -n "$NS" "$1" -o jsonpath="$2"; }

# Builds a Job manifest as JSON (python3 json.dumps quotes any annotation value
# exactly, whatever quotes or newlines it holds).
job_json() { # NAME IMAGE ANNOTATIONS_JSON
  python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
name, image, annotations = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(json.dumps({
    "apiVersion": "batch/v1", "kind": "Job",
    "metadata": {"name": name},
    "spec": {
        "backoffLimit": 0,
        "template": {
            "metadata": {"annotations": annotations},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "trainer", "image": image},
                                    {"name": "sidecar", "image": "example.org/sidecar:1"}]},
        },
    },
}))
EOF
}

# The results contain JSON quotes, a backslash and a newline: they must come
# back byte for byte as the termination message.
RESULTS='{"metrics": {"accuracy": 0.931, "loss": 0.12}, "note": "say \"hi\" \\ bye"}
second line'
TRAINER_IMAGE="registry.example.org/mlops/trainer:v1.2.3"

setup() {
  k create namespace "$NS"
}

job_results_succeeds() {
  local ann pod
  ann="$(python3 -c 'import json,sys; print(json.dumps({"test.mlops.dev/results": sys.argv[1]}))' "$RESULTS")"
  job_json train-ok "$TRAINER_IMAGE" "$ann" | k create -n "$NS" -f -
  k wait -n "$NS" --for=condition=Complete job/train-ok --timeout="$WAIT"
  pod="$(pod_of_job train-ok)"
  [ -n "$pod" ] || fail "no pod found for job train-ok"
  expect_eq "pod phase" Succeeded "$(pod_field "$pod" '{.status.phase}')"
  expect_eq "termination message of the first container" "$RESULTS" \
    "$(pod_field "$pod" '{.status.containerStatuses[?(@.name=="trainer")].state.terminated.message}')"
  expect_eq "exit code" 0 \
    "$(pod_field "$pod" '{.status.containerStatuses[?(@.name=="trainer")].state.terminated.exitCode}')"
  expect_eq "second container has no message" "" \
    "$(pod_field "$pod" '{.status.containerStatuses[?(@.name=="sidecar")].state.terminated.message}')"
  expect_eq "imageID" "$TRAINER_IMAGE@sha256:$(sha256_of "$TRAINER_IMAGE")" \
    "$(pod_field "$pod" '{.status.containerStatuses[?(@.name=="trainer")].imageID}')"
}

job_exit_code_fails() {
  local pod
  job_json train-fail "$TRAINER_IMAGE" '{"test.mlops.dev/exit-code": "3"}' | k create -n "$NS" -f -
  k wait -n "$NS" --for=condition=Failed job/train-fail --timeout="$WAIT"
  pod="$(pod_of_job train-fail)"
  [ -n "$pod" ] || fail "no pod found for job train-fail"
  expect_eq "pod phase" Failed "$(pod_field "$pod" '{.status.phase}')"
  expect_eq "exit code" 3 \
    "$(pod_field "$pod" '{.status.containerStatuses[?(@.name=="trainer")].state.terminated.exitCode}')"
}

# duration-ms holds the pod in Running; a digest-pinned image is its own imageID.
# 15 s leaves room for slow kubectl calls on a loaded machine (4 s flaked).
duration_and_pinned_image() {
  local pod image="registry.example.org/mlops/trainer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  job_json train-slow "$image" '{"test.mlops.dev/results": "{}", "test.mlops.dev/duration-ms": "15000"}' |
    k create -n "$NS" -f -
  k wait -n "$NS" --for=jsonpath='{.status.ready}'=1 job/train-slow --timeout="$WAIT"
  pod="$(pod_of_job train-slow)"
  expect_eq "phase while running" Running "$(pod_field "$pod" '{.status.phase}')"
  expect_eq "imageID of a digest-pinned image" "$image" \
    "$(pod_field "$pod" '{.status.containerStatuses[?(@.name=="trainer")].imageID}')"
  sleep 1.5
  expect_eq "phase 1.5s later (duration-ms 15000)" Running "$(pod_field "$pod" '{.status.phase}')"
  k wait -n "$NS" --for=condition=Complete job/train-slow --timeout="$WAIT"
  expect_eq "phase after the duration" Succeeded "$(pod_field "$pod" '{.status.phase}')"
}

deployment_available() {
  k create deployment web -n "$NS" --image=example.org/web:1 --replicas=2
  k wait -n "$NS" --for=condition=Available deployment/web --timeout="$WAIT"
  expect_eq "ready replicas" 2 "$(k get deployment web -n "$NS" -o jsonpath='{.status.readyReplicas}')"
  local pod
  pod="$(k get pods -n "$NS" -l app=web -o jsonpath='{.items[0].metadata.name}')"
  expect_eq "pod without annotations keeps running" Running "$(pod_field "$pod" '{.status.phase}')"
  expect_eq "running container imageID" "example.org/web:1@sha256:$(sha256_of example.org/web:1)" \
    "$(pod_field "$pod" '{.status.containerStatuses[0].imageID}')"
  # Deleting a pod must remove it (kwok plays the kubelet's part).
  k delete pod -n "$NS" "$pod" --timeout="$WAIT"
  k wait -n "$NS" --for=condition=Available deployment/web --timeout="$WAIT"
}

prometheus_sees_exporter_value() {
  local value=42.5 deadline=$((SECONDS + 15)) got=""
  curl -fsS --max-time 5 -X PUT "$METRICS_EXPORTER_URL/series" \
    -d "{\"name\":\"plane_test_value\",\"labels\":{\"run\":\"$NS\",\"quote\":\"a\\\"b\"},\"value\":$value}"
  echo
  while ((SECONDS < deadline)); do
    got="$(curl -fsS --max-time 5 -G "$PROMETHEUS_URL/api/v1/query" \
      --data-urlencode "query=plane_test_value{run=\"$NS\"}" |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')"
    [ "$got" = "$value" ] && return 0
    sleep 0.5
  done
  fail "Prometheus did not return $value for plane_test_value{run=\"$NS\"} within 15s (last: '$got')"
}

# The mlops-operator scrape job reads its targets from a file_sd file the
# tests write (the dashboard end-to-end test points it at an operator). Here
# the exporter stands in for an operator; the file is emptied again.
prometheus_scrapes_operator_targets() {
  local file=$PROMETHEUS_OPERATOR_TARGETS_FILE deadline=$((SECONDS + 20)) got=""
  printf '[{"targets": ["%s"], "labels": {"run": "%s"}}]\n' "${METRICS_EXPORTER_URL#http://}" "$NS" \
    >"$file.tmp"
  mv "$file.tmp" "$file"
  while ((SECONDS < deadline)); do
    got="$(curl -fsS --max-time 5 -G "$PROMETHEUS_URL/api/v1/query" \
      --data-urlencode "query=up{job=\"mlops-operator\",run=\"$NS\"} == 1" |
      python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))')"
    [ "$got" = 1 ] && break
    sleep 0.5
  done
  echo '[]' >"$file.tmp"
  mv "$file.tmp" "$file"
  [ "$got" = 1 ] || fail "Prometheus did not scrape the target written to $file within 20s"
}

exporter_rejects_bad_input() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$METRICS_EXPORTER_URL/series" -d '{"name":"bad name","value":1}')"
  expect_eq "status for a bad metric name" 400 "$code"
  code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$METRICS_EXPORTER_URL/series" -d '{not json')"
  expect_eq "status for bad JSON" 400 "$code"
}

rbac_is_enforced() {
  local token out
  k create serviceaccount -n "$NS" nobody
  token="$(k create token -n "$NS" nobody --duration=10m)"
  # A kubeconfig-less client with only the token: authenticated as the SA...
  if out="$("$KUBECTL" --kubeconfig=/dev/null --server="$APISERVER_URL" \
    --certificate-authority="$CLUSTER_CA_FILE" --token="$token" get secrets -n "$NS" 2>&1)"; then
    fail "listing secrets with a bare ServiceAccount token succeeded: $out"
  fi
  echo "$out"
  # ...and denied by RBAC (not rejected as unauthenticated).
  grep -q 'Forbidden' <<<"$out" || fail "expected Forbidden"
  grep -q "system:serviceaccount:$NS:nobody" <<<"$out" || fail "expected the ServiceAccount's identity in the error"
}

no_watch_cache_apiserver() {
  # The second API server sees the same etcd: the namespace is visible there.
  expect_eq "namespace seen via the second API server" "$NS" \
    "$("$KUBECTL" --kubeconfig="$KUBECONFIG_NO_WATCH_CACHE" get namespace "$NS" -o jsonpath='{.metadata.name}')"
  # And etcdctl reaches etcd.
  "$ETCDCTL" --endpoints="$ETCD_ENDPOINTS" endpoint health
}

# The reason for the second API server: without a watch cache, a watch from a
# resourceVersion that etcd has compacted away ends with 410 Expired.
watch_gone_after_compaction() {
  local rv rev out
  k create configmap -n "$NS" gone-0
  rv="$(k get --raw "/api/v1/namespaces/$NS/configmaps" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')"
  k create configmap -n "$NS" gone-1
  k create configmap -n "$NS" gone-2
  rev="$("$ETCDCTL" --endpoints="$ETCD_ENDPOINTS" endpoint status -w json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')"
  "$ETCDCTL" --endpoints="$ETCD_ENDPOINTS" compact "$rev"
  # The server sends one ERROR event and closes the watch; timeout bounds it.
  out="$(timeout 20 "$KUBECTL" --kubeconfig="$KUBECONFIG_NO_WATCH_CACHE" get --raw \
    "/api/v1/namespaces/$NS/configmaps?watch=1&resourceVersion=$rv" || true)"
  echo "$out"
  grep -q '"code":410' <<<"$out" || fail "expected a 410 ERROR event from the watch at resourceVersion $rv"
}

# hack/cluster-restart-apiserver.sh keeps the URL; afterwards kwok, the
# scheduler and the controllers carry on (their watches resumed).
plane_survives_apiserver_restart() {
  "$ROOT/hack/cluster-restart-apiserver.sh"
  k create deployment after-restart -n "$NS" --image=example.org/web:2
  k wait -n "$NS" --for=condition=Available deployment/after-restart --timeout="$WAIT"
}

# The real node (hack/node/): Ready, tainted and labelled so that pods that
# ask for nothing (all of the above) stay on the kwok node; forwarding off the
# bridge dropped; NodePorts only on the bridge address.
real_node_kept_apart() {
  local taints labels nodes
  k wait --for=condition=Ready "node/$REAL_NODE_NAME" --timeout="$WAIT"
  taints="$(k get node "$REAL_NODE_NAME" -o jsonpath='{range .spec.taints[*]}{.key}={.value}:{.effect} {end}')"
  expect_eq "real node taints" "$REAL_NODE_TAINT " "$taints"
  labels="$(k get node "$REAL_NODE_NAME" -o jsonpath='{.metadata.labels.mlops\.dev/real-node}')"
  expect_eq "real node label mlops.dev/real-node" "true" "$labels"
  expect_eq "kwok node taints" "" "$(k get node "$KWOK_NODE" -o jsonpath='{.spec.taints}')"
  nodes="$(k get pods -n "$NS" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u)"
  expect_eq "nodes of this test's pods" "$KWOK_NODE" "$nodes"
  iptables -t mangle -S FORWARD | grep -q -- "-j MLOPS-REALNODE-FWD" || fail "no forwarding guard in mangle FORWARD"
  iptables -t mangle -S MLOPS-REALNODE-FWD | grep -q -- "-j DROP" || fail "the forwarding guard drops nothing"
  iptables -t nat -S KUBE-SERVICES | grep -- "-j KUBE-NODEPORTS" | grep -q -- "-d $REAL_NODE_IP/32" ||
    fail "NodePorts not limited to $REAL_NODE_IP: $(iptables -t nat -S KUBE-SERVICES | grep NODEPORTS)"
}

# Serving pods on the real node are discovered for Prometheus: serving-sd
# writes a Running pod labelled app.kubernetes.io/component=serving to the
# serving targets file (pod IP, the port named http, labels namespace, pod,
# track) and Prometheus makes it a target of job mlops-serving; a deleted pod
# leaves the file. The pause image stands in for a server: nothing answers,
# so the target is up == 0, which is enough to show it was discovered.
serving_pods_discovered() {
  local file=$PROMETHEUS_SERVING_TARGETS_FILE deadline ip got="" kube_version
  kube_version="$(source "$ROOT/hack/versions.sh" && echo "$KUBE_VERSION")"
  k apply -n "$NS" -f - <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: served
  labels: {app.kubernetes.io/component: serving, mlops.dev/track: canary}
spec:
  nodeSelector: {mlops.dev/real-node: "true"}
  tolerations: [{key: mlops.dev/real-node, operator: Exists, effect: NoSchedule}]
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: mlops.local/pause:$kube_version
    imagePullPolicy: Never
    ports: [{name: http, containerPort: 9999}]
YAML
  k wait -n "$NS" --for=condition=Ready pod/served --timeout="$WAIT"
  ip="$(k get pod -n "$NS" served -o jsonpath='{.status.podIP}')"
  deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    got="$(python3 -c '
import json, sys
for t in json.load(open(sys.argv[1])):
    if t["labels"].get("namespace") == sys.argv[2] and t["labels"].get("pod") == "served":
        print(t["targets"][0], t["labels"]["track"], ",".join(sorted(t["labels"])))' "$file" "$NS")"
    [ -n "$got" ] && break
    sleep 0.5
  done
  expect_eq "serving target of pod served" "$ip:9999 canary namespace,pod,track" "$got"
  deadline=$((SECONDS + 20))
  got=""
  while ((SECONDS < deadline)); do
    got="$(curl -fsS --max-time 5 -G "$PROMETHEUS_URL/api/v1/query" \
      --data-urlencode "query=up{job=\"mlops-serving\",namespace=\"$NS\",pod=\"served\",track=\"canary\"}" |
      python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))')"
    [ "$got" = 1 ] && break
    sleep 0.5
  done
  expect_eq "Prometheus targets of job mlops-serving for pod served" 1 "$got"
  k delete pod -n "$NS" served --wait=true --timeout="$WAIT"
  deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)) && grep -q "\"$NS\"" "$file"; do sleep 0.5; done
  if grep -q "\"$NS\"" "$file"; then
    fail "pod served still listed in $file after its deletion"
  fi
}

check "namespace $NS created" setup
check "(a) Job annotated with results completes; pod Succeeded with the exact message and digest imageID" job_results_succeeds
check "(b) Job annotated exit-code 3 fails; pod Failed with exit code 3" job_exit_code_fails
check "(a') duration-ms delays the finish; a digest-pinned image is its own imageID" duration_and_pinned_image
check "(c) Deployment becomes Available; its pods run until deleted" deployment_available
check "(d) a value PUT to the exporter is returned by Prometheus within 15s" prometheus_sees_exporter_value
check "(d') the exporter rejects bad input with 400" exporter_rejects_bad_input
check "(d'') a target written to the operator targets file is scraped as job mlops-operator" prometheus_scrapes_operator_targets
check "(e) RBAC is real: a ServiceAccount token is Forbidden to list secrets" rbac_is_enforced
check "the second API server (no watch cache) and etcdctl work" no_watch_cache_apiserver
check "(f) after an etcd compaction, an old watch on the no-watch-cache server gets 410 Expired" watch_gone_after_compaction
check "(g) after hack/cluster-restart-apiserver.sh the plane still runs new pods" plane_survives_apiserver_restart
if [ -n "${MLOPS_REAL_NODE_UNAVAILABLE:-}" ]; then
  echo "SKIP (h) the real node: the plane has none: $MLOPS_REAL_NODE_UNAVAILABLE"
else
  check "(h) the real node is Ready, tainted and labelled; plain pods stay on the kwok node; forwarding and NodePorts confined to the bridge" real_node_kept_apart
  check "(h') serving pods on the real node become targets of job mlops-serving (pod IP, port http, labels namespace, pod, track), and leave with the pod" serving_pods_discovered
fi

summary
[ "$failed" -eq 0 ]
