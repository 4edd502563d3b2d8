#!/usr/bin/env bash
# Stops every process of the local control plane started by hack/cluster-up.sh
# and removes its runtime state (.cluster/: env, certificates, kubeconfigs,
# etcd and Prometheus data) and every trace of the real node. The logs in
# .cluster/logs/ are kept for post-mortems; the next fresh cluster-up
# replaces them.
# Safe to call when nothing is running.
set -euo pipefail

# shellcheck source=SCRIPTDIR/plane/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/plane/lib.sh"
# shellcheck source=SCRIPTDIR/versions.sh
source "$PLANE_HACK/versions.sh"
# shellcheck source=SCRIPTDIR/node/lib.sh
source "$PLANE_HACK/node/lib.sh"

if [ ! -d "$CLUSTER_DIR" ]; then
  plane_log "no plane in $CLUSTER_DIR; nothing to stop"
  exit 0
fi

plane_lock
# The real node first: its pods, mounts, cgroups, bridge, iptables chains and
# sysctls (hack/node/lib.sh); then the processes of the plane.
node_removed=true
real_node_down || node_removed=false
stop_all_components

# Only pids recorded by cluster-up were signalled; confirm none survived.
left=()
for f in "$PID_DIR"/*; do
  [ -e "$f" ] || continue
  name="$(basename "$f")"
  component_alive "$name" && left+=("$name")
done
[ ${#left[@]} -eq 0 ] || plane_die "still running: ${left[*]}"

rm -rf "${CLUSTER_DIR:?}/env" "$CLUSTER_DIR/env.tmp" "$PID_DIR" "$CMD_DIR" "$PKI_DIR" \
  "$CLUSTER_DIR/etcd" "$CLUSTER_DIR/prometheus" "$CLUSTER_DIR/prometheus-sd" "$CLUSTER_DIR/artifacts" "$CLUSTER_DIR"/*.kubeconfig "$CLUSTER_DIR/prometheus.yml"
$node_removed || plane_die "the real node could not be removed completely (see the warnings above)"
plane_log "plane stopped; state removed (logs kept in $LOG_DIR)"
