#!/usr/bin/env bash
# `make demo` on the plane's real node (hack/demo.sh runs this when the plane
# has one): a real scikit-learn model trained, served, queried, drifting,
# retrained, canaried and promoted, and a broken version rolled back — every
# decision made by the operator on what the model servers really reported,
# scraped by the plane's Prometheus.
#
#   1 images      trainer and server images built, archived and imported
#                 (hack/images/load.sh; cached)
#   2 operator    built, CRDs installed, run with --artifact-root=file:///artifacts
#   3 policy      DriftPolicy digits: canary gates on error rate and labelled
#                 accuracy, drift gate on the inputs' PSI, retraining on
#                 shifted data
#   4 train v1    TrainingRun digits-run-1 (seed 42): real metrics, the
#                 artifact's sha256 (checked against the file), the image digest
#   5 serve       v1 in production; the Service's ClusterIP answers /predict;
#                 labelled traffic (examples/loadgen) in the background
#   6 drift       the traffic shifts; PSI rises past the bound; a retraining run
#   7 v2          trained on the shifted data, canaried, promoted
#   8 bad v3      a server failing half its requests: canaried, rolled back
#
# Called by hack/demo.sh after the plane is up (.cluster/env sourced, KUBECTL,
# KUBECONFIG exported). Exits non-zero when a step does not reach what it
# shows (script.demo runs it). Traffic goes only to the Service's ClusterIP.
# Environment: BUILD_DIR (build), JOBS (2), MLOPS_DEMO_KEEP=1 keeps the
# namespace, the operator's log and the artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=versions.sh
source hack/versions.sh
build_dir="${BUILD_DIR:-build}"
started=${DEMO_STARTED:-$SECONDS}
DEMO_FAIL_GET="mlops,pods -o wide"
# shellcheck source=lib/demo-common.sh
source hack/lib/demo-common.sh

# --- images: tell how long a cold build takes before starting it ------------
if ! compgen -G "$MLOPS_CACHE/images/base-*/.complete" >/dev/null; then
  note "cold start: the images are not built yet. Building them takes about 5 minutes (debootstrap"
  note "and python3-sklearn from the Debian mirror, ~160 MB), then ~1 minute to archive and import;"
  note "the demo itself then takes about 3 minutes. Later runs reuse all of it."
elif ! compgen -G "$MLOPS_CACHE/images/archives/*.tar" >/dev/null; then
  note "the images are built; archiving and importing them into the node takes about 1 minute"
fi
step "1/8 the trainer and model-server images on the real node (built, archived, imported; cached)"
images=$(hack/images/load.sh) || fail "hack/images/load.sh failed"
eval "$images"
note "trainer $MLOPS_IMAGE_TRAINER_REF  id $MLOPS_IMAGE_TRAINER_ID"
note "server  $MLOPS_IMAGE_SERVER_REF  id $MLOPS_IMAGE_SERVER_ID"

step "2/8 build the operator, install the CRDs, start it (--artifact-root=file:///artifacts)"
build_operator_and_crds

ns="mlops-demo-$(date +%s)"
mkdir -p .cluster/logs
log=.cluster/logs/demo-operator-$ns.log
loadgen_log=.cluster/logs/demo-loadgen-$ns.log
artifacts="$REAL_NODE_ARTIFACTS_DIR"
stop_loadgen() {
  [ -z "${lg_pid:-}" ] || { kill -TERM "$lg_pid" 2>/dev/null; wait "$lg_pid" 2>/dev/null || true; }
  lg_pid=""
}
cleanup() {
  stop_loadgen
  [ -z "${op_pid:-}" ] || { kill -TERM "$op_pid" 2>/dev/null; wait "$op_pid" 2>/dev/null || true; }
  if [ "${MLOPS_DEMO_KEEP:-}" != 1 ]; then
    "$KUBECTL" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
    rm -rf "${artifacts:?}/$ns"
  fi
}
trap cleanup EXIT
start_operator --artifact-root=file:///artifacts
note "operator ready, watching namespace $ns; log: $log"

