#!/usr/bin/env bash
# `make demo`: the whole loop on the local control plane, narrated step by step.
#
#   train v1 → production → drift (the test exporter lowers its online accuracy)
#   → a retraining run → v2 canaried and promoted → a bad v3 canaried and
#   rolled back, with the deciding query, value and bound.
#
# Brings up the plane (reused when running), builds the operator, installs the
# CRDs and runs the operator; the demo's metrics come from the plane's test
# exporter, scraped by the plane's Prometheus, so every decision is made on real
# PromQL answers. Exits non-zero when a step does not reach what it shows
# (tests run it: script.demo). Warm (plane and build cached): about 20-40 s.
#
# With a real node in the plane it runs hack/demo-real.sh instead: the same
# loop with a real model, real pods and the servers' real metrics.
#
# Environment: BUILD_DIR (build), JOBS (2), MLOPS_DEMO_KEEP=1 leaves the demo
# namespace and the operator's log for exploring, MLOPS_DEMO_KWOK=1 runs the
# kwok demo even where the plane has a real node.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
started=$SECONDS
# shellcheck source=lib/demo-common.sh
source hack/lib/demo-common.sh

step "1/8 control plane (a cold build of the Kubernetes binaries prints progress; cached later)"
hack/build-tools.sh
hack/cluster-up.sh
# shellcheck disable=SC1091
source .cluster/env
export KUBECONFIG

# With a real node the demo is real (hack/demo-real.sh): a scikit-learn model
# trained, served and judged on what its servers report. Without one, or with
# MLOPS_DEMO_KWOK=1, the plane's kwok node and test exporter play the model.
if [ "${MLOPS_DEMO_KWOK:-}" != 1 ] && [ -z "${MLOPS_REAL_NODE_UNAVAILABLE:-}" ] &&
  [ -n "${REAL_NODE_NAME:-}" ]; then
  export KUBECTL PROMETHEUS_URL REAL_NODE_ARTIFACTS_DIR DEMO_STARTED=$started
  exec hack/demo-real.sh
fi
if [ "${MLOPS_DEMO_KWOK:-}" = 1 ]; then
  note "MLOPS_DEMO_KWOK=1: the kwok demo (pods and metrics played by the plane)"
else
  note "no real node (${MLOPS_REAL_NODE_UNAVAILABLE:-not started}): the kwok demo, pods and metrics played by the plane"
fi

step "2/8 build the operator and install the CRDs"
build_operator_and_crds
note "CRDs established: trainingruns, modelversions, driftpolicies (kubectl get mlops lists all three)"

