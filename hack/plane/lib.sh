# shellcheck shell=bash
# Shared helpers for hack/cluster-up.sh, hack/cluster-down.sh and
# hack/cluster-restart-apiserver.sh. Sourced, never executed.
#
# Layout of the plane's state (all under $CLUSTER_DIR, default <repo>/.cluster):
#   env            the shell-syntax environment the tests source (written last,
#                  so its presence means the plane came up completely)
#   pki/           CA, serving and client certificates, service-account keys
#   *.kubeconfig   one per identity / API server
#   cmd/<name>     argv of each component, one argument per line, so a component
#                  can be restarted with the identical command line
#   pids/<name>    "<pid> <start time>" of each component; the start time (from
#                  /proc/<pid>/stat) guards against signalling a recycled pid
#   logs/<name>.log
#   etcd/, prometheus/   data directories
#   lock           flock(1) target serialising concurrent up/down calls

PLANE_HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLANE_ROOT="$(cd "$PLANE_HACK/.." && pwd)"
# MLOPS_CLUSTER_DIR lets a second checkout-independent plane live elsewhere;
# the default is the gitignored .cluster/ at the repository root.
CLUSTER_DIR="${MLOPS_CLUSTER_DIR:-$PLANE_ROOT/.cluster}"
LOG_DIR="$CLUSTER_DIR/logs"
PID_DIR="$CLUSTER_DIR/pids"
CMD_DIR="$CLUSTER_DIR/cmd"
# shellcheck disable=SC2034 # used by the scripts that source this file
PKI_DIR="$CLUSTER_DIR/pki"
# shellcheck disable=SC2034
ENV_FILE="$CLUSTER_DIR/env"

# Every component of a complete plane (cluster-up checks them all for reuse).
# shellcheck disable=SC2034
PLANE_COMPONENTS=(etcd metrics-exporter prometheus kube-apiserver kube-apiserver-no-watch-cache
  kube-controller-manager kube-scheduler kwok serving-sd)

plane_log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
plane_die() {
  printf '[cluster %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# Takes an exclusive lock for the rest of the calling script's life, so that two
# `make cluster-up` (or an up racing a down) do not interleave.
plane_lock() {
  mkdir -p "$CLUSTER_DIR"
  exec 9>"$CLUSTER_DIR/lock"
  if ! flock -w 300 9; then
    plane_die "another cluster-up/cluster-down holds $CLUSTER_DIR/lock for over 300s"
  fi
}

# Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. The comm
# field (2) may contain spaces, so parse after its closing parenthesis.
proc_start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  local fields
  # After ") " the fields start at field 3 (state); field 22 is index 19 here.
  read -r -a fields <<<"${stat##*) }"
  printf '%s\n' "${fields[19]}"
}

# Prints the pid of a recorded component if that very process is still alive.
component_pid() {
  local name=$1 pid start now
  [ -f "$PID_DIR/$name" ] || return 1
  read -r pid start <"$PID_DIR/$name" || return 1
  [ -n "${pid:-}" ] || return 1
  now="$(proc_start_time "$pid")" || return 1
  [ "$now" = "$start" ] || return 1
  # A zombie still has a /proc entry; it is not running.
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ] || return 1
  printf '%s\n' "$pid"
}

component_alive() { component_pid "$1" >/dev/null; }

# start_component NAME ARGV...: runs ARGV in the background in its own session
# (setsid: a Ctrl-C in the terminal that ran `make cluster-up` must not reach
# the plane, and the plane must outlive the script), output to logs/NAME.log.
# The argv is saved in cmd/NAME for restart_component.
start_component() {
  local name=$1
  shift
  mkdir -p "$LOG_DIR" "$PID_DIR" "$CMD_DIR"
  printf '%s\n' "$@" >"$CMD_DIR/$name"
  # setsid execs in place (no fork) because a background child of a
  # non-interactive shell is never a process-group leader, so $! is the
  # component's own pid.
  # 9>&-: the lock descriptor (plane_lock) must not leak into the long-lived
  # components, or the lock would stay held after this script exits.
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
  local pid=$! start
  # The start time is read right away; if the process already died there is
  # nothing to record and wait_until reports it with the log tail.
  start="$(proc_start_time "$pid" || echo gone)"
  printf '%s %s\n' "$pid" "$start" >"$PID_DIR/$name"
}

# Restarts a component with exactly the argv recorded at its first start.
restart_component() {
  local name=$1 args=()
  [ -f "$CMD_DIR/$name" ] || plane_die "no recorded command line for $name ($CMD_DIR/$name)"
  mapfile -t args <"$CMD_DIR/$name"
  stop_component "$name"
  printf '\n===== restarted at %s =====\n' "$(date -Is)" >>"$LOG_DIR/$name.log"
  start_component "$name" "${args[@]}"
}

