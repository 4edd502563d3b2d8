# Shared by the shell test scripts: `check NAME COMMAND...` runs the command,
# prints PASS or FAIL (with the tail of its output), and counts; `finish`
# prints the closing line and returns the verdict. Source it, don't run it.
passed=0
failed=0

check() { # name command...
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    echo "PASS: $name"
    passed=$((passed + 1))
  else
    echo "FAIL: $name"
    printf '%s\n' "$out" | tail -30 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
