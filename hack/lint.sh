#!/usr/bin/env bash
# `make lint`: clang-format check over src/ and tests/, then clang-tidy over
# src/ using the build's compile_commands.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'fuzz/*.cc' 'fuzz/*.h')
echo "clang-format: ${#files[@]} files"
clang-format --dry-run --Werror "${files[@]}"
[ -f "$build_dir/compile_commands.json" ] || cmake -S . -B "$build_dir" -G Ninja >/dev/null
mapfile -t sources < <(git ls-files 'src/*.cc')
echo "clang-tidy: ${#sources[@]} files"
clang-tidy -p "$build_dir" --quiet "${sources[@]}"
