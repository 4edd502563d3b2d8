# shellcheck shell=bash
# The control-plane guard of the test scripts (hack/test.sh,
# hack/test-sanitize.sh). Sourced, never executed; the sourcing script runs
# from the repository root and defines `step` (prints a heading).
#
#   plane_up_for_this_run   starts the local control plane, or reuses one
#                           that is running, and sets an EXIT trap that stops
#                           it again if (and only if) this run started it
#
# MLOPS_KEEP_CLUSTER=1 leaves a plane this run started running. Not in
# hack/plane/: every file there is part of the plane's fingerprint, and a
# change to this guard must not force a running plane to be replaced.

plane_started_here=false

plane_down_if_started_here() {
  if $plane_started_here && [ -z "${MLOPS_KEEP_CLUSTER:-}" ]; then
    step "stopping the control plane this run started"
    hack/cluster-down.sh || true
  fi
}

plane_up_for_this_run() {
  if ! hack/cluster-up.sh --check >/dev/null 2>&1; then
    plane_started_here=true
  fi
  # Set before starting, so a start that fails half-way is cleaned up too.
  trap plane_down_if_started_here EXIT
  step "control plane"
  hack/cluster-up.sh
}
