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