jp() { "$KUBECTL" get -n "$ns" "$1" -o "jsonpath=$2"; }
# One instant query on the plane's Prometheus: the value of a one-series
# answer, "none" when empty.
promq() {
  curl -fsS --max-time 5 -G "$PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print("%.4g" % float(r[0]["value"][1]) if r else "none")'
}
show() {
  echo
  "$KUBECTL" get mlops -n "$ns"
  echo
  "$KUBECTL" get deployments,pods -n "$ns" -l app.kubernetes.io/component=serving \
    -L mlops.dev/track,mlops.dev/version 2>/dev/null || true
}
# The deciding measurements of a version's analysis: check, query, value, bounds.
measurements() { # VERSION-NAME [its JSON, else read now]
  { if [ -n "${2:-}" ]; then printf '%s' "$2"; else "$KUBECTL" get modelversion "$1" -n "$ns" -o json; fi; } | python3 -c '
import json, sys
a = json.load(sys.stdin).get("status", {}).get("analysis", {})
for c in a.get("checks", []):
    m = (c.get("measurements") or [{}])[-1]
    bounds = " ".join("%s %s" % (k, m[k]) for k in ("min", "max") if k in m)
    print("    %-10s %s = %s (%s): %s" % (c.get("name"), m.get("query", "?"), m.get("value"), bounds, m.get("verdict")))
counts = {k: a[k] for k in ("successes", "failures", "inconclusives", "consecutiveErrors") if k in a}
if counts: print("    counts:", json.dumps(counts))'
}
start_loadgen() { # SHIFT
  stop_loadgen
  /usr/bin/python3 examples/loadgen/loadgen.py --url "http://$cluster_ip:8080" --rate 20 --batch 10 \
    --reconnect-every 1 --duration 3600 --shift "$1" --report-every 10 >>"$loadgen_log" 2>&1 &
  lg_pid=$!
}

# The pod template parts every real-node pod of the demo shares.
pod_spec() { # CONTAINER-NAME IMAGE READ_ONLY INDENT [EXTRA CONTAINER YAML]
  sed "s/^/$4/" <<YAML
securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
nodeSelector: {mlops.dev/real-node: "true"}
tolerations: [{key: mlops.dev/real-node, operator: Exists, effect: NoSchedule}]
terminationGracePeriodSeconds: 2
enableServiceLinks: false
containers:
- name: $1
  image: $2
  imagePullPolicy: Never
  securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  volumeMounts: [{name: artifacts, mountPath: /artifacts, readOnly: $3}]
${5:-}
volumes:
- name: artifacts
  hostPath: {path: "$artifacts", type: Directory}
YAML
}
server_extra() { # FAULT_SHARE
  cat <<YAML
  readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 1}
  env: [{name: MLOPS_FAULT_ERROR_SHARE, value: "$1"}]
YAML
}
# A TrainingRun spec body (without model), indented by $4.
run_spec() { # DATASET SEED FAULT_SHARE INDENT
  sed "s/^/$4/" <<YAML
template:
  spec:
$(pod_spec trainer "$MLOPS_IMAGE_TRAINER_REF" false "    ")
dataset: {uri: "$1"}
hyperparameters: {n_estimators: "30"}
validation:
  gates: [{metric: accuracy, op: ">=", value: 0.9}]
serving:
  template:
    spec:
$(pod_spec server "$MLOPS_IMAGE_SERVER_REF" true "      " "$(server_extra "$3")")
YAML
  [ -z "$2" ] || printf '%sseed: %s\n' "$4" "$2"
}
training_run() { # NAME DATASET SEED FAULT_SHARE
  cat <<YAML
apiVersion: mlops.dev/v1alpha1
kind: TrainingRun
metadata: {name: $1}
spec:
  model: digits
  promotion: Automatic
$(run_spec "$2" "$3" "$4" "  ")
YAML
}

step "3/8 DriftPolicy digits: how canaries and production are judged, from the servers' own metrics"
"$KUBECTL" create namespace "$ns" >/dev/null
psi_bound=0.5
cat <<YAML | tee .cluster/logs/demo-policy-$ns.yaml | "$KUBECTL" apply -n "$ns" -f - >/dev/null
apiVersion: mlops.dev/v1alpha1
kind: DriftPolicy
metadata: {name: digits}
spec:
  model: digits
  analysis:
    interval: 2s
    initialDelay: 5s
    count: 3
    inconclusiveLimit: 3
    bakeTime: 10s
    checks:
    - name: error-rate
      query: >-
        (sum(rate(http_requests_total{namespace="{{namespace}}",model="{{model}}",version="{{version}}",handler="predict",code=~"5.."}[20s])) or vector(0))
        / sum(rate(http_requests_total{namespace="{{namespace}}",model="{{model}}",version="{{version}}",handler="predict"}[20s]))
      max: 0.05
    - name: accuracy
      query: >-
        sum(rate(model_correct_predictions_total{namespace="{{namespace}}",model="{{model}}",version="{{version}}"}[20s]))
        / sum(rate(model_labelled_predictions_total{namespace="{{namespace}}",model="{{model}}",version="{{version}}"}[20s]))
      min: 0.9
  drift:
    interval: 2s
    breachAfter: 3
    checks:
    - name: input-psi
      query: max(model_input_psi_max{namespace="{{namespace}}",model="{{model}}",version="{{version}}"})
      max: $psi_bound
    retrain:
      cooldown: 10m
      maxConcurrent: 1
      promotion: Automatic
      template:
