# Collects the tests that failed in each ctest run of `make test` and prints
# them again at the very end, with the lines that say why (a GoogleTest
# failure, a sanitizer's summary, a timeout). CI shows only the tail of a
# run's output, and a failure in an early step (the sanitizer trees) is
# otherwise thousands of lines above it, in a tree that is pruned afterwards.
#
# Usage (sourced; hack/test.sh exports MLOPS_FAILED_TESTS, a file, and
# hack/test-sanitize.sh appends to it when it is set):
#   note_failed_tests STEP BUILD_DIR   after a ctest run
#   print_failed_tests                 at the end

# The lines of a test's output that say why it failed, at most four.
why_test_failed() {
  local log=$1 name=$2
  awk -v name="$name" '
    $0 ~ "^[0-9]+/[0-9]+ Testing: " && $3 == name { inside = 1; next }
    inside && index($0, "\"" name "\" end time") == 1 { exit }
    inside && (/\[  FAILED  \]/ || /^SUMMARY: / || /runtime error:/ ||
      /^ERROR: / || /Failure$/ || /[Tt]imeout/ || /Expected|Which is|Value of/) {
      print "      " substr($0, 1, 200)
    }
  ' "$log" | head -n 4
}

# ctest leaves LastTestsFailed.log from an earlier run in place; call this
# before each ctest run so that only its own failures are noted.
forget_failed_tests() {
  rm -f "$1/Testing/Temporary/LastTestsFailed.log"
}

note_failed_tests() {
  local step=$1 dir=$2 list log entry name
  [ -n "${MLOPS_FAILED_TESTS:-}" ] || return 0
  list="$dir/Testing/Temporary/LastTestsFailed.log"
  log="$dir/Testing/Temporary/LastTest.log"
  [ -s "$list" ] || return 0
  while IFS= read -r entry; do
    name=${entry#*:}
    echo "  $step: $name"
    [ ! -f "$log" ] || why_test_failed "$log" "$name"
  done <"$list" >>"$MLOPS_FAILED_TESTS"
}

print_failed_tests() {
  [ -s "${MLOPS_FAILED_TESTS:-}" ] || return 0
  echo "failed tests (each step's full output is above):"
  cat "$MLOPS_FAILED_TESTS"
}
