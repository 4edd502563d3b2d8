#!/usr/bin/env bash
# Imports an OCI image archive (hack/node/oci-archive.sh makes them) into the
# containerd of the plane's real node, namespace k8s.io, where the kubelet
# finds it: pods then use it with `imagePullPolicy: Never` (or IfNotPresent).
#
# Usage:
#   hack/node/import-image.sh <archive.tar>...
#
# The plane is the one of this checkout (.cluster/env), or the one
# $MLOPS_CLUSTER_DIR names. An archive whose image is already present with
# the same manifest digest is skipped, so calling it again is cheap.
# Exits 2 (with the reason on stderr) when the plane has no real node.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../plane/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/plane/lib.sh"

[ $# -ge 1 ] || {
  echo "usage: hack/node/import-image.sh <archive.tar>..." >&2
  exit 64
}
[ -f "$ENV_FILE" ] || plane_die "no plane in $CLUSTER_DIR: run make cluster-up"
sock="$(
  set +u
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  if [ -n "${MLOPS_REAL_NODE_UNAVAILABLE:-}" ]; then
    echo "import-image: the plane has no real node: $MLOPS_REAL_NODE_UNAVAILABLE" >&2
    exit 2
  fi
  printf '%s\n' "$REAL_NODE_CONTAINERD_ADDRESS"
)"
ctr=(ctr --address "$sock" --namespace k8s.io)

for archive in "$@"; do
  [ -f "$archive" ] || plane_die "no such archive: $archive"
  # The name and manifest digest the archive declares (index.json).
  read -r name digest < <(tar -xOf "$archive" index.json | python3 -c '
import json, sys
m = json.load(sys.stdin)["manifests"][0]
print(m["annotations"]["io.containerd.image.name"], m["digest"])')
  if "${ctr[@]}" images ls "name==$name" 2>/dev/null | awk 'NR > 1 {print $3}' | grep -qx "$digest"; then
    plane_log "image $name already present ($digest)"
    continue
  fi
  start=$SECONDS
  plane_log "importing $name from $archive ($(du -h "$archive" | cut -f1))"
  "${ctr[@]}" images import "$archive" >/dev/null
  # ctr unpacks it for the default (overlayfs) snapshotter; keep it from the
  # kubelet's image garbage collection.
  "${ctr[@]}" images label "$name" io.cri-containerd.pinned=pinned >/dev/null
  plane_log "imported $name ($digest) in $((SECONDS - start))s"
done