$(run_spec "sklearn://digits?shift=1" "" 0 "        ")
YAML
note "canary: error rate <= 0.05 and labelled accuracy >= 0.9 over 20 s, 3 evaluations 2 s apart"
note "drift:  max PSI of the inputs over the 64 features <= $psi_bound, 3 breaches in a row → retrain"
note "        on sklearn://digits?shift=1 (the fresh data); policy: .cluster/logs/demo-policy-$ns.yaml"

step "4/8 train v1: TrainingRun digits-run-1, seed 42, on the bundled digits data, in a real pod"
training_run digits-run-1 sklearn://digits 42 0 | "$KUBECTL" apply -n "$ns" -f - >/dev/null
wait_for trainingrun/digits-run-1 '{.status.phase}' Succeeded 180
uri=$(jp trainingrun/digits-run-1 '{.status.artifact.uri}')
digest=$(jp trainingrun/digits-run-1 '{.status.artifact.digest}')
host_file="$artifacts/${uri#file:///artifacts/}"
on_disk="sha256:$(sha256sum "$host_file" | cut -d' ' -f1)"
note "metrics:      $(jp trainingrun/digits-run-1 '{.status.metrics}')"
took=$(python3 -c 'import sys
from datetime import datetime as d
f = lambda t: d.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
print(int((f(sys.argv[2]) - f(sys.argv[1])).total_seconds()))' "$(jp trainingrun/digits-run-1 '{.status.startTime}')" "$(jp trainingrun/digits-run-1 '{.status.completionTime}')")
note "trained in:   ${took} s (the run's startTime to completionTime: pod start, fit, results read)"
note "artifact:     $uri"
note "digest:       $digest (reported by the trainer)"
note "on the node:  $on_disk (sha256sum of $host_file)"
[ "$digest" = "$on_disk" ] || fail "the recorded digest differs from the file's"
note "image:        $(jp trainingrun/digits-run-1 '{.status.imageDigests.trainer}') (containerd's imageID; imported as $MLOPS_IMAGE_TRAINER_ID)"
note "fingerprint:  $(jp trainingrun/digits-run-1 '{.status.fingerprint}')"

step "5/8 v1 serves: ModelVersion digits-v1 in production, its Service queried on the ClusterIP"
wait_for modelversion/digits-v1 '{.status.phase}' Production 180
cluster_ip=$(jp service/digits '{.spec.clusterIP}')
wait_for deployment/digits '{.status.availableReplicas}' 1 120
note "Service digits: http://$cluster_ip:8080 (the server verified MLOPS_MODEL_DIGEST before loading)"
/usr/bin/python3 examples/loadgen/loadgen.py --url "http://$cluster_ip:8080" --requests 5 --rate 50 \
  --batch 20 --report-every 0 | sed 's/^/    5 requests of 20 labelled rows: /'
start_loadgen 0
note "background traffic: 20 requests/s of 10 labelled rows (examples/loadgen; log $loadgen_log)"
q_acc="model_online_accuracy{namespace=\"$ns\",version=\"1\"}"
q_psi="max(model_input_psi_max{namespace=\"$ns\",version=\"1\"})"
deadline=$((SECONDS + 60))
until [ "$(promq "$q_psi")" != none ] && [ "$(promq "$q_psi")" != NaN ]; do
  [ $SECONDS -lt $deadline ] || fail "Prometheus has no PSI for v1 after 60 s"
  sleep 1
done
note "Prometheus, scraping the pod: online accuracy $(promq "$q_acc"), input PSI max $(promq "$q_psi"), requests $(promq "sum(http_requests_total{namespace=\"$ns\",handler=\"predict\"})")"
show

step "6/8 drift: the traffic shifts by one standard deviation per feature (loadgen --shift 1)"
drift_start=$SECONDS
start_loadgen 1
deadline=$((SECONDS + 120))
retrain=""
last_psi=""
while [ -z "$retrain" ]; do
  [ $SECONDS -lt $deadline ] || fail "no retraining TrainingRun within 120 s"
  psi=$(promq "$q_psi")
  [ "$psi" = "$last_psi" ] || note "input PSI max of v1: $psi (bound $psi_bound), online accuracy $(promq "$q_acc")"
  last_psi=$psi
  retrain=$("$KUBECTL" get trainingruns -n "$ns" -l mlops.dev/drift-policy=digits -o name 2>/dev/null |
    head -n 1 | sed 's|.*/||' || true)
  sleep 1
done
note "retraining run $retrain created $((SECONDS - drift_start)) s after the shift"
"$KUBECTL" get driftpolicy digits -n "$ns" \
  -o jsonpath='    policy {.status.phase}: check {.status.checks[0].name}: {.status.checks[0].query} = {.status.checks[0].value} (max {.status.checks[0].max}), {.status.checks[0].consecutiveBreaches} breaches in a row{"\n"}'

step "7/8 v2: trained on the shifted data, canaried beside v1 on live traffic, promoted"
wait_for "trainingrun/$retrain" '{.status.phase}' Succeeded 180
note "$retrain: dataset $(jp "trainingrun/$retrain" '{.spec.dataset.uri}'), metrics $(jp "trainingrun/$retrain" '{.status.metrics}')"
note "artifact $(jp "trainingrun/$retrain" '{.status.artifact.digest}')"
wait_for modelversion/digits-v2 '{.status.phase}' Canary 120
note "digits-v2 is the canary: the Service now spreads the traffic over v1 (stable) and v2 (canary)"
# The canary's measurements are replaced by the bake's once promoted: keep
# the last status seen while it was the canary.
deadline=$((SECONDS + 180)) canary_json=""
while :; do
  v2_json=$("$KUBECTL" get modelversion digits-v2 -n "$ns" -o json)
  phase=$(printf '%s' "$v2_json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",{}).get("phase",""))')
  [ "$phase" != Canary ] || canary_json=$v2_json
  [ "$phase" != Production ] || break
  [ $SECONDS -lt $deadline ] || fail "digits-v2 is $phase, not Production, after 180 s"
  sleep 0.5
done
note "promoted on these measurements (the canary's last evaluation):"
measurements digits-v2 "$canary_json"
wait_for modelversion/digits-v1 '{.status.phase}' Superseded 60
q_psi2="max(model_input_psi_max{namespace=\"$ns\",version=\"2\"})"
note "v2 on the shifted traffic: input PSI max $(promq "$q_psi2") (its reference is the shifted data), online accuracy $(promq "model_online_accuracy{namespace=\"$ns\",version=\"2\"}")"
show

step "8/8 a bad v3: its server fails half the requests (MLOPS_FAULT_ERROR_SHARE=0.5); canaried, rolled back"
training_run digits-run-3 "sklearn://digits?shift=1" 7 0.5 | "$KUBECTL" apply -n "$ns" -f - >/dev/null
wait_for trainingrun/digits-run-3 '{.status.phase}' Succeeded 180
wait_for modelversion/digits-v3 '{.status.phase}' Canary 120
canary_at=$SECONDS
wait_for modelversion/digits-v3 '{.status.phase}' RolledBack 180
note "rolled back $((SECONDS - canary_at)) s after it became the canary: $(jp modelversion/digits-v3 '{.status.message}')"
measurements digits-v3
note "error rate of v3 in Prometheus: $(promq "sum(rate(http_requests_total{namespace=\"$ns\",version=\"3\",code=~\"5..\"}[20s])) / sum(rate(http_requests_total{namespace=\"$ns\",version=\"3\"}[20s]))")"
wait_for modelversion/digits-v2 '{.status.phase}' Production 30
[ "$(jp deployment/digits '{.spec.template.metadata.labels.mlops\.dev/version}')" = 2 ] ||
  fail "the stable Deployment no longer serves v2"
note "digits-v2 still serves: the stable Deployment kept version 2 throughout"
stop_loadgen
show
echo
echo "events:"
"$KUBECTL" get events -n "$ns" --sort-by=.lastTimestamp \
  -o custom-columns=OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message | grep -v -E '^\S+-[a-z0-9]{5}\s|^\S+-[a-z0-9]{8,10}\s' |
  cut -c1-170 | tail -n 25 || true

printf '\n\033[1mdemo: the loop closed on the real node in %ss\033[0m — a real model trained, served, queried, drifting, retrained, canaried, promoted, and a bad version rolled back.\n' "$((SECONDS - started))"
cat <<EOF

Explore (while the plane runs; rerun with MLOPS_DEMO_KEEP=1 to keep this namespace):
  source .cluster/env; export KUBECONFIG
  \$KUBECTL get mlops,pods -n $ns
  \$KUBECTL describe modelversion digits-v3 -n $ns
  curl -s "\$PROMETHEUS_URL/api/v1/query?query=model_input_psi_max"
Tear down: make cluster-down (stops every process of the plane and removes its state).
EOF
