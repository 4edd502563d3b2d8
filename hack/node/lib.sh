# shellcheck shell=bash
# The real node of the local plane: containerd + runc from Debian, a kubelet
# and kube-proxy built from the plane's Kubernetes module, CNI bridge plugins,
# a pause image compiled here. Sourced by hack/cluster-up.sh and
# hack/cluster-down.sh after hack/plane/lib.sh and hack/versions.sh; never
# executed. See hack/plane/README.md, "The real node".
#
# Everything it creates lives under $NODE_DIR (= $CLUSTER_DIR/node), except
# what is machine-wide by nature, which teardown removes by name:
#   - the bridge $REAL_NODE_BRIDGE (its address is the node's IP; the service
#     range is routed onto it so ClusterIP traffic never leaves the machine),
#   - the mangle chain $REAL_NODE_FWD_CHAIN (forwarding only bridge to
#     bridge), kube-proxy's and the kubelet's KUBE-* chains,
#   - the cgroup /$REAL_NODE_CGROUP in every cgroup v1 hierarchy,
#   - the sysctls the bridge plugin, kubelet and kube-proxy set (saved at start
#     in $NODE_DIR/sysctl.saved, written back at teardown),
#   - the CNI result cache files of network $REAL_NODE_NETWORK, the kubelet's
#     /var/log/containers links into $NODE_DIR and its device-plugin socket in
#     /var/lib/kubelet/device-plugins, containerd's /run/containerd/s shim
#     sockets (removed by the shims themselves); each of these directories is
#     removed when the node created it.
# Only one plane on the machine may own these: ownership is recorded in
# $REAL_NODE_MACHINE_DIR/owner under a machine-wide flock.

NODE_DIR="$CLUSTER_DIR/node"
REAL_NODE_NAME=real-node-0
REAL_NODE_BRIDGE=mlops-br0
REAL_NODE_NETWORK=mlops-realnode
REAL_NODE_CGROUP=mlops-realnode
REAL_NODE_FWD_CHAIN=MLOPS-REALNODE-FWD
# A private /24 used only on this machine; .1 is the bridge and node address.
REAL_NODE_SUBNET="${MLOPS_REAL_NODE_SUBNET:-10.253.0.0/24}"
REAL_NODE_IP="${REAL_NODE_SUBNET%.*/*}.1"
# Must match the API servers' --service-cluster-ip-range.
REAL_NODE_SERVICE_CIDR=10.0.0.0/24
REAL_NODE_TAINT_KEY=mlops.dev/real-node
REAL_NODE_LABEL="mlops.dev/real-node=true"
REAL_NODE_MACHINE_DIR=/run/mlops-operator-real-node
PAUSE_IMAGE="mlops.local/pause:${KUBE_VERSION}"
REAL_NODE_CONTAINERD_SOCK="$NODE_DIR/containerd/containerd.sock"
REAL_NODE_COMPONENTS=(containerd kubelet kube-proxy)
# Sysctls the node's pieces may change (bridge plugin: forwarding; kubelet:
# its kernel tunables; kube-proxy: route_localnet); restored at teardown.
REAL_NODE_SYSCTLS=(net.ipv4.ip_forward net.ipv6.conf.all.forwarding vm.overcommit_memory
  vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet)
T_REAL_NODE=90

node_log() { plane_log "real node: $*"; }

# --- ownership (one plane per machine) ----------------------------------------

# Runs "$@" holding the machine-wide lock (short critical sections only).
with_machine_lock() {
  mkdir -p "$REAL_NODE_MACHINE_DIR"
  (
    flock -w 120 8 || {
      echo "timed out waiting for $REAL_NODE_MACHINE_DIR/lock" >&2
      exit 1
    }
    "$@"
  ) 8>"$REAL_NODE_MACHINE_DIR/lock"
}

