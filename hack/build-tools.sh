#!/usr/bin/env bash
# Builds the control plane's binaries once and caches them by version outside
# the clone ($TOOLS_BIN). A second run finds them and returns in milliseconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

log() { printf '[build-tools %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

mkdir -p "$TOOLS_BIN"
need=()
for b in etcd etcdctl kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm; do
  [ -x "$TOOLS_BIN/$b" ] || need+=("$b")
done
if [ ${#need[@]} -eq 0 ]; then
  log "cached: $TOOLS_BIN"
  exit 0
fi
log "building ${need[*]} into $TOOLS_BIN (cold build: 10-25 minutes on 2 cores)"

export CGO_ENABLED=0
export GOFLAGS="-trimpath -mod=readonly"
export GOTOOLCHAIN=local
minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION} \
 -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=${minor}"

build_one() { # name package
  local name=$1 pkg=$2 start=$SECONDS
  log "go build $name ..."
  (cd "$here/tools" && go build -tags selinux,notest -ldflags "$ldflags" -o "$TOOLS_BIN/$name.tmp" "$pkg")
  mv "$TOOLS_BIN/$name.tmp" "$TOOLS_BIN/$name"
  log "built $name in $((SECONDS - start))s"
}

for b in "${need[@]}"; do
  case "$b" in
    etcd) build_one etcd ./etcd ;;
    etcdctl) build_one etcdctl ./etcdctl ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl)
      build_one "$b" "k8s.io/kubernetes/cmd/$b" ;;
    kwok|helm)
      start=$SECONDS
      case "$b" in
        kwok) mod="sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}" ;;
        helm) mod="helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" ;;
      esac
      log "go install $mod ..."
      GOFLAGS=-trimpath GOBIN="$TOOLS_BIN" go install "$mod"
      log "built $b in $((SECONDS - start))s" ;;
  esac
done
log "done: $TOOLS_BIN"
