# Pinned versions of everything the local control plane is built from.
# Sourced by the hack/ scripts; bump here and the cache key follows.
KUBE_VERSION=v1.35.4
ETCD_VERSION=v3.6.5
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.19.5
PROM_OPERATOR_VERSION=v0.86.2
# The real node (hack/node/): kubelet and kube-proxy come from KUBE_VERSION
# (in TOOLS_BIN); crictl and the CNI plugins have their own cache directory.
CRICTL_VERSION=v1.34.0
CNI_PLUGINS_VERSION=v1.9.0
MLOPS_CACHE="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator}"
TOOLS_BIN="$MLOPS_CACHE/bin/kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}"
NODE_BIN="$MLOPS_CACHE/bin/node_crictl-${CRICTL_VERSION}_cni-${CNI_PLUGINS_VERSION}"
# Go's compile cache for the tools and the benchmark's programs. It only
# speeds up a rebuild after a version bump; the binaries themselves are cached
# by version above. A cold build leaves about 5 GiB here, which CI prunes
# (MLOPS_PRUNE=1 in hack/test.sh).
GO_BUILD_CACHE="$MLOPS_CACHE/go-build"
