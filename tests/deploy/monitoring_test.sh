#!/usr/bin/env bash
# Checks the shipped monitoring without a cluster: the alert rules (promtool's
# syntax check and its unit tests, one firing and one quiet case per alert),
# that the Prometheus Operator copies of the rules are generated from the
# plain file, and that the Grafana dashboard is well formed and every query in
# it parses as PromQL (promtool parses them as recording rules; the
# end-to-end DashboardE2E test runs them on a real Prometheus).
set -uo pipefail
cd "$(dirname "$0")/../.."
rules=deploy/prometheus/mlops-operator-rules.yaml
alert_tests=tests/deploy/alerts_test.yaml
dashboard=deploy/grafana/mlops-operator-dashboard.json
promtool=$(command -v promtool || echo /usr/bin/promtool)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=tests/lib/checks.sh
source tests/lib/checks.sh

# Every alert in the rules has a test case expecting it to fire and one
# expecting it not to (exp_alerts: []), and no test names an unknown alert.
every_alert_tested() {
  python3 - "$rules" "$alert_tests" <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
fires, quiet = set(), set()
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
problems = [f"{a}: no case where it fires" for a in sorted(alerts - fires)]
problems += [f"{a}: no case where it does not fire" for a in sorted(alerts - quiet)]
problems += [f"{a}: tested but not defined" for a in sorted((fires | quiet) - alerts)]
print("\n".join(problems) or f"{len(alerts)} alerts, each with both cases")
sys.exit(1 if problems else 0)
PY
}

# The dashboard's structure: unique panel ids, every query panel on the
# ${datasource} variable with a non-empty expr, every $variable it uses
# defined, and the variables the README promises (datasource, job,
# namespace, model).
dashboard_well_formed() {
  python3 - "$dashboard" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
problems = []
variables = {v["name"] for v in d["templating"]["list"]}
for want in ("datasource", "job", "namespace", "model"):
    if want not in variables:
        problems.append(f"template variable {want} missing")
builtin = {"__rate_interval", "__range", "__interval", "__all"}
ids = [p["id"] for p in d["panels"]]
if len(ids) != len(set(ids)):
    problems.append("duplicate panel ids")
queries = 0
for p in d["panels"]:
    if p["type"] == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        problems.append(f"panel {p['title']!r}: datasource is not ${{datasource}}")
    if not p.get("targets"):
        problems.append(f"panel {p['title']!r}: no queries")
    for t in p.get("targets", []):
        expr = t.get("expr", "")
        if not expr.strip():
            problems.append(f"panel {p['title']!r}: empty expr")
        queries += 1
        for name in re.findall(r"\$(\w+)", expr):
            if name not in variables and name not in builtin:
                problems.append(f"panel {p['title']!r}: undefined variable ${name}")
print("\n".join(problems) or f"{len(d['panels'])} panels, {queries} queries")
sys.exit(1 if problems else 0)
PY
}

# Every panel query and template-variable query, with the variables replaced
# as Grafana would (All → .*), as a recording rule: promtool check rules
# parses each expression.
dashboard_queries_parse() {
  python3 - "$dashboard" "$work/dashboard-rules.yaml" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
subst = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "30s",
         "$namespace": ".*", "$model": ".*", "$job": "mlops-operator"}
def expand(expr):
    for k in sorted(subst, key=len, reverse=True):
        expr = expr.replace(k, subst[k])
    return expr
exprs = []
for p in d["panels"]:
    for t in p.get("targets", []):
        exprs.append((p["title"], expand(t["expr"])))
for v in d["templating"]["list"]:
    if v["type"] == "query":
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.*),\s*\w+\)", q.strip())
        if not m:
            sys.exit(f"variable {v['name']}: not label_values(selector, label): {q}")
        exprs.append(("variable " + v["name"], expand(m.group(1))))
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, expr) in enumerate(exprs):
        f.write(f"      # {title}\n      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
PY
  "$promtool" check rules "$work/dashboard-rules.yaml"
}

# A broken query must fail the parse check above (guards the check itself).
parse_check_catches_errors() {
  printf 'groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: "sum(rate(x[1m])"\n' \
    >"$work/broken.yaml"
  ! "$promtool" check rules "$work/broken.yaml" >/dev/null 2>&1
}

check "promtool is installed (Debian package prometheus)" test -x "$promtool"
check "Prometheus Operator copies of the rules are generated from $rules" \
  hack/gen-monitoring.sh --check
check "promtool check rules $rules" "$promtool" check rules "$rules"
check "promtool test rules $alert_tests" "$promtool" test rules "$alert_tests"
check "every alert has a firing and a quiet test case" every_alert_tested
check "the dashboard is well formed" dashboard_well_formed
check "the parse check rejects a broken query" parse_check_catches_errors
check "every dashboard query parses" dashboard_queries_parse
check "the chart's dashboard is the one in deploy/grafana" \
  cmp "$dashboard" helm/mlops-operator/dashboards/mlops-operator.json

finish
