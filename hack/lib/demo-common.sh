# Shared by hack/demo.sh (the kwok demo) and hack/demo-real.sh (the real
# node): progress lines, failure with context, waits, building the operator
# and starting it. Source after setting `started` (SECONDS at the start) and
# `build_dir`; `ns` and `log` are read once they are set.

step() { printf '\n\033[1m==> [%3ss] %s\033[0m\n' "$((SECONDS - started))" "$*"; }
note() { printf '    %s\n' "$*"; }
# What fail() shows of the demo's namespace (demo-real.sh adds pods).
DEMO_FAIL_GET="${DEMO_FAIL_GET:-mlops}"
fail() {
  printf '\n\033[31mdemo: %s\033[0m\n' "$*" >&2
  # shellcheck disable=SC2086 # a list of kinds and flags
  [ -z "${ns:-}" ] || "$KUBECTL" get $DEMO_FAIL_GET -n "$ns" >&2 || true
  [ -z "${log:-}" ] || { echo "--- last operator log lines ($log) ---" >&2; tail -n 30 "$log" >&2; }
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until `kubectl get KIND/NAME -o jsonpath=PATH` prints VALUE.
wait_for() { # KIND/NAME JSONPATH VALUE TIMEOUT_SECONDS
  local deadline=$((SECONDS + $4)) got=""
  while [ $SECONDS -lt $deadline ]; do
    got=$("$KUBECTL" get -n "$ns" "$1" -o "jsonpath=$2" 2>/dev/null || true)
    [ "$got" = "$3" ] && return 0
    sleep 0.5
  done
  fail "$1 $2 is '$got', expected '$3' within $4 s"
}

# Builds the operator and installs the CRDs, waiting until they serve.
build_operator_and_crds() {
  cmake -S . -B "$build_dir" -G Ninja >/dev/null
  cmake --build "$build_dir" -j "${JOBS:-2}" --target mlops-operator
  "$KUBECTL" apply -f crds/ >/dev/null
  "$KUBECTL" wait --for=condition=Established --timeout=60s \
    crd/trainingruns.mlops.dev crd/modelversions.mlops.dev crd/driftpolicies.mlops.dev >/dev/null
}

# Starts the operator on namespace $ns with its log in $log and free ports
# (extra flags appended); sets op_pid and returns once it is ready.
start_operator() { # [FLAG...]
  metrics_port=$(free_port)
  health_port=$(free_port)
  "$build_dir/mlops-operator" --kubeconfig="$KUBECONFIG" --log-format=text \
    --namespace="$ns" \
    --metrics-bind-address="127.0.0.1:$metrics_port" \
    --health-probe-bind-address="127.0.0.1:$health_port" \
    --prometheus-url="$PROMETHEUS_URL" "$@" >"$log" 2>&1 &
  op_pid=$!
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$op_pid" 2>/dev/null || fail "the operator exited"
    sleep 0.2
  done
  fail "the operator was not ready within 30 s"
}
