#!/usr/bin/env bash
# `make fuzz` (and the bounded run in `make test`): builds the libFuzzer
# targets in fuzz/ with clang, ASan and UBSan (build-fuzz/), and runs each for
# FUZZ_SECONDS starting from its seed corpus fuzz/corpus/<name>/ (target
# <name>_fuzz).
#
# Usage: hack/fuzz.sh [target...]   (default: every target)
#
# The seed corpus is only read: new inputs go to a temporary directory, so a
# run never changes the repository (FUZZ_UPDATE_CORPUS=1 merges the inputs
# that add coverage into fuzz/corpus/ afterwards, minimized, for a commit).
# A crash, leak, timeout or out-of-memory fails the run; the input is printed
# in base64 (reproduce: base64 -d > in; build-fuzz/fuzz/<target> in).
# Prints per target: executions, exec/s, coverage (cov = edges, ft =
# features) and corpus size, from libFuzzer's -print_final_stats.
#
# Environment:
#   FUZZ_SECONDS        seconds per target (300)
#   FUZZ_UPDATE_CORPUS  1: merge new coverage into fuzz/corpus/<target>/
#   JOBS                parallel compile jobs (2)
#   CXX_FUZZ            the clang to build with (clang++-14, else clang++)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-300}"
jobs="${JOBS:-2}"
dir=build-fuzz
all_targets=(watch_decoder_fuzz kubeconfig_fuzz results_fuzz canonical_json_fuzz
  label_selector_fuzz image_digest_fuzz prometheus_response_fuzz compact_json_fuzz protobuf_fuzz)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

cxx="${CXX_FUZZ:-}"
if [ -z "$cxx" ]; then
  cxx=$(command -v clang++-14 || command -v clang++ || true)
fi
[ -n "$cxx" ] || { echo "fuzz: clang++ not found (make deps installs clang)" >&2; exit 2; }

printf '\n==> fuzz: build (%s, %s)\n' "$dir" "$cxx"
t0=$SECONDS
cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DMLOPS_FUZZ=ON \
  -DMLOPS_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" --target mlops_fuzzers -j "$jobs"
echo "fuzz: build took $((SECONDS - t0))s"

work=$(mktemp -d "${TMPDIR:-/tmp}/mlops-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# -rss_limit_mb: the parsers must stay far below 2 GB on 4 KiB inputs.
# -timeout: one input taking 10 s is a hang worth a report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
for t in "${targets[@]}"; do
  [ -x "$dir/fuzz/$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  [ -d "fuzz/corpus/${t%_fuzz}" ] || { echo "fuzz: no seed corpus fuzz/corpus/${t%_fuzz}" >&2; exit 2; }
done

# fuzz_one TARGET: fuzzes one target; writes what it has to say to
# $work/TARGET/report, its figures to .../figure and "failed" to .../failed.
fuzz_one() {
  local t=$1 bin="$dir/fuzz/$1" seeds="fuzz/corpus/${1%_fuzz}"
  local log="$work/$t/log" rc=0 dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  # The first corpus directory receives new inputs; the seeds are only read.
  # TMPDIR: kubeconfig_fuzz's scratch files go where the trap removes them.
  TMPDIR="$work/$t" "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$work/$t/artifacts/" "${dict[@]}" \
    "$work/$t/corpus" "$seeds" >"$log" 2>&1 || rc=$?
  {
    printf '\n==> fuzz: %s for %ss\n' "$t" "$seconds"
    # The last status line ("#123 DONE cov: ...") and the final stats.
    grep -E '^#[0-9]+\s+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true
    grep -E '^stat::' "$log" || true
    if [ "$rc" -ne 0 ]; then
      echo "fuzz: $t FAILED (exit $rc); the report:"
      # The sanitizer or property report, without the mutation chatter.
      grep -vE '^#[0-9]+\s|NEW_FUNC|^INFO:' "$log" | tail -n 60 || true
      for a in "$work/$t/artifacts"/*; do
        [ -f "$a" ] || continue
        echo "fuzz: input $(basename "$a") ($(wc -c <"$a") bytes), base64:"
        base64 -w 76 "$a"
      done
      echo failed >"$work/$t/failed"
    elif [ "${FUZZ_UPDATE_CORPUS:-}" = 1 ]; then
      local before
      before=$(find "$seeds" -type f | wc -l)
      "$bin" -merge=1 "$seeds" "$work/$t/corpus" >"$work/$t/merge.log" 2>&1
      echo "fuzz: $seeds: $before -> $(find "$seeds" -type f | wc -l) inputs"
    fi
  } >"$work/$t/report" 2>&1
  # A run that crashes on a seed prints no status line: figures may be absent.
  last() { { grep -oE "$1" "$log" || true; } | tail -n 1 | cut -d' ' -f2; }
  local execs rate cov ft corp
  execs=$(last 'number_of_executed_units: [0-9]+')
  rate=$(last 'exec/s: [0-9]+')
  cov=$(last 'cov: [0-9]+')
  ft=$(last 'ft: [0-9]+')
  corp=$(last 'corp: [0-9]+/[0-9]+[a-zA-Z]*')
  echo "$t: ${execs:-?} executions in ${seconds}s (${rate:-?} exec/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}" \
    >"$work/$t/figure"
}

# A fuzzer uses one core, so JOBS targets run side by side: 8 targets take
# 4 x FUZZ_SECONDS on 2 cores instead of 8 x. Their reports print in order.
printf '\n==> fuzz: %d targets, %d at a time, %ss each\n' "${#targets[@]}" "$jobs" "$seconds"
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=()
figures=()
for t in "${targets[@]}"; do
  cat "$work/$t/report"
  figures+=("$(cat "$work/$t/figure")")
  [ ! -f "$work/$t/failed" ] || failed+=("$t")
done

printf '\n==> fuzz summary\n'
printf '[figure] fuzz %s\n' "${figures[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets"