# Prints the cluster dir of the plane that owns the real node, if any.
real_node_owner() { cat "$REAL_NODE_MACHINE_DIR/owner" 2>/dev/null || true; }

# True when the plane in cluster dir $1 still runs its containerd, or is
# being started or stopped right now (its plane lock is held).
owner_alive() {
  local dir=$1 pid start now
  [ -d "$dir" ] || return 1
  if [ -f "$dir/lock" ] && ! flock -n "$dir/lock" true 2>/dev/null; then
    return 0
  fi
  [ -f "$dir/pids/containerd" ] || return 1
  read -r pid start <"$dir/pids/containerd" || return 1
  now="$(proc_start_time "$pid")" || return 1
  [ "$now" = "$start" ]
}

# Claims the real node for this plane. Prints nothing and succeeds, or prints
# why not and fails. A previous owner whose containerd died is taken over
# after its leftovers are cleaned.
claim_real_node() {
  local owner
  owner="$(real_node_owner)"
  if [ -n "$owner" ] && [ "$owner" != "$CLUSTER_DIR" ]; then
    if owner_alive "$owner"; then
      echo "the real node belongs to another plane ($owner)"
      return 1
    fi
    node_log "taking over from a stopped plane in $owner; cleaning its leftovers" >&2
    node_cleanup "$owner" >&2 || true
  fi
  printf '%s\n' "$CLUSTER_DIR" >"$REAL_NODE_MACHINE_DIR/owner"
}

release_real_node() {
  [ "$(real_node_owner)" = "$CLUSTER_DIR" ] && rm -f "$REAL_NODE_MACHINE_DIR/owner"
  return 0
}

# --- probe -------------------------------------------------------------------

# Prints, on one line, why this machine cannot run the real node; prints
# nothing when it can. Cheap checks first; the last one runs a container
# with runc. Needs $TOOLS_BIN/pause.
real_node_probe() {
  local c
  [ "$(id -u)" = 0 ] || {
    echo "not root (the kubelet, containerd and the bridge need root)"
    return
  }
  for c in containerd runc ctr iptables ip; do
    command -v "$c" >/dev/null 2>&1 || {
      echo "$c is not installed (hack/install-deps.sh installs it)"
      return
    }
  done
  for c in kubelet kube-proxy pause; do
    [ -x "$TOOLS_BIN/$c" ] || {
      echo "$TOOLS_BIN/$c was not built"
      return
    }
  done
  [ -x "$NODE_BIN/crictl" ] && [ -x "$NODE_BIN/cni/bridge" ] || {
    echo "crictl or the CNI plugins were not built ($NODE_BIN)"
    return
  }
  grep -qw overlay /proc/filesystems || {
    echo "the kernel has no overlay filesystem"
    return
  }
  iptables -t mangle -S FORWARD >/dev/null 2>&1 || {
    echo "iptables does not work here ($(iptables -t mangle -S FORWARD 2>&1 | tail -1))"
    return
  }
  # The subnet must not be in use on this machine, except by our own bridge.
  local route
  route="$(ip -4 route show to match "$REAL_NODE_IP" 2>/dev/null |
    grep -v -e "dev $REAL_NODE_BRIDGE" -e '^default' | head -1 | sed 's/ *$//' || true)"
  [ -z "$route" ] || {
    echo "the node subnet $REAL_NODE_SUBNET overlaps a route of this machine ($route); set MLOPS_REAL_NODE_SUBNET"
    return
  }
  # runc starts a trivial container (the pause binary printing its version).
  local bundle out rc
  bundle="$(mktemp -d "${TMPDIR:-/tmp}/mlops-runc-probe.XXXXXX")"
  mkdir -p "$bundle/rootfs"
  cp "$TOOLS_BIN/pause" "$bundle/rootfs/pause"
  (cd "$bundle" && runc spec) &&
    python3 - "$bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/pause", "-v"]
