# Pinned versions of everything the local control plane is built from.
# Sourced by the hack/ scripts; bump here and the cache key follows.
KUBE_VERSION=v1.35.4
ETCD_VERSION=v3.6.5
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.19.5
PROM_OPERATOR_VERSION=v0.86.2
MLOPS_CACHE="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator}"
TOOLS_BIN="$MLOPS_CACHE/bin/kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}"
