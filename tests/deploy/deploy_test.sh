#!/usr/bin/env bash
# Checks the install manifests and the Helm chart the way a cluster would:
# rendered by kustomize and helm, then validated by the real API server with a
# server-side dry run. Needs the local control plane (.cluster/env).
set -uo pipefail
cd "$(dirname "$0")/../.."
env_file="${MLOPS_CLUSTER_ENV:-.cluster/env}"
if [ ! -f "$env_file" ]; then
  echo "FAIL: control plane not running ($env_file missing): run make cluster-up"
  echo "0 passed, 1 failed"
  exit 1
fi
# shellcheck disable=SC1090
source "$env_file"
export KUBECONFIG
helm="${TOOLS_BIN}/helm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=tests/lib/checks.sh
source tests/lib/checks.sh

no_wildcards() { ! grep -nE '"\*"|\[\*\]|- \*$' "$@"; }
secrets_get_only() {
  # Every rule naming secrets (if any) grants exactly ["get"].
  python3 - "$@" <<'PY'
import sys, re
text = open(sys.argv[1]).read()
rules = re.findall(r'resources: \[([^\]]*)\]\n\s*verbs: \[([^\]]*)\]', text)
bad = [r for r in rules if '"secrets"' in r[0] and r[1].strip() != '"get"']
sys.exit(1 if bad else 0)
PY
}
render_contains() { # file pattern...
  local file=$1
  shift
  for p in "$@"; do grep -qE -- "$p" "$file" || { echo "missing: $p"; return 1; }; done
}

check "install.yaml is generated from crds/ and deploy/" hack/gen-install.sh --check
check "kustomize renders deploy/" bash -c "\"$KUBECTL\" kustomize deploy/ > '$work/kustomize.yaml'"
check "deploy RBAC has no wildcards" no_wildcards deploy/rbac.yaml
check "deploy RBAC grants Secrets get only" secrets_get_only deploy/rbac.yaml
check "operator container is non-root, read-only, drops all capabilities" \
  render_contains deploy/deployment.yaml 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' \
  'drop: \["ALL"\]' 'type: RuntimeDefault' 'livenessProbe' 'readinessProbe'
# A dry run cannot create the namespace its namespaced objects go into, so
# the operator's namespace is created for real first (it is harmless).
check "the operator's namespace applies" "$KUBECTL" apply -f deploy/namespace.yaml
check "install.yaml passes a server-side dry run" \
  "$KUBECTL" apply --dry-run=server -f deploy/install.yaml
check "helm lint" "$helm" lint helm/mlops-operator
# GitOps tools (Argo CD, Flux's helm-controller in some modes) render with
# Helm's built-in default Kubernetes version, v1.20: the chart must not refuse.
check "helm template renders without --kube-version" bash -c "\"$helm\" template x helm/mlops-operator >/dev/null"
check "helm template renders" bash -c "\"$helm\" template mlops-operator helm/mlops-operator --kube-version 1.35.4 \
  -n mlops-system --include-crds > '$work/helm.yaml'"
check "helm output carries the CRDs and hardened pod" render_contains "$work/helm.yaml" \
  'name: trainingruns.mlops.dev' 'name: modelversions.mlops.dev' 'name: driftpolicies.mlops.dev' \
  'readOnlyRootFilesystem: true' 'runAsNonRoot: true' 'kind: ValidatingAdmissionPolicy'
check "helm RBAC has no wildcards" no_wildcards "$work/helm.yaml"
check "helm optional monitoring objects render when enabled" bash -c "\"$helm\" template x --kube-version 1.35.4 \
  helm/mlops-operator --set serviceMonitor.enabled=true,prometheusRule.enabled=true \
  | grep -q 'kind: PrometheusRule'"
# Monitoring (tests/deploy/monitoring_test.sh checks the rules and the
# dashboard themselves): what the chart and kustomize ship carries them intact.
same_rule_groups() { # rendered PrometheusRule file
  python3 - "$1" deploy/prometheus/mlops-operator-rules.yaml <<'PY'
import sys, yaml
rendered = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
plain = yaml.safe_load(open(sys.argv[2]))["groups"]
if len(rendered) != 1 or rendered[0]["spec"]["groups"] != plain:
    sys.exit("the PrometheusRule's groups differ from " + sys.argv[2])
PY
}
dashboard_configmap() { # rendered file: one ConfigMap with the sidecar label holding the dashboard
  python3 - "$1" deploy/grafana/mlops-operator-dashboard.json <<'PY'
import json, sys, yaml
cms = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "ConfigMap"
       and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
if len(cms) != 1:
    sys.exit(f"{len(cms)} ConfigMaps labelled grafana_dashboard=1")
if json.loads(cms[0]["data"]["mlops-operator.json"]) != json.load(open(sys.argv[2])):
    sys.exit("the ConfigMap's dashboard differs from " + sys.argv[2])
PY
}
helm_rule_groups() {
  "$helm" template x helm/mlops-operator --kube-version 1.35.4 --set prometheusRule.enabled=true \
    >"$work/rules.yaml" && same_rule_groups "$work/rules.yaml"
}
check "helm PrometheusRule holds exactly the plain rules' groups" helm_rule_groups
check "kustomize PrometheusRule holds exactly the plain rules' groups" \
  same_rule_groups deploy/components/prometheus-operator/prometheusrule.yaml
check "helm renders the dashboard ConfigMap for Grafana's sidecar by default" dashboard_configmap "$work/helm.yaml"
check "helm renders no dashboard with grafanaDashboard.enabled=false" bash -c "! \"$helm\" template x helm/mlops-operator \
  --kube-version 1.35.4 --set grafanaDashboard.enabled=false | grep -q grafana_dashboard"
check "kustomize renders deploy/grafana" bash -c "\"$KUBECTL\" kustomize deploy/grafana > '$work/grafana.yaml'"
check "kustomize's dashboard ConfigMap carries the sidecar label and the dashboard" \
  dashboard_configmap "$work/grafana.yaml"
check "deploy/grafana passes a server-side dry run" \
  "$KUBECTL" apply --dry-run=server -f "$work/grafana.yaml"
check "helm output passes a server-side dry run" bash -c "\"$helm\" template mlops-operator helm/mlops-operator --kube-version 1.35.4 -n mlops-system \
  | \"$KUBECTL\" apply --dry-run=server -f -"

finish