c["linux"]["cgroupsPath"] = "/mlops-realnode-probe"
json.dump(c, open(p, "w"))
EOF
  out="$(timeout 30 runc --root "$bundle/state" run --bundle "$bundle" "mlops-probe-$$" 2>&1 </dev/null)" &&
    rc=0 || rc=$?
  runc --root "$bundle/state" delete --force "mlops-probe-$$" >/dev/null 2>&1 || true
  rm -rf "$bundle"
  if [ $rc -ne 0 ] || ! grep -q "pause" <<<"$out"; then
    echo "runc cannot start a container here: $(tail -1 <<<"$out" | tr -d '\r')"
    return
  fi
}

# --- start -------------------------------------------------------------------

# The iptables tables (nf_tables backend) that exist before the node adds
# its chains: teardown deletes the ones it brought into existence.
save_iptables_tables() {
  [ -f "$NODE_DIR/iptables-tables.saved" ] && return 0
  { iptables-save 2>/dev/null | sed -n 's/^\*/ip /p'
    ip6tables-save 2>/dev/null | sed -n 's/^\*/ip6 /p'; } >"$NODE_DIR/iptables-tables.saved"
}

save_sysctls() {
  [ -f "$NODE_DIR/sysctl.saved" ] && return 0
  local s v
  for s in "${REAL_NODE_SYSCTLS[@]}"; do
    v="$(sysctl -n "$s" 2>/dev/null)" && printf '%s=%s\n' "$s" "$v"
  done >"$NODE_DIR/sysctl.saved.tmp"
  mv "$NODE_DIR/sysctl.saved.tmp" "$NODE_DIR/sysctl.saved"
}

# The cgroup /$REAL_NODE_CGROUP in every v1 hierarchy: the kubelet's
# cgroupRoot must exist, and it keeps every pod's cgroup in one subtree that
# teardown removes.
make_cgroups() {
  local h
  for h in /sys/fs/cgroup/*/; do
    h=${h%/}
    [ -f "$h/cgroup.procs" ] || continue
    [ "$(basename "$h")" = unified ] && continue
    mkdir -p "$h/$REAL_NODE_CGROUP"
    if [ -f "$h/cpuset.cpus" ]; then
      [ -n "$(cat "$h/$REAL_NODE_CGROUP/cpuset.cpus")" ] || cat "$h/cpuset.cpus" >"$h/$REAL_NODE_CGROUP/cpuset.cpus"
      [ -n "$(cat "$h/$REAL_NODE_CGROUP/cpuset.mems")" ] || cat "$h/cpuset.mems" >"$h/$REAL_NODE_CGROUP/cpuset.mems"
    fi
  done
}

# The bridge holding the node's address (the kubelet listens there before any
# pod exists), the service range routed onto it, and the forwarding filter.
make_network() {
  if ! ip link show "$REAL_NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$REAL_NODE_BRIDGE" type bridge
  fi
  ip addr replace "$REAL_NODE_IP/${REAL_NODE_SUBNET#*/}" dev "$REAL_NODE_BRIDGE"
  ip link set "$REAL_NODE_BRIDGE" up
  # Traffic from the host to a ClusterIP leaves through the bridge (source
  # the node's address) and nowhere else, with or without endpoints.
  ip route replace "$REAL_NODE_SERVICE_CIDR" dev "$REAL_NODE_BRIDGE" src "$REAL_NODE_IP"
  # The bridge plugin turns on IP forwarding. Forwarded packets pass the
  # mangle table before kube-proxy's filter rules (which accept marked
  # service traffic), so this is where anything but bridge-to-bridge is
  # dropped: pods reach each other, the node and ClusterIPs, nothing else.
  iptables -t mangle -N "$REAL_NODE_FWD_CHAIN" 2>/dev/null || iptables -t mangle -F "$REAL_NODE_FWD_CHAIN"
  iptables -t mangle -A "$REAL_NODE_FWD_CHAIN" -i "$REAL_NODE_BRIDGE" -o "$REAL_NODE_BRIDGE" -j RETURN
  iptables -t mangle -A "$REAL_NODE_FWD_CHAIN" -j DROP
  iptables -t mangle -C FORWARD -j "$REAL_NODE_FWD_CHAIN" 2>/dev/null ||
    iptables -t mangle -I FORWARD 1 -j "$REAL_NODE_FWD_CHAIN"
  if command -v ip6tables >/dev/null 2>&1 && ip6tables -t mangle -S FORWARD >/dev/null 2>&1; then
    ip6tables -t mangle -N "$REAL_NODE_FWD_CHAIN" 2>/dev/null || ip6tables -t mangle -F "$REAL_NODE_FWD_CHAIN"
    ip6tables -t mangle -A "$REAL_NODE_FWD_CHAIN" -i "$REAL_NODE_BRIDGE" -o "$REAL_NODE_BRIDGE" -j RETURN
    ip6tables -t mangle -A "$REAL_NODE_FWD_CHAIN" -j DROP
    ip6tables -t mangle -C FORWARD -j "$REAL_NODE_FWD_CHAIN" 2>/dev/null ||
      ip6tables -t mangle -I FORWARD 1 -j "$REAL_NODE_FWD_CHAIN"
  fi
}

