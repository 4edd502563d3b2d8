#!/usr/bin/env bash
# Builds the control plane's binaries once and caches them by version outside
# the clone ($TOOLS_BIN). A second run finds them and returns in milliseconds.
#
# The real node's binaries (kubelet, kube-proxy and the static pause binary in
# $TOOLS_BIN; crictl and the CNI plugins in $NODE_BIN) are built too, unless
# MLOPS_REAL_NODE=off: the plane runs without the real node then.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

log() { printf '[build-tools %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

CNI_PLUGINS=(bridge loopback host-local portmap)

mkdir -p "$TOOLS_BIN"
need=()
for b in etcd etcdctl kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm; do
  [ -x "$TOOLS_BIN/$b" ] || need+=("$b")
done
if [ "${MLOPS_REAL_NODE:-on}" != off ]; then
  for b in kubelet kube-proxy pause; do
    [ -x "$TOOLS_BIN/$b" ] || need+=("$b")
  done
  [ -x "$NODE_BIN/crictl" ] || need+=(crictl)
  for b in "${CNI_PLUGINS[@]}"; do
    [ -x "$NODE_BIN/cni/$b" ] || need+=("cni-$b")
  done
fi
if [ ${#need[@]} -eq 0 ]; then
  log "cached: $TOOLS_BIN"
  exit 0
fi
log "building ${need[*]} (cold build of the Kubernetes binaries: 10-25 minutes on 2 cores)"

export CGO_ENABLED=0
export GOFLAGS="-trimpath -mod=readonly"
export GOTOOLCHAIN=local
export GOCACHE="$GO_BUILD_CACHE"
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
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kube-proxy)
      build_one "$b" "k8s.io/kubernetes/cmd/$b" ;;
    pause)
      # The sandbox ("pause") container's program, compiled statically from
      # the Kubernetes module's own source: no registry is needed for it.
      src="$(cd "$here/tools" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
      [ -f "$src" ] || { (cd "$here/tools" && go mod download k8s.io/kubernetes) &&
        src="$(cd "$here/tools" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"; }
      log "gcc -static $src"
      gcc -Os -Wall -static -DVERSION="${KUBE_VERSION}-mlops" -o "$TOOLS_BIN/pause.tmp" "$src"
      strip "$TOOLS_BIN/pause.tmp"
      mv "$TOOLS_BIN/pause.tmp" "$TOOLS_BIN/pause" ;;
    crictl)
      start=$SECONDS
      log "go install sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION} ..."
      mkdir -p "$NODE_BIN"
      GOFLAGS=-trimpath GOBIN="$NODE_BIN" go install "sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION}"
      log "built crictl in $((SECONDS - start))s" ;;
    cni-*)
      start=$SECONDS
      mod="github.com/containernetworking/plugins/plugins"
      case "${b#cni-}" in
        bridge | loopback) pkg="$mod/main/${b#cni-}" ;;
        host-local) pkg="$mod/ipam/host-local" ;;
        portmap) pkg="$mod/meta/portmap" ;;
      esac
      log "go install $pkg@${CNI_PLUGINS_VERSION} ..."
      mkdir -p "$NODE_BIN/cni"
      GOFLAGS=-trimpath GOBIN="$NODE_BIN/cni" go install "$pkg@${CNI_PLUGINS_VERSION}"
      log "built CNI plugin ${b#cni-} in $((SECONDS - start))s" ;;
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
