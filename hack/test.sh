#!/usr/bin/env bash
# `make test`: builds everything, brings up the local control plane (or reuses
# a running one), runs unit, integration and end-to-end tests with ctest, and
# stops the plane again if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"
build_dir="${BUILD_DIR:-build}"

step() { printf '\n==> %s\n' "$*"; }

step "tools (cached by version outside the clone)"
hack/build-tools.sh

started_plane=false
if ! hack/cluster-up.sh --check >/dev/null 2>&1; then
  started_plane=true
fi
cleanup() {
  if $started_plane && [ -z "${MLOPS_KEEP_CLUSTER:-}" ]; then
    step "stopping the control plane this run started"
    hack/cluster-down.sh || true
  fi
}
trap cleanup EXIT

step "control plane"
hack/cluster-up.sh

step "build"
cmake -S . -B "$build_dir" -G Ninja >/dev/null
cmake --build "$build_dir" -j "$jobs"

step "unit, integration and end-to-end tests"
# One ctest run so its closing line counts every test. Tests that use the
# control plane hold the RESOURCE_LOCK "control_plane" (some restart the API
# server or compact etcd), so they run one at a time beside the unit tests.
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 900
rc=$?

# Benchmark figures the tests printed ([figure] lines); ctest keeps every
# test's output in LastTest.log even when it passed.
step "figures"
grep -ho '\[figure\].*' "$build_dir/Testing/Temporary/LastTest.log" || echo "(none)"
exit $rc