write_node_configs() {
  local d=$NODE_DIR
  mkdir -p "$d/containerd" "$d/cni/net.d" "$d/cni/ipam" "$d/kubelet" "$d/kubelet-root" \
    "$d/kube-proxy"
  cat >"$d/containerd/config.toml" <<EOF
# containerd of the plane's real node (hack/node/lib.sh). Everything below
# the plane's directory; the CRI settings are the ones TESTENV.md measured.
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$REAL_NODE_CONTAINERD_SOCK"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Without it every sandbox fails ("can't get final child's PID from
  # pipe"): root here lacks CAP_SYS_RESOURCE, so lowering oom_score_adj fails.
  restrict_oom_score_adj = true
  # Pod network namespaces under state/, not /run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$NODE_BIN/cni"
    conf_dir = "$d/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$d/containerd/runc"
EOF
  cat >"$d/cni/net.d/10-$REAL_NODE_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$REAL_NODE_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$REAL_NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$d/cni/ipam",
        "ranges": [[{"subnet": "$REAL_NODE_SUBNET", "gateway": "$REAL_NODE_IP"}]]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  cat >"$d/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $REAL_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $P_KUBELET_HEALTHZ
tlsCertFile: $PKI_DIR/kubelet-serving.crt
tlsPrivateKeyFile: $PKI_DIR/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI_DIR/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$REAL_NODE_CONTAINERD_SOCK
imageServiceEndpoint: unix://$REAL_NODE_CONTAINERD_SOCK
# cgroup v1 here; containerd 1.6 cannot report its cgroup driver.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$REAL_NODE_CGROUP
failSwapOn: false
podLogsDir: $d/pod-logs
volumePluginDir: $d/kubelet/volume-plugins
registerWithTaints:
- {key: $REAL_NODE_TAINT_KEY, value: "true", effect: NoSchedule}
# A test machine: evict only when really out of space, never collect images
# (they are imported locally and cannot be pulled again).
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
syncFrequency: 10s
shutdownGracePeriod: 0s
EOF
  cat >"$d/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CLUSTER_DIR/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $REAL_NODE_NAME
clusterCIDR: $REAL_NODE_SUBNET
detectLocalMode: ClusterCIDR
# NodePorts only on the bridge address, never on the machine's interfaces.
nodePortAddresses: ["$REAL_NODE_IP/32"]
healthzBindAddress: 127.0.0.1:$P_KUBE_PROXY_HEALTHZ
metricsBindAddress: 127.0.0.1:$P_KUBE_PROXY_METRICS
# Leave the machine's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
oomScoreAdj: 0
iptables: {syncPeriod: 30s, minSyncPeriod: 1s}
EOF
}