ns="mlops-demo-$(date +%s)"
mkdir -p .cluster/logs
log=.cluster/logs/demo-operator-$ns.log
exporter() { # METHOD JSON
  curl -fsS -X "$1" -H 'Content-Type: application/json' --data "$2" "$METRICS_EXPORTER_URL/series" >/dev/null
}
# The demo's series on the test exporter: what a model server and an
# online-evaluation job would report.
set_series() { # NAME VERSION VALUE
  exporter PUT "{\"name\":\"$1\",\"labels\":{\"namespace\":\"$ns\",\"model\":\"iris\",\"version\":\"$2\"},\"value\":$3}"
}
cleanup() {
  [ -z "${op_pid:-}" ] || { kill -TERM "$op_pid" 2>/dev/null; wait "$op_pid" 2>/dev/null || true; }
  for name in mlops_demo_error_rate mlops_demo_online_accuracy; do
    for v in 1 2 3; do
      exporter DELETE "{\"name\":\"$name\",\"labels\":{\"namespace\":\"$ns\",\"model\":\"iris\",\"version\":\"$v\"}}" 2>/dev/null || true
    done
  done
  if [ "${MLOPS_DEMO_KEEP:-}" != 1 ]; then
    "$KUBECTL" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

step "3/8 start the operator (watching namespace $ns)"
start_operator
note "readyz: $(curl -sS "http://127.0.0.1:$health_port/readyz")   log: $log"

show() {
  echo
  "$KUBECTL" get mlops -n "$ns"
  echo
  "$KUBECTL" get deployments -n "$ns" -L mlops.dev/track,mlops.dev/version 2>/dev/null || true
}

step "4/8 the DriftPolicy for model iris: how canaries and production are judged"
"$KUBECTL" create namespace "$ns" >/dev/null
cat <<YAML | "$KUBECTL" apply -n "$ns" -f -
apiVersion: mlops.dev/v1alpha1
kind: DriftPolicy
metadata:
  name: iris
spec:
  model: iris
  analysis:            # a canary must keep its error rate at or under 5%, three times
    interval: 2s
    initialDelay: 0s
    count: 3
    bakeTime: 4s
    checks:
    - name: error-rate
      query: mlops_demo_error_rate{namespace="{{namespace}}",model="{{model}}",version="{{version}}"}
      max: 0.05
  drift:               # production must keep its online accuracy at or over 0.9
    interval: 2s
    breachAfter: 3
    checks:
    - name: online-accuracy
      query: mlops_demo_online_accuracy{namespace="{{namespace}}",model="{{model}}",version="{{version}}"}
      min: 0.9
    retrain:
      cooldown: 10m
      maxConcurrent: 1
      promotion: Automatic
      template:
        template:
          metadata:
            annotations:
              # The local plane plays the trainer with these results (hack/plane/README.md).
              test.mlops.dev/results: '{"metrics":{"accuracy":0.97},"artifact":{"uri":"s3://demo/iris/retrained"}}'
          spec:
            containers:
            - name: trainer
              image: registry.example.com/ml/iris-trainer:1.4.0
              resources: {requests: {cpu: 10m, memory: 16Mi}}
        dataset:
          uri: s3://datasets/iris/latest
        serving:
          template:
            spec:
              containers:
              - name: server
                image: registry.example.com/ml/iris-server:1.4.0
                resources: {requests: {cpu: 10m, memory: 16Mi}}
YAML
# What the model servers and the online evaluation report, per version.
set_series mlops_demo_error_rate 1 0.01
set_series mlops_demo_online_accuracy 1 0.95
set_series mlops_demo_error_rate 2 0.01
set_series mlops_demo_online_accuracy 2 0.97
set_series mlops_demo_error_rate 3 0.40
note "exporter: error rate v1 0.01, v2 0.01, v3 0.40; online accuracy v1 0.95, v2 0.97"

# A hand-made TrainingRun of iris whose trainer (played by the plane) reports
# this accuracy; promotion Automatic sends its version to production (through
# a canary when a version is already served).
training_run() { # NAME ACCURACY
  cat <<YAML
apiVersion: mlops.dev/v1alpha1
kind: TrainingRun
metadata:
  name: $1
spec:
  model: iris
  template:
    metadata:
      annotations:
        test.mlops.dev/results: '{"metrics":{"accuracy":$2},"artifact":{"uri":"s3://demo/iris/$1"}}'
    spec:
      containers:
      - name: trainer
        image: registry.example.com/ml/iris-trainer:1.4.0
        resources: {requests: {cpu: 10m, memory: 16Mi}}
  dataset:
    uri: s3://datasets/iris/2024-05
  validation:
    gates:
    - {metric: accuracy, op: ">=", value: 0.9}
  serving:
    template:
      spec:
        containers:
        - name: server
          image: registry.example.com/ml/iris-server:1.4.0
          resources: {requests: {cpu: 10m, memory: 16Mi}}
  promotion: Automatic
YAML
}

step "5/8 train v1: a TrainingRun becomes a Job; its results become ModelVersion iris-v1, served"
training_run iris-run-1 0.95 | "$KUBECTL" apply -n "$ns" -f -
wait_for trainingrun/iris-run-1 '{.status.phase}' Succeeded 120
wait_for modelversion/iris-v1 '{.status.phase}' Production 120
note "iris-v1 is in production (nothing was served before: promoted without a canary)"
show

step "6/8 drift: the online accuracy of v1 falls to 0.80 (under the 0.9 bound)"
set_series mlops_demo_online_accuracy 1 0.80
note "the drift check fails every 2 s; at 3 consecutive breaches the operator retrains"
deadline=$((SECONDS + 120))
retrain=""
while [ -z "$retrain" ]; do
  [ $SECONDS -lt $deadline ] || fail "no retraining TrainingRun within 120 s"
  retrain=$("$KUBECTL" get trainingruns -n "$ns" -o name 2>/dev/null | grep -v '/iris-run-1$' |
    head -n 1 | sed 's|.*/||' || true)
  sleep 0.5
done
note "retraining run: $retrain"
"$KUBECTL" get driftpolicy iris -n "$ns" \
  -o jsonpath='    policy: {.status.phase}; check {.status.checks[0].name}: value {.status.checks[0].value}, {.status.checks[0].consecutiveBreaches} breaches{"\n"}'

step "7/8 the retrained v2 is validated, canaried (error rate 0.01 <= 0.05, 3 times) and promoted"
wait_for "trainingrun/$retrain" '{.status.phase}' Succeeded 120
wait_for modelversion/iris-v2 '{.status.phase}' Production 180
wait_for modelversion/iris-v1 '{.status.phase}' Superseded 60
note "iris-v2 serves; iris-v1 is Superseded"
show

step "8/8 a bad v3: trained by hand, canaried, and rolled back on its error rate (0.40 > 0.05)"
training_run iris-run-3 0.96 | "$KUBECTL" apply -n "$ns" -f -
wait_for trainingrun/iris-run-3 '{.status.phase}' Succeeded 120
wait_for modelversion/iris-v3 '{.status.phase}' RolledBack 180
echo
"$KUBECTL" get modelversion iris-v3 -n "$ns" -o jsonpath='    why: {.status.message}{"\n"}'
"$KUBECTL" get modelversion iris-v3 -n "$ns" \
  -o jsonpath='{range .status.analysis.checks[*]}    last evaluation of {.name}: {.measurements[-1:].query} = {.measurements[-1:].value} (max {.measurements[-1:].max}): {.measurements[-1:].verdict}{"\n"}{end}' 2>/dev/null || true
wait_for modelversion/iris-v2 '{.status.phase}' Production 30
note "iris-v2 still serves"
show
echo
echo "events:"
"$KUBECTL" get events -n "$ns" --sort-by=.lastTimestamp \
  -o custom-columns=OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message | cut -c1-160 | tail -n 25

echo
echo "the operator's domain metrics:"
curl -sS "http://127.0.0.1:$metrics_port/metrics" | grep -E '^mlops_' | grep -v '^mlops_.*_bucket' | head -n 25 || true

printf '\n\033[1mdemo: the loop closed in %ss\033[0m — trained, served, drifted, retrained, canaried, promoted, and a bad version rolled back.\n' "$((SECONDS - started))"
cat <<EOF

Explore (while the plane runs; rerun with MLOPS_DEMO_KEEP=1 to keep this namespace):
  source .cluster/env; export KUBECONFIG
  \$KUBECTL get mlops -n $ns
  \$KUBECTL describe modelversion iris-v3 -n $ns
  \$KUBECTL get driftpolicy iris -n $ns -o yaml
  curl -s "\$PROMETHEUS_URL/api/v1/query?query=mlops_demo_online_accuracy"
Tear down: make cluster-down (stops every process of the plane and removes its state).
EOF
