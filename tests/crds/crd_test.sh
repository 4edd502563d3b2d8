#!/usr/bin/env bash
# Tests of the mlops.dev CRDs (crds/) and their samples (crds/samples/) against the local
# control plane: size, installation with client-side `kubectl apply`, kubectl explain, the
# `mlops` category, short names, printer columns, defaults, schema and CEL validation of
# invalid manifests, immutability of TrainingRun and ModelVersion specs, and the status
# subresource.
#
# Needs a running plane (`make cluster-up`), found through .cluster/env at the repository
# root or $MLOPS_CLUSTER_ENV. Without it the test fails; it never skips.
#
# Everything namespaced happens in a fresh namespace that is deleted on exit. The CRDs are
# cluster-scoped and shared by everyone using the plane: they are applied, never deleted.
#
# Prints one line per check and ends with "N passed, N failed"; exits non-zero on any failure.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CRDS="$ROOT/crds"
SAMPLES="$CRDS/samples"
ENV_FILE=${MLOPS_CLUSTER_ENV:-$ROOT/.cluster/env}

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# Prints the closing line and exits with the verdict.
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

if [[ ! -f $ENV_FILE ]]; then
  fail "control plane env file $ENV_FILE is missing: start the plane with 'make cluster-up' (or set MLOPS_CLUSTER_ENV)"
  finish
fi
# shellcheck disable=SC1090
source "$ENV_FILE"
if [[ -z ${KUBECTL:-} || ! -x ${KUBECTL:-} || -z ${KUBECONFIG:-} ]]; then
  fail "$ENV_FILE must set KUBECTL (an executable kubectl) and KUBECONFIG"
  finish
fi
export KUBECONFIG

# The plane may be (re)starting: give its API server up to a minute to become ready.
ready=false
for _ in $(seq 1 60); do
  if "$KUBECTL" get --raw /readyz >/dev/null 2>&1; then
    ready=true
    break
  fi
  sleep 1
done
if ! $ready; then
  fail "the API server of $KUBECONFIG is not ready: $("$KUBECTL" get --raw /readyz 2>&1 | head -c 300)"
  finish
fi

WORK=$(mktemp -d)
NS="crd-test-$(date +%s)-$$"
# A private discovery cache, so that newly installed kinds and categories are seen at once.
k() { "$KUBECTL" --cache-dir "$WORK/kube-cache" "$@"; }
kn() { k --namespace "$NS" "$@"; }
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------- helpers

# expect_ok DESCRIPTION COMMAND... : the command must succeed.
expect_ok() {
  local desc=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then
    pass "$desc"
  else
    fail "$desc: $(head -c 600 "$WORK/out")"
  fi
}

# expect_refused DESCRIPTION "SUBSTRING..." COMMAND... : the command must fail, and its
# output must contain every |-separated substring (the field and the reason it names).
expect_refused() {
  local desc=$1 wanted=$2
  shift 2
  if "$@" >"$WORK/out" 2>&1; then
    fail "$desc: was accepted"
    return
  fi
  local part missing=""
  IFS='|' read -r -a parts <<<"$wanted"
  for part in "${parts[@]}"; do
    grep -qF -- "$part" "$WORK/out" || missing+=" '$part'"
  done
  if [[ -z $missing ]]; then
    pass "$desc: refused ($(grep -m1 -F -- "${parts[0]:-invalid}" "$WORK/out" | sed 's/^[* ]*//' | head -c 220))"
  else
    fail "$desc: refused, but the message lacks$missing: $(head -c 600 "$WORK/out")"
  fi
}

# create_from_stdin: creates the manifest on stdin in the test namespace.
create_from_stdin() { kn create -f - ; }

# expect_field DESCRIPTION RESOURCE JSONPATH WANT : a field of an object has the wanted value.
expect_field() {
  local desc=$1 resource=$2 path=$3 want=$4 got
  got=$(kn get "$resource" -o "jsonpath={$path}" 2>&1)
  if [[ $got == "$want" ]]; then
    pass "$desc ($path = '$want')"
  else
    fail "$desc: $path is '$got', want '$want'"
  fi
}

# A minimal valid trainer template, indented for a TrainingRun spec.
TEMPLATE='  template:
    spec:
      containers:
      - name: trainer
        image: registry.example.com/ml/trainer:1'