# Imports the pause image when containerd does not have it yet. The archive
# is cached beside the pause binary (same Kubernetes version).
import_pause_image() {
  local archive="$TOOLS_BIN/pause.oci.tar" root
  if [ ! -f "$archive" ]; then
    root="$(mktemp -d "${TMPDIR:-/tmp}/mlops-pause.XXXXXX")"
    cp "$TOOLS_BIN/pause" "$root/pause"
    "$PLANE_HACK/node/oci-archive.sh" --entrypoint /pause "$root" "$archive" "$PAUSE_IMAGE" >/dev/null
    rm -rf "$root"
  fi
  ctr --address "$REAL_NODE_CONTAINERD_SOCK" -n k8s.io images import "$archive" >/dev/null
  ctr --address "$REAL_NODE_CONTAINERD_SOCK" -n k8s.io images label "$PAUSE_IMAGE" \
    io.cri-containerd.pinned=pinned >/dev/null
}

containerd_ready() { ctr --address "$REAL_NODE_CONTAINERD_SOCK" version >/dev/null 2>&1; }
kubelet_healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$1/healthz" >/dev/null; }

# Starts the real node (the API server, certificates and kubeconfigs exist).
# Sets nothing on failure: the caller's failure trap stops what was started.
real_node_up() {
  local start=$SECONDS
  mkdir -p "$NODE_DIR"
  save_sysctls
  save_iptables_tables
  make_cgroups
  make_network
  write_node_configs
  # Directories outside the plane that containerd and the kubelet create at
  # fixed paths; teardown removes them when they did not exist before.
  [ -d /run/containerd ] || echo created >"$NODE_DIR/run-containerd-created"
  [ -d /var/log/containers ] || echo created >"$NODE_DIR/var-log-containers-created"
  # The device-plugin socket's directory is fixed too, whatever --root-dir.
  [ -d /var/lib/kubelet ] || echo created >"$NODE_DIR/var-lib-kubelet-created"
  node_log "starting containerd"
  start_component containerd containerd --config "$NODE_DIR/containerd/config.toml"
  wait_until containerd "$T_REAL_NODE" "containerd on $REAL_NODE_CONTAINERD_SOCK" containerd_ready
  import_pause_image
  node_log "starting kubelet ($REAL_NODE_NAME on $REAL_NODE_IP) and kube-proxy"
  start_component kubelet "$TOOLS_BIN/kubelet" \
    --config="$NODE_DIR/kubelet/config.yaml" \
    --kubeconfig="$CLUSTER_DIR/kubelet.kubeconfig" \
    --root-dir="$NODE_DIR/kubelet-root" \
    --hostname-override="$REAL_NODE_NAME" \
    --node-ip="$REAL_NODE_IP" \
    --node-labels="$REAL_NODE_LABEL" \
    --v=1
  start_component kube-proxy "$TOOLS_BIN/kube-proxy" \
    --config="$NODE_DIR/kube-proxy/config.yaml" --v=1
  wait_until kubelet "$T_REAL_NODE" "kubelet /healthz" kubelet_healthy "$P_KUBELET_HEALTHZ"
  wait_until kubelet "$T_REAL_NODE" "node $REAL_NODE_NAME Ready" \
    "$KUBECTL" --kubeconfig="$CLUSTER_DIR/admin.kubeconfig" wait --for=condition=Ready \
    "node/$REAL_NODE_NAME" --timeout=5s
  wait_until kube-proxy "$T_REAL_NODE" "kube-proxy /healthz" \
    curl -fsS --max-time 3 -o /dev/null "http://127.0.0.1:$P_KUBE_PROXY_HEALTHZ/healthz"
  node_log "$REAL_NODE_NAME Ready in $((SECONDS - start))s"
}

# --- teardown ----------------------------------------------------------------

