#!/usr/bin/env bash
# `make bench`: mlops-operator beside a controller-runtime operator doing the
# same TrainingRun → Job → status work, and beside the floor (the same Jobs
# made directly), on the local control plane. Prints a Markdown table and
# writes the figures as JSON (bench/README.md says what each one means).
#
#   N (1000) M (10) K (10)   runs, models, namespaces
#   BENCH_JSON               where the JSON goes (bench/results/latest.json)
#   BENCH_ARGS               extra flags for the driver (bench-driver -h)
#   BUILD_DIR (build)        where build/mlops-operator is built
#   BENCH_NO_BUILD=1         measure $BUILD_DIR/mlops-operator as it is (the
#                            smoke test: ctest runs after the build)
#
# The plane is reused when running, else started and stopped again at the end
# (MLOPS_KEEP_CLUSTER=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
json="${BENCH_JSON:-bench/results/latest.json}"
step() { printf '\n==> %s\n' "$*" >&2; }

step "tools (cached by version outside the clone)"
hack/build-tools.sh >&2
step "benchmark programs (cached by source hash outside the clone)"
bin="$(hack/build-bench.sh)"
if [ "${BENCH_NO_BUILD:-}" = 1 ] && [ -x "$build_dir/mlops-operator" ]; then
  step "mlops-operator: using $build_dir/mlops-operator as built (BENCH_NO_BUILD=1)"
else
  step "mlops-operator"
  if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S . -B "$build_dir" -G Ninja >/dev/null
  fi
  cmake --build "$build_dir" -j "${JOBS:-2}" --target mlops-operator >&2
fi

source hack/lib/plane-guard.sh
plane_up_for_this_run >&2
set -a
# shellcheck source=/dev/null
source .cluster/env
set +a
"$KUBECTL" apply -f crds/ >/dev/null
"$KUBECTL" wait --for=condition=Established crd --all --timeout=60s >/dev/null

mkdir -p "$(dirname "$json")"
logs="$(mktemp -d "${TMPDIR:-/tmp}/mlops-bench.XXXXXX")"
step "benchmark: N=${N:-1000} M=${M:-10} K=${K:-10} (operator logs in $logs)"
start=$SECONDS
# shellcheck disable=SC2086
"$bin/bench-driver" -n "${N:-1000}" -m "${M:-10}" -k "${K:-10}" \
  -operators "mlops-operator=$build_dir/mlops-operator,baseline=$bin/baseline-go" \
  -json "$json" -log-dir "$logs" ${BENCH_ARGS:-}
echo
echo "wall time $((SECONDS - start))s; figures in $json"