# training_run NAME SPEC-LINES : a TrainingRun manifest.
training_run() {
  cat <<EOF
apiVersion: mlops.dev/v1alpha1
kind: TrainingRun
metadata:
  name: $1
spec:
$2
EOF
}

# model_version NAME SPEC-LINES : a ModelVersion manifest.
model_version() {
  cat <<EOF
apiVersion: mlops.dev/v1alpha1
kind: ModelVersion
metadata:
  name: $1
spec:
$2
EOF
}

# drift_policy NAME SPEC-LINES : a DriftPolicy manifest.
drift_policy() {
  cat <<EOF
apiVersion: mlops.dev/v1alpha1
kind: DriftPolicy
metadata:
  name: $1
spec:
$2
EOF
}

# ---------------------------------------------------------------------------- files

crd_files=("$CRDS"/*.yaml)
if [[ ${#crd_files[@]} -eq 3 && ! -e $CRDS/kustomization.yaml ]]; then
  pass "crds/ holds exactly three CRD files and no kustomization"
else
  fail "crds/ should hold exactly three CRD files and no kustomization: $(cd "$CRDS" && echo *)"
fi
for f in "${crd_files[@]}"; do
  size=$(wc -c <"$f")
  if ((size < 200 * 1024)); then
    pass "${f#"$ROOT"/} is $size bytes (under 200 KB)"
  else
    fail "${f#"$ROOT"/} is $size bytes, over 200 KB: client-side apply would fail"
  fi
done

# ---------------------------------------------------------------------------- install

expect_ok "kubectl apply -f crds/ (client-side)" k apply -f "$CRDS/"
for crd in trainingruns driftpolicies modelversions; do
  expect_ok "CRD $crd.mlops.dev is Established" \
    k wait --for=condition=Established "crd/$crd.mlops.dev" --timeout=60s
done
expect_ok "kubectl apply -f crds/ again is idempotent" k apply -f "$CRDS/"

if ! k create namespace "$NS" >"$WORK/out" 2>&1; then
  fail "create namespace $NS: $(cat "$WORK/out")"
  finish
fi

# Serving the new kinds can lag Established by a moment: retry the first apply briefly.
for _ in $(seq 1 20); do
  kn apply -f "$SAMPLES/" >"$WORK/samples" 2>&1 && break
  sleep 1
done
expect_ok "samples apply (crds/samples/)" kn apply -f "$SAMPLES/"

# ---------------------------------------------------------------------------- discovery

# explains FIELD TEXT... : `kubectl explain FIELD` shows every TEXT. The OpenAPI document
# of a new CRD is published a moment after it is Established, so this retries briefly.
explains() {
  local field=$1 text ok
  shift
  for _ in $(seq 1 30); do
    ok=true
    if k explain "$field" >"$WORK/explain" 2>&1; then
      for text in "$@"; do
        grep -qF -- "$text" "$WORK/explain" || ok=false
      done
    else
      ok=false
    fi
    if $ok; then
      pass "kubectl explain $field shows the descriptions"
      return
    fi
    sleep 1
  done
  fail "kubectl explain $field lacks descriptions: $(head -c 600 "$WORK/explain")"
}
explains trainingrun.spec.dataset "The dataset the run trains on" "Where the dataset is read from"
explains modelversion.spec.stage "the only mutable field"
explains driftpolicy.spec.analysis.checks "PromQL instant query" "Verdict when the query returns an empty vector"

listed=$(kn get mlops -o name 2>&1)
if grep -qx "trainingrun.mlops.dev/iris-run-1" <<<"$listed" &&
  grep -qx "modelversion.mlops.dev/iris-v1" <<<"$listed" &&
  grep -qx "driftpolicy.mlops.dev/iris" <<<"$listed"; then
  pass "kubectl get mlops lists the TrainingRun, ModelVersion and DriftPolicy"
else
  fail "kubectl get mlops: $listed"
fi
expect_ok "short names tr, mv, dp" kn get tr/iris-run-1 mv/iris-v1 dp/iris

# header_has KIND COLUMN... : the default table of a kind shows these columns, in order.
header_has() {
  local kind=$1 header want
  shift
  header=$(kn get "$kind" 2>&1 | head -n1 | tr -s ' ')
  want="NAME $*"
  if [[ $header == "$want" ]]; then
    pass "printer columns of $kind: $want"
  else
    fail "printer columns of $kind: got '$header', want '$want'"
  fi
}
header_has trainingruns MODEL PHASE VERSION REASON AGE
header_has modelversions MODEL VERSION STAGE PHASE AGE
header_has driftpolicies MODEL PHASE RETRAINS AGE

# ---------------------------------------------------------------------------- defaults

training_run iris-defaults "  model: iris
$TEMPLATE
  serving:
    template:
      spec:
        containers:
        - name: server
          image: registry.example.com/ml/server:1" | create_from_stdin >/dev/null 2>&1
expect_field "TrainingRun backoffLimit defaults to 1" tr/iris-defaults .spec.backoffLimit 1
expect_field "TrainingRun promotion defaults to Manual" tr/iris-defaults .spec.promotion Manual
expect_field "serving port defaults to 8080" tr/iris-defaults .spec.serving.port 8080
expect_field "serving replicas defaults to 1" tr/iris-defaults .spec.serving.replicas 1
expect_field "TrainingRun register stays unset" tr/iris-defaults .spec.register ""
model_version iris-v7 "  model: iris
  version: 7
  artifact:
    uri: s3://ml-artifacts/iris/7" | create_from_stdin >/dev/null 2>&1
expect_field "ModelVersion stage defaults to None" mv/iris-v7 .spec.stage None
expect_field "DriftPolicy analysis.bakeTime defaults to 10m" dp/iris .spec.analysis.bakeTime 10m
expect_field "DriftPolicy onNoData defaults to Inconclusive" dp/iris .spec.analysis.checks[1].onNoData Inconclusive
expect_field "DriftPolicy consecutiveErrorLimit defaults to 4" dp/iris .spec.analysis.consecutiveErrorLimit 4
expect_field "DriftPolicy progressDeadlineSeconds defaults to 600" dp/iris .spec.analysis.progressDeadlineSeconds 600
expect_field "DriftPolicy insecureSkipVerify defaults to false" dp/iris .spec.prometheus.insecureSkipVerify false
expect_field "retrain template backoffLimit defaults to 1" dp/iris .spec.drift.retrain.template.backoffLimit 1
drift_policy bare "  model: bare" | create_from_stdin >/dev/null 2>&1
expect_field "an empty DriftPolicy gets analysis.interval 30s" dp/bare .spec.analysis.interval 30s
expect_field "an empty DriftPolicy gets drift.interval 60s" dp/bare .spec.drift.interval 60s
expect_field "an empty DriftPolicy gets drift.breachAfter 3" dp/bare .spec.drift.breachAfter 3
expect_field "an empty DriftPolicy gets prometheus.timeout 10s" dp/bare .spec.prometheus.timeout 10s

# ---------------------------------------------------------------------------- invalid manifests

expect_refused "bad model name" "spec.model" \
  create_from_stdin < <(training_run bad-model "  model: Iris_Model
$TEMPLATE")
expect_refused "model name of 41 characters" "spec.model" \
  create_from_stdin < <(training_run long-model "  model: $(printf 'm%.0s' {1..41})
$TEMPLATE")
expect_refused "TrainingRun name of 53 characters" "metadata.name|52" \
  create_from_stdin < <(training_run "$(printf 'r%.0s' {1..53})" "  model: iris
$TEMPLATE")
expect_ok "TrainingRun name of 52 characters is accepted" \
  create_from_stdin < <(training_run "$(printf 'r%.0s' {1..52})" "  model: iris
$TEMPLATE")
expect_refused "bad dataset digest" "spec.dataset.digest" \
  create_from_stdin < <(training_run bad-digest "  model: iris
$TEMPLATE
  dataset:
    uri: s3://datasets/iris
    digest: sha256:ABCDEF")
expect_refused "bad gate op" "spec.validation.gates[0].op" \
  create_from_stdin < <(training_run bad-op "  model: iris
$TEMPLATE
  validation:
    gates:
    - metric: accuracy
      op: '=='
      value: 0.9")
expect_refused "both template and reproduction" "spec.template|reproduction" \
  create_from_stdin < <(training_run both "  model: iris
$TEMPLATE
  reproduction:
    of: iris-run-1")
expect_refused "neither template nor reproduction" "spec.template|required" \
  create_from_stdin < <(training_run neither "  model: iris
  dataset:
    uri: s3://datasets/iris")
expect_refused "template with only metadata and no reproduction" "spec.template" \
  create_from_stdin < <(training_run metadata-only "  model: iris
  template:
    metadata:
      labels:
        team: ml")
expect_ok "reproduction with a metadata-only template is accepted" \
  create_from_stdin < <(training_run iris-repro-1 "  model: iris
  template:
    metadata:
      labels:
        team: ml
  reproduction:
    of: iris-run-1
    tolerance:
      accuracy: 0.02")
expect_refused "ttlSecondsAfterFinished 30" "spec.ttlSecondsAfterFinished|60" \
  create_from_stdin < <(training_run short-ttl "  model: iris
$TEMPLATE
  ttlSecondsAfterFinished: 30")
expect_refused "container without image" "spec.template.spec.containers[0].image" \
  create_from_stdin < <(training_run no-image "  model: iris
  template:
    spec:
      containers:
      - name: trainer")
expect_refused "resultsContainer naming no container" "spec.resultsContainer" \
  create_from_stdin < <(training_run bad-results "  model: iris
$TEMPLATE
  resultsContainer: sidecar")
expect_refused "unknown promotion" "spec.promotion" \
  create_from_stdin < <(training_run bad-promotion "  model: iris
$TEMPLATE
  promotion: Sometimes")

expect_refused "ModelVersion name not <model>-v<version>" "metadata.name|<spec.model>-v<spec.version>" \
  create_from_stdin < <(model_version iris-v2 "  model: iris
  version: 1
  artifact:
    uri: s3://ml-artifacts/iris/1")
expect_refused "ModelVersion name with a leading zero in the version" "metadata.name" \
  create_from_stdin < <(model_version iris-v01 "  model: iris
  version: 1
  artifact:
    uri: s3://ml-artifacts/iris/1")
expect_refused "ModelVersion name of another model" "metadata.name" \
  create_from_stdin < <(model_version iris-v5 "  model: iri
  version: 5
  artifact:
    uri: s3://ml-artifacts/iri/5")
expect_ok "ModelVersion of a model whose name ends in -v<digits> (a-v1-v2)" \
  create_from_stdin < <(model_version a-v1-v2 "  model: a-v1
  version: 2
  artifact:
    uri: s3://ml-artifacts/a-v1/2")
expect_refused "ModelVersion version 0" "spec.version" \
  create_from_stdin < <(model_version iris-v0 "  model: iris
  version: 0
  artifact:
    uri: s3://ml-artifacts/iris/0")
expect_refused "ModelVersion unknown stage" "spec.stage" \
  create_from_stdin < <(model_version iris-v3 "  model: iris
  version: 3
  artifact:
    uri: s3://ml-artifacts/iris/3
  stage: Staging")
expect_refused "ModelVersion bad artifact digest" "spec.artifact.digest" \
  create_from_stdin < <(model_version iris-v4 "  model: iris
  version: 4
  artifact:
    uri: s3://ml-artifacts/iris/4
    digest: md5:1234")

expect_refused "DriftPolicy named differently from its model" "metadata.name|spec.model" \
  create_from_stdin < <(drift_policy other "  model: iris")
expect_refused "DriftPolicy check with min greater than max" "spec.analysis.checks[0].min" \
  create_from_stdin < <(drift_policy minmax "  model: minmax
  analysis:
    checks:
    - name: latency
      query: up
      min: 2
      max: 1")
expect_refused "DriftPolicy check without min or max" "spec.drift.checks[0]|min, max or both" \
  create_from_stdin < <(drift_policy nobounds "  model: nobounds
  drift:
    checks:
    - name: accuracy
      query: up")
expect_refused "DriftPolicy bad duration" "spec.analysis.interval" \
  create_from_stdin < <(drift_policy baddur "  model: baddur
  analysis:
    interval: 30 seconds")
expect_refused "DriftPolicy bad onNoData" "spec.drift.checks[0].onNoData" \
  create_from_stdin < <(drift_policy badnodata "  model: badnodata
  drift:
    checks:
    - name: accuracy
      query: up
      min: 0.9
      onNoData: Ignore")
expect_refused "DriftPolicy retrain template without template" "spec.drift.retrain.template.template" \
  create_from_stdin < <(drift_policy notemplate "  model: notemplate
  drift:
    retrain:
      template:
        dataset:
          uri: s3://datasets/x")

# ---------------------------------------------------------------------------- immutability

expect_ok "re-applying the unchanged samples is accepted (GitOps re-sync)" kn apply -f "$SAMPLES/"
expect_ok "TrainingRun metadata may change (label added)" kn label tr/iris-run-1 purpose=crd-test
expect_refused "TrainingRun spec change (seed 42 -> 43)" "immutable" \
  kn patch tr/iris-run-1 --type=merge -p '{"spec":{"seed":43}}'
expect_refused "TrainingRun optional field added (register)" "immutable" \
  kn patch tr/iris-run-1 --type=merge -p '{"spec":{"register":false}}'
expect_refused "TrainingRun optional field removed (hyperparameters)" "immutable" \
  kn patch tr/iris-run-1 --type=merge -p '{"spec":{"hyperparameters":null}}'
expect_refused "TrainingRun optional field removed (activeDeadlineSeconds)" "immutable" \
  kn patch tr/iris-run-1 --type=json -p '[{"op":"remove","path":"/spec/activeDeadlineSeconds"}]'
expect_refused "TrainingRun pod spec change outside the checked fields (nodeSelector)" "immutable" \
  kn patch tr/iris-run-1 --type=merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"disk":"ssd"}}}}}'
expect_refused "TrainingRun template annotation change" "immutable" \
  kn patch tr/iris-run-1 --type=merge -p '{"spec":{"template":{"metadata":{"annotations":{"extra":"x"}}}}}'
sed 's/^  seed: 42$/  seed: 7/' "$SAMPLES/trainingrun.yaml" >"$WORK/edited-run.yaml"
expect_refused "kubectl apply of an edited TrainingRun manifest" "immutable" \
  kn apply -f "$WORK/edited-run.yaml"

expect_ok "ModelVersion stage may change (None -> Archived)" \
  kn patch mv/iris-v1 --type=merge -p '{"spec":{"stage":"Archived"}}'
expect_field "ModelVersion stage changed" mv/iris-v1 .spec.stage Archived
expect_refused "ModelVersion artifact change" "spec.artifact|immutable" \
  kn patch mv/iris-v1 --type=merge -p '{"spec":{"artifact":{"uri":"s3://elsewhere/model"}}}'
expect_refused "ModelVersion optional field removed (metrics)" "spec.metrics|immutable" \
  kn patch mv/iris-v1 --type=merge -p '{"spec":{"metrics":null}}'
expect_refused "ModelVersion serving change" "spec.serving|immutable" \
  kn patch mv/iris-v1 --type=merge -p '{"spec":{"serving":{"replicas":5}}}'
expect_refused "ModelVersion optional field added (framework)" "spec.framework|immutable" \
  kn patch mv/iris-v7 --type=merge -p '{"spec":{"framework":"pytorch"}}'
expect_refused "ModelVersion optional field added (artifact.digest)" "spec.artifact|immutable" \
  kn patch mv/iris-v7 --type=merge -p '{"spec":{"artifact":{"digest":"sha256:a2d8aedfec7cbc6e3f0adafe81e0d14624947ab7e90a321a3b7032cbe961dc52"}}}'
expect_refused "ModelVersion version change" "spec.version: Invalid value: version is immutable" \
  kn patch mv/iris-v7 --type=merge -p '{"spec":{"version":8}}'
# Guard for future fields: every ModelVersion spec field except stage has its own rule.
# shellcheck disable=SC2016 # $k and $v are go-template variables
mv_fields=$(k get crd modelversions.mlops.dev -o go-template='{{with index .spec.versions 0}}{{range $k, $v := .schema.openAPIV3Schema.properties.spec.properties}}{{$k}} {{end}}{{end}}' 2>&1)
mv_rules=$(k get crd modelversions.mlops.dev -o go-template='{{with index .spec.versions 0}}{{range index .schema.openAPIV3Schema.properties.spec "x-kubernetes-validations"}}{{.rule}}{{"\n"}}{{end}}{{end}}' 2>&1)
unguarded=""
for f in $mv_fields; do
  [[ $f == stage ]] && continue
  grep -qF "self.$f == oldSelf.$f" <<<"$mv_rules" || unguarded+=" $f"
done
if [[ -n $mv_fields && -z $unguarded ]]; then
  pass "every ModelVersion spec field except stage has an immutability rule (${mv_fields% })"
else
  fail "ModelVersion spec fields without an immutability rule:${unguarded:- (could not read the CRD: $mv_fields)}"
fi
expect_ok "DriftPolicy spec may change" \
  kn patch dp/iris --type=merge -p '{"spec":{"suspend":true}}'

# ---------------------------------------------------------------------------- status subresource

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect_ok "TrainingRun status is written through the status subresource" \
  kn patch tr/iris-defaults --subresource=status --type=merge -p "{\"status\":{
    \"phase\":\"Succeeded\",\"reason\":\"Registered\",\"message\":\"registered iris-v1\",
    \"jobName\":\"iris-defaults\",\"jobUID\":\"0b7f5c2e\",\"startTime\":\"$now\",\"completionTime\":\"$now\",
    \"attempts\":1,\"seed\":-4242,\"artifactURI\":\"s3://a/b\",\"fingerprint\":\"v1:00\",
    \"imageDigests\":{\"trainer\":\"sha256:00\"},\"metrics\":{\"accuracy\":0.9},
    \"artifact\":{\"uri\":\"s3://a/b\",\"digest\":\"sha256:00\"},\"datasetDigest\":\"sha256:00\",
    \"modelVersion\":\"iris-v1\",\"version\":1,\"observedGeneration\":1,
    \"reproduction\":{\"of\":\"x\",\"fingerprintMatch\":true,\"deltas\":{\"accuracy\":0.001},\"verdict\":\"Reproduced\"},
    \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Succeeded\",\"message\":\"\",
      \"lastTransitionTime\":\"$now\",\"observedGeneration\":1}]}}"
expect_refused "TrainingRun status with an unknown phase" "status.phase" \
  kn patch tr/iris-defaults --subresource=status --type=merge -p '{"status":{"phase":"Exploded"}}'
expect_ok "ModelVersion status with analysis is written through the status subresource" \
  kn patch mv/iris-v7 --subresource=status --type=merge -p "{\"status\":{
    \"phase\":\"Canary\",\"reason\":\"Analysing\",\"analysis\":{\"kind\":\"Canary\",\"phase\":\"Running\",
    \"startedAt\":\"$now\",\"successes\":2,\"failures\":0,\"inconclusives\":0,\"consecutiveErrors\":0,
    \"checks\":[{\"name\":\"error-rate\",\"measurements\":[{\"time\":\"$now\",\"query\":\"up\",\"value\":0.001,
    \"max\":0.01,\"verdict\":\"Successful\"}]}]},
    \"conditions\":[{\"type\":\"Reconciling\",\"status\":\"True\",\"reason\":\"Canary\",\"message\":\"analysing\",
      \"lastTransitionTime\":\"$now\"}]}}"
expect_ok "DriftPolicy status is written through the status subresource" \
  kn patch dp/iris --subresource=status --type=merge -p "{\"status\":{
    \"phase\":\"Drifting\",\"lastEvaluationTime\":\"$now\",\"retrainCount\":2,\"productionVersion\":1,
    \"checks\":[{\"name\":\"online-accuracy\",\"query\":\"up\",\"value\":0.8,\"verdict\":\"Failed\",\"consecutiveBreaches\":2}],
    \"lastRetrain\":{\"time\":\"$now\",\"trainingRun\":\"iris-retrain-1\",\"check\":\"online-accuracy\"}}}"
expect_field "printer column Retrains reads status.retrainCount" dp/iris .status.retrainCount 2
kn patch dp/iris --subresource=status --type=merge -p '{"spec":{"suspend":false}}' >/dev/null 2>&1
expect_field "the status subresource does not change spec" dp/iris .spec.suspend true

finish