# Mount points at or below $1, deepest first.
mounts_below() {
  awk -v d="$1" '{ p = $5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print p }' \
    /proc/self/mountinfo | sort -r
}

# Kills every process in the real node's cgroup subtree (the pods'
# processes), then removes the cgroups, deepest first.
remove_cgroups() {
  local h pids i
  for ((i = 0; i < 20; i++)); do
    pids="$(find /sys/fs/cgroup/*/"$REAL_NODE_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)"
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h$REAL_NODE_CGROUP" ] || continue
    find "$h$REAL_NODE_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  for h in /sys/fs/cgroup/*/"$REAL_NODE_CGROUP"; do
    [ -d "$h" ] && plane_log "WARNING: could not remove cgroup $h"
  done
  return 0
}

# Removes kube-proxy's and the kubelet's KUBE-* chains and our forwarding
# chain, in iptables and ip6tables. kube-proxy --cleanup does its own part;
# this sweeps what remains (the kubelet's chains, a kube-proxy killed hard).
remove_iptables() {
  local ipt table chain rule
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null 2>&1 || continue
    for table in filter nat mangle raw; do
      "$ipt" -t "$table" -S >/dev/null 2>&1 || continue
      # Rules in built-in chains that jump to our chains.
      while read -r rule; do
        [ -n "$rule" ] || continue
        eval "\"$ipt\" -t \"$table\" ${rule/#-A/-D}" 2>/dev/null || true
      done < <("$ipt" -t "$table" -S 2>/dev/null |
        grep -E "^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j (KUBE-[A-Z0-9-]+|$REAL_NODE_FWD_CHAIN)( |$)")
      for chain in $("$ipt" -t "$table" -S 2>/dev/null |
        awk -v c="$REAL_NODE_FWD_CHAIN" '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 == c) {print $2}'); do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$ipt" -t "$table" -S 2>/dev/null |
        awk -v c="$REAL_NODE_FWD_CHAIN" '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 == c) {print $2}'); do
        "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