# Sends SIGTERM to a component's process group, waits up to 15s, then SIGKILL.
stop_component() {
  local name=$1 pid i
  if pid="$(component_pid "$name")"; then
    # Negative pid = the whole process group the component leads (setsid).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      component_alive "$name" || break
      sleep 0.1
    done
    if component_alive "$name"; then
      plane_log "$name (pid $pid) ignored SIGTERM for 15s; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        component_alive "$name" || break
        sleep 0.1
      done
    fi
    component_alive "$name" && plane_die "could not stop $name (pid $pid)"
  fi
  rm -f "$PID_DIR/$name"
}

# stop_group NAME...: stops these components together: SIGTERM to all, up to
# 15s for them to exit, then SIGKILL. Names not running are skipped.
stop_group() {
  local name pid i names=() pids=() alive=()
  for name in "$@"; do
    if pid="$(component_pid "$name")"; then
      names+=("$name")
      pids+=("$pid")
    else
      rm -f "$PID_DIR/$name"
    fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  plane_log "stopping ${names[*]}"
  # Negative pid = the whole process group the component leads (setsid).
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 150; i++)); do
    alive=()
    for name in "${names[@]}"; do component_alive "$name" && alive+=("$name"); done
    [ ${#alive[@]} -eq 0 ] && break
    sleep 0.1
  done
  if [ ${#alive[@]} -gt 0 ]; then
    plane_log "${alive[*]} still running 15s after SIGTERM; sending SIGKILL"
    for name in "${alive[@]}"; do
      pid="$(component_pid "$name")" || continue
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
      alive=()
      for name in "${names[@]}"; do component_alive "$name" && alive+=("$name"); done
      [ ${#alive[@]} -eq 0 ] && break
      sleep 0.1
    done
    [ ${#alive[@]} -eq 0 ] || plane_die "could not stop: ${alive[*]}"
  fi
  for name in "${names[@]}"; do rm -f "$PID_DIR/$name"; done
  STOPPED_PIDS+=("${pids[@]}")
}

# Stops every recorded component in three waves, each in parallel: the API
# clients and the metrics pair, then the API servers, then etcd (an API server
# whose etcd vanishes mid-shutdown hangs in retries). Safe when nothing runs.
stop_all_components() {
  local f pid i others=() alive
  STOPPED_PIDS=()
  stop_group kwok kube-scheduler kube-controller-manager prometheus metrics-exporter serving-sd
  stop_group kube-apiserver kube-apiserver-no-watch-cache
  stop_group etcd
  # Anything else recorded (e.g. by an older version of these scripts).
  if [ -d "$PID_DIR" ]; then
    for f in "$PID_DIR"/*; do
      [ -e "$f" ] && others+=("$(basename "$f")")
    done
  fi
  [ ${#others[@]} -eq 0 ] || stop_group "${others[@]}"
  # Once cluster-up has exited, the components' parent is init, which may reap
  # them a moment later; wait briefly so that `ps` right after cluster-down
  # shows no <defunct> entries either.
  for ((i = 0; i < 30; i++)); do
    alive=0
    for pid in "${STOPPED_PIDS[@]}"; do [ -e "/proc/$pid" ] && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
}

show_log_tail() {
  local name=$1
  if [ -f "$LOG_DIR/$name.log" ]; then
    printf -- '----- last 40 lines of %s -----\n' "$LOG_DIR/$name.log" >&2
    tail -n 40 "$LOG_DIR/$name.log" >&2
    printf -- '-----\n' >&2
  fi
}

# wait_until NAME TIMEOUT_S DESCRIPTION CMD...: polls CMD every 0.2s until it
# succeeds. Fails fast (with NAME's log tail) if NAME's process dies, and after
# TIMEOUT_S seconds otherwise.
wait_until() {
  local name=$1 timeout=$2 what=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if [ -n "$name" ] && ! component_alive "$name"; then
      show_log_tail "$name"
      plane_die "$name exited while waiting for: $what"
    fi
    if ((SECONDS >= deadline)); then
      [ -n "$name" ] && show_log_tail "$name"
      plane_die "timed out after ${timeout}s waiting for: $what"
    fi
    sleep 0.2
  done
}

# Writes KEY=value, single-quoting values that are not plainly safe, so the
# file is valid for both sh and bash (`set -a; . .cluster/env; set +a`).
env_line() {
  local key=$1 value=$2
  if [[ "$value" =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
    printf '%s=%s\n' "$key" "$value"
  else
    printf "%s='%s'\n" "$key" "${value//\'/\'\\\'\'}"
  fi
}
