#!/usr/bin/env bash
# `make demo`: the loop on the local control plane, narrated step by step.
# Brings up the plane (reused when running), builds the operator, installs the
# CRDs, runs the operator, and walks through what it does today.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "1/6 control plane (cold build of the Kubernetes binaries prints progress; cached later)"
hack/build-tools.sh
hack/cluster-up.sh
# shellcheck disable=SC1091
source .cluster/env
export KUBECONFIG

step "2/6 build the operator"
cmake -S . -B "$build_dir" -G Ninja >/dev/null
cmake --build "$build_dir" -j "${JOBS:-2}" --target mlops-operator

step "3/6 install the CRDs"
"$KUBECTL" apply -f crds/
"$KUBECTL" wait --for=condition=Established --timeout=60s \
  crd/trainingruns.mlops.dev crd/modelversions.mlops.dev crd/driftpolicies.mlops.dev

step "4/6 start the operator"
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
health_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=.cluster/logs/demo-operator.log
mkdir -p .cluster/logs
"$build_dir/mlops-operator" --kubeconfig="$KUBECONFIG" --log-format=text \
  --metrics-bind-address="127.0.0.1:$metrics_port" \
  --health-probe-bind-address="127.0.0.1:$health_port" \
  --prometheus-url="$PROMETHEUS_URL" --leader-elect --leader-election-namespace=default \
  >"$log" 2>&1 &
op_pid=$!
trap 'kill -TERM $op_pid 2>/dev/null; wait $op_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1 && break
  kill -0 $op_pid 2>/dev/null || { echo "operator exited:"; cat "$log"; exit 1; }
  sleep 0.2
done
echo "readyz: $(curl -sS "http://127.0.0.1:$health_port/readyz")"
echo "leader: $("$KUBECTL" get lease -n default mlops-operator-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || echo '?')"

step "5/6 train: a TrainingRun becomes a Job, its results a numbered ModelVersion"
ns="mlops-demo-$(date +%s)"
"$KUBECTL" create namespace "$ns"
"$KUBECTL" apply -n "$ns" -f crds/samples/trainingrun.yaml
"$KUBECTL" wait -n "$ns" --for=jsonpath='{.status.phase}'=Succeeded --timeout=120s trainingrun/iris-run-1
"$KUBECTL" get -n "$ns" trainingruns,jobs,modelversions
echo "lineage of iris-v1:"
"$KUBECTL" get -n "$ns" modelversion iris-v1 -o jsonpath='{.spec.source}{"\n"}'
echo "fingerprint: $("$KUBECTL" get -n "$ns" trainingrun iris-run-1 -o jsonpath='{.status.fingerprint}')"

echo
echo "reproduce it: same inputs, images pinned to the digests the first run recorded"
cat <<YAML | "$KUBECTL" apply -n "$ns" -f -
apiVersion: mlops.dev/v1alpha1
kind: TrainingRun
metadata:
  name: iris-run-1-repro
spec:
  model: iris
  template:
    metadata:
      annotations:
        test.mlops.dev/results: '{"metrics":{"accuracy":0.958,"f1":0.952},"artifact":{"uri":"s3://ml-artifacts/iris/iris-run-1-repro","digest":"sha256:a2d8aedfec7cbc6e3f0adafe81e0d14624947ab7e90a321a3b7032cbe961dc52"}}'
  reproduction:
    of: iris-run-1
YAML
"$KUBECTL" wait -n "$ns" --for=jsonpath='{.status.phase}'=Succeeded --timeout=120s trainingrun/iris-run-1-repro
"$KUBECTL" get -n "$ns" trainingrun iris-run-1-repro \
  -o jsonpath='verdict: {.status.reproduction.verdict}, deltas: {.status.reproduction.deltas}, fingerprint match: {.status.reproduction.fingerprintMatch}{"\n"}'
echo "events:"
"$KUBECTL" get events -n "$ns" --field-selector involvedObject.kind=TrainingRun \
  -o custom-columns=OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message | head -12

step "6/6 the operator's metrics"
curl -sS "http://127.0.0.1:$metrics_port/metrics" | grep -E '^(controller_runtime_reconcile_total|workqueue_depth|rest_client_requests_total|leader_election_master_status)' | head -20
echo
echo "operator log: $log; demo namespace: $ns (the plane keeps running; make cluster-down stops it)"