# Removes every trace of the real node whose plane lives in cluster dir $1
# (its processes must be stopped already, or dead). Safe to repeat.
node_cleanup() {
  local dir=$1 ndir="$1/node" m sock
  sock="$ndir/containerd/containerd.sock"
  # The node's own processes, if that plane left any running (a takeover
  # from a plane whose containerd died): by the pids it recorded.
  local name pid start
  for name in kubelet kube-proxy containerd; do
    [ -f "$dir/pids/$name" ] || continue
    read -r pid start <"$dir/pids/$name" || continue
    if [ "$(proc_start_time "$pid" 2>/dev/null)" = "$start" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  # Files at fixed paths named after the pod sandboxes, left behind when the
  # shims or containerd were killed rather than stopped: containerd 1.6 names
  # a shim's socket /run/containerd/s/<sha256 of "<address>/<namespace>/<id>">,
  # libcni caches results as /var/lib/cni/results/<network>-<id>-<interface>.
  local d ns id
  for d in "$ndir"/containerd/state/io.containerd.runtime.v2.task/*/*; do
    [ -d "$d" ] || continue
    ns="$(basename "$(dirname "$d")")" id="$(basename "$d")"
    rm -f "/run/containerd/s/$(printf '%s' "$sock/$ns/$id" | sha256sum | cut -d' ' -f1)"
  done
  for d in "$ndir"/containerd/root/io.containerd.grpc.v1.cri/sandboxes/*; do
    [ -d "$d" ] || continue
    id="$(basename "$d")"
    rm -f /var/lib/cni/results/"$REAL_NODE_NETWORK-$id"-* /var/lib/cni/results/"cni-loopback-$id"-*
  done
  # Shims of that containerd (they outlive it by design), matched by its
  # socket address in their command line; then the pods' processes, by
  # cgroup.
  for pid in $(grep -lsF -- "$sock" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      containerd-shim*) kill -KILL "$pid" 2>/dev/null || true ;;
    esac
  done
  remove_cgroups
  # Mounts: container root filesystems, shm, network namespaces, the
  # kubelet's volumes and its rshared bind of its root directory.
  for m in $(mounts_below "$ndir"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  for m in $(mounts_below "$ndir"); do
    umount -l "$m" 2>/dev/null || true
  done
  remove_iptables
  # Tables that only exist because the node's chains were added (now empty):
  # deleted through nft when iptables is its nf_tables variant.
  if [ -f "$ndir/iptables-tables.saved" ] && command -v nft >/dev/null 2>&1 &&
    iptables --version 2>/dev/null | grep -q nf_tables; then
    local family table
    while read -r family table; do
      grep -qx "$family $table" "$ndir/iptables-tables.saved" && continue
      # Only when nothing but the built-in chains is left in it.
      if ! nft list table "$family" "$table" 2>/dev/null | grep -qE '^\s+(ip|ip6|meta|counter|jump|goto|accept|drop|tcp|udp)|chain [A-Z]+-'; then
        nft delete table "$family" "$table" 2>/dev/null || true
      fi
    done < <(nft list tables 2>/dev/null | awk '$2 == "ip" || $2 == "ip6" {print $2, $3}')
  fi
  ip link del "$REAL_NODE_BRIDGE" 2>/dev/null || true
  # Forwarding and the other sysctls back as they were.
  if [ -f "$ndir/sysctl.saved" ]; then
    local kv
    while read -r kv; do
      sysctl -qw "$kv" >/dev/null 2>&1 || true
    done <"$ndir/sysctl.saved"
  fi
  rm -f /var/lib/cni/results/"$REAL_NODE_NETWORK"-* 2>/dev/null || true
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
  if [ -d /var/log/containers ]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$ndir/*" -delete 2>/dev/null || true
    [ -f "$ndir/var-log-containers-created" ] && rmdir /var/log/containers 2>/dev/null || true
  fi
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  if [ -f "$ndir/var-lib-kubelet-created" ] && [ -d /var/lib/kubelet ]; then
    find /var/lib/kubelet -depth -type d -empty -delete 2>/dev/null || true
  fi
  if [ -f "$ndir/run-containerd-created" ]; then
    rmdir /run/containerd/s /run/containerd 2>/dev/null || true
  fi
  if [ -n "$(mounts_below "$ndir")" ]; then
    plane_log "WARNING: still mounted below $ndir; not removing it: $(mounts_below "$ndir" | tr '\n' ' ')"
    return 1
  fi
  rm -rf "$ndir"
}

# Stops the real node of this plane and removes every trace. Safe when it
# never ran.
real_node_down() {
  local was_running=false
  for name in "${REAL_NODE_COMPONENTS[@]}"; do
    component_alive "$name" && was_running=true
  done
  [ -d "$NODE_DIR" ] || $was_running || return 0
  stop_group kubelet kube-proxy
  if component_alive containerd; then
    # Stops and removes every pod: CNI releases the addresses, containerd
    # unmounts root filesystems and removes network namespaces.
    timeout 60 "$NODE_BIN/crictl" --runtime-endpoint "unix://$REAL_NODE_CONTAINERD_SOCK" \
      --timeout 30s rmp --all --force >/dev/null 2>&1 || true
  fi
  stop_group containerd
  if [ -f "$NODE_DIR/kube-proxy/config.yaml" ]; then
    "$TOOLS_BIN/kube-proxy" --cleanup --config="$NODE_DIR/kube-proxy/config.yaml" \
      >>"$LOG_DIR/kube-proxy.log" 2>&1 || true
  fi
  node_cleanup "$CLUSTER_DIR" || return 1
  with_machine_lock release_real_node
  node_log "stopped; bridge, iptables chains, mounts and cgroups removed, sysctls restored"
}
