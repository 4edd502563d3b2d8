#!/usr/bin/env bash
# Restarts the plane's main kube-apiserver with the identical command line
# (same port, certificates, etcd), then waits until it is ready again. Tests use
# it to check that their watches resume after an API server restart; clients
# keep their kubeconfig since nothing about the endpoint changes.
set -euo pipefail

# shellcheck source=SCRIPTDIR/plane/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/plane/lib.sh"

[ -f "$ENV_FILE" ] || plane_die "no plane: $ENV_FILE missing (run make cluster-up)"
# shellcheck disable=SC1090
. "$ENV_FILE"
component_alive kube-apiserver || plane_die "kube-apiserver is not running (run make cluster-up)"

plane_lock
start=$SECONDS
plane_log "restarting kube-apiserver"
restart_component kube-apiserver
ready() {
  curl -fsS --max-time 3 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" \
    --key "$PKI_DIR/admin.key" -o /dev/null "$APISERVER_URL/readyz"
}
wait_until kube-apiserver 90 "kube-apiserver /readyz on $APISERVER_URL" ready
plane_log "kube-apiserver ready again after $((SECONDS - start))s"

# Ready is not yet whole: the scheduler and the controller-manager reconnect
# while the new server starts, some of their watches are answered 403 before
# its authorizer is ready, and client-go's reflectors back off. A Job created
# in the next two minutes then waited up to 100 s for its pod, and the test
# after a restart timed out. So the restart is done when the plane runs a Job
# to completion again (Job controller, scheduler, kwok): a test that restarts
# the API server leaves the plane as it found it.
probe_ns="restart-probe-$$-$RANDOM"
kube() { "$KUBECTL" --kubeconfig="$KUBECONFIG" "$@"; }
kube create namespace "$probe_ns" >/dev/null
kube apply -n "$probe_ns" -f - >/dev/null <<JOB
apiVersion: batch/v1
kind: Job
metadata:
  name: probe
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        test.mlops.dev/results: "{}"
    spec:
      restartPolicy: Never
      containers:
        - name: probe
          image: example.org/restart-probe:1
JOB
if ! kube wait -n "$probe_ns" --for=condition=Complete job/probe --timeout=300s >/dev/null; then
  kube delete namespace "$probe_ns" --wait=false >/dev/null 2>&1 || true
  plane_die "after the restart the plane did not run a Job to completion within 300 s"
fi
kube delete namespace "$probe_ns" --wait=false >/dev/null
plane_log "the plane runs Jobs again $((SECONDS - start))s after the restart"
