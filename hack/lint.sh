#!/usr/bin/env bash
# `make lint`: clang-format check over src/, tests/ and fuzz/, then clang-tidy
# over src/ with the checks in .clang-tidy, every warning an error.
#
# clang-tidy takes 10-20 s of CPU per file here (the JSON and cpprestsdk
# headers), so a file's clean result is cached outside the clone, keyed by the
# sha256 of its preprocessed text, its compile flags and .clang-tidy: a file
# that did not change, and none of whose headers did, is not checked again.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/versions.sh
build_dir="${BUILD_DIR:-build}"
jobs="${JOBS:-2}"
mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'fuzz/*.cc' 'fuzz/*.h')
echo "clang-format: ${#files[@]} files"
clang-format --dry-run --Werror "${files[@]}"

# clang-tidy needs each source file's own compile command; a unity build's
# database lists its batches instead. So a tree of its own, configured file by
# file and never built: only its compile_commands.json is used.
lint_dir="${build_dir}-lint"
cmake -S . -B "$lint_dir" -G Ninja -DCMAKE_UNITY_BUILD=OFF >/dev/null
tidy_cache="$MLOPS_CACHE/clang-tidy"
mkdir -p "$tidy_cache"
mapfile -t sources < <(git ls-files 'src/*.cc')
export lint_dir tidy_cache
tidy_one() { # file → exit status of clang-tidy; prints its findings
  local f=$1 flags key
  flags=$(python3 -c 'import json,sys,os
for e in json.load(open(sys.argv[1])):
    if os.path.realpath(e["file"]) == os.path.realpath(sys.argv[2]):
        print(e.get("command") or " ".join(e["arguments"])); break' \
    "$lint_dir/compile_commands.json" "$f")
  key=$( { cat .clang-tidy; echo "$flags" | sed -e 's/ -o [^ ]*//' -e "s|$PWD|.|g"; \
    (cd "$lint_dir" && eval "$(echo "$flags" | sed -e 's/^[^ ]*ccache //' -e 's/ -o [^ ]*/ -o -/' -e 's/ -c / -E /')" 2>/dev/null | grep -v '^#'); } \
    | sha256sum | cut -c1-40)
  if [ -f "$tidy_cache/$key" ]; then
    return 0
  fi
  if clang-tidy -p "$lint_dir" --quiet --warnings-as-errors='*' "$f" 2>/dev/null; then
    touch "$tidy_cache/$key"
  else
    echo "clang-tidy: findings in $f" >&2
    return 1
  fi
}
export -f tidy_one
echo "clang-tidy: ${#sources[@]} files (clean results cached in $tidy_cache)"
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} bash -c 'tidy_one "$1"' _ {}
echo "lint: clean"
