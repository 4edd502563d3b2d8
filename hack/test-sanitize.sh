#!/usr/bin/env bash
# `make test-sanitize`: the unit and integration tests built and run under
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   thread   ThreadSanitizer (build-tsan/)
# Usage: hack/test-sanitize.sh [address] [thread]   (default: both)
#
# Each sanitizer has its own build tree (ccache shares objects between runs and
# clones). The integration tests need the local control plane: a running one
# is reused, otherwise one is started and stopped again at the end. Any
# sanitizer report fails the test that triggered it (halt_on_error, and
# UBSan is built with -fno-sanitize-recover). Prints how long each build and
# each test run took. Exits non-zero when anything failed.
#
# Environment:
#   JOBS                   parallel compile jobs and ctest jobs (2)
#   SANITIZE_LABELS        ctest labels to run ("unit integration")
#   SANITIZE_TARGETS       instead of the labels: build only these test
#                          executables and run each directly (a cheaper
#                          run for CI, e.g. "runtime_unit_tests kube_unit_tests")
#   MLOPS_KEEP_CLUSTER     leave a plane this script started running
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
jobs="${JOBS:-2}"
labels="${SANITIZE_LABELS:-unit integration}"
read -r -a targets <<<"${SANITIZE_TARGETS:-}"
[ ${#targets[@]} -eq 0 ] || labels=""
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)

step() { printf '\n==> %s\n' "$*"; }
# shellcheck source=lib/test-failures.sh
source hack/lib/test-failures.sh

for s in "${sanitizers[@]}"; do
  case "$s" in
    address | thread) ;;
    *) echo "test-sanitize: unknown sanitizer '$s' (address or thread)" >&2; exit 2 ;;
  esac
done

# Reports go to stderr, which ctest --output-on-failure shows for the
# failing test. detect_leaks: LeakSanitizer runs at exit of every test binary.
# strict_string_checks/detect_stack_use_after_return widen what ASan sees.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$repo/hack/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$repo/hack/tsan.supp:print_suppressions=0"

if [[ " $labels " == *" integration "* ]]; then
  step "tools (for the integration tests' control plane)"
  hack/build-tools.sh
  source hack/lib/plane-guard.sh
  plane_up_for_this_run
fi

failed=()
summary=()
for s in "${sanitizers[@]}"; do
  case "$s" in
    address) dir=build-asan name="ASan+UBSan" ;;
    thread) dir=build-tsan name="TSan" ;;
  esac
  step "$name: build ($dir)"
  t0=$SECONDS
  # The sanitizer trees hold the unit and integration tests only
  # (tests/CMakeLists.txt); the operator binary comes along with the libraries.
  build_targets=()
  [ ${#targets[@]} -eq 0 ] || build_targets=(--target "${targets[@]}")
  if ! { cmake -S . -B "$dir" -G Ninja -DMLOPS_SANITIZE="$s" >/dev/null &&
    cmake --build "$dir" -j "$jobs" "${build_targets[@]}"; }; then
    failed+=("$name build")
    summary+=("$name: build FAILED after $((SECONDS - t0))s")
    continue
  fi
  line="$name: build $((SECONDS - t0))s"
  for label in $labels; do
    step "$name: $label tests"
    t0=$SECONDS
    # The script tests (label integration, name script.*) run kubectl and
    # helm only, none of our code: nothing for a sanitizer to see.
    # --no-tests=error: a label that matches nothing is a failure, not a pass.
    forget_failed_tests "$dir"
    if ctest --test-dir "$dir" -L "^$label\$" -E '^script\.' --no-tests=error \
      --output-on-failure -j "$jobs" --timeout 900; then
      line+=", $label $((SECONDS - t0))s ok"
    else
      line+=", $label $((SECONDS - t0))s FAILED"
      failed+=("$name $label")
      note_failed_tests "$name $label" "$dir"
    fi
  done
  for target in "${targets[@]}"; do
    step "$name: $target"
    t0=$SECONDS
    bin=$(find "$dir/tests" -type f -name "$target" -perm -u+x | head -n 1)
    if [ -n "$bin" ] && timeout 900 "$bin" --gtest_brief=1; then
      line+=", $target $((SECONDS - t0))s ok"
    else
      line+=", $target $((SECONDS - t0))s FAILED"
      failed+=("$name $target")
      [ -z "${MLOPS_FAILED_TESTS:-}" ] || echo "  $name: $target (run directly; its output is above)" >>"$MLOPS_FAILED_TESTS"
    fi
  done
  summary+=("$line")
done

step "sanitizer summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test-sanitize: FAILED: ${failed[*]}"
  exit 1
fi
echo "test-sanitize: all clean"
