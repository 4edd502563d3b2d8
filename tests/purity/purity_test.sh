#!/usr/bin/env bash
# Purity at compile time: every source of a decision library compiles
# (-fsyntax-only) seeing only the src/ directories that library may use, with
# every header of cpprestsdk, pplx, prometheus-cpp and civetweb replaced by an
# #error. An #include of I/O code (kube/, runtime/, server/, an HTTP client)
# then fails the compile with the file and line, not only the link.
#
# Usage: purity_test.sh MANIFEST CXX
#   MANIFEST: lines "<library> <dir,dir,...> <source file>" (tests/CMakeLists.txt
#   writes it from the libraries' own SOURCES and the policy of what each may see).
#
# Before the libraries, two probes show the check can fail: a file that
# includes kube/client.h and one that includes <cpprest/http_client.h> must
# not compile with the policy of mlops_objects.
set -uo pipefail
manifest=$1
cxx=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mlops-purity.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The guard: an #error stub for every header of the I/O libraries.
guard=$work/guard
for lib in cpprest pplx prometheus; do
  [ -d "/usr/include/$lib" ] || { echo "purity: /usr/include/$lib missing (make deps)"; exit 1; }
  while IFS= read -r header; do
    rel=${header#/usr/include/}
    mkdir -p "$guard/$(dirname "$rel")"
    printf '#error "a pure library may not include <%s> (I/O belongs behind a port)"\n' \
      "$rel" >"$guard/$rel"
  done < <(find "/usr/include/$lib" -name '*.h' -o -name '*.hpp')
done
printf '#error "a pure library may not include <civetweb.h>"\n' >"$guard/civetweb.h"

# root_for DIRS: an include root holding only those src/ directories.
root_for() {
  local root=$work/roots/${1//[,\/]/_}
  if [ ! -d "$root" ]; then
    local d
    for d in ${1//,/ }; do
      mkdir -p "$root/$(dirname "$d")"
      ln -s "$repo/src/$d" "$root/$d"
    done
  fi
  echo "$root"
}

compile() { # DIRS FILE → the compiler's exit status; its output to stdout
  # -iquote- style isolation: no -I of src/ itself, so "kube/..." has nowhere to resolve.
  "$cxx" -std=c++20 -fsyntax-only -I"$(root_for "$1")" -I"$guard" -x c++ "$2" 2>&1
}

failed=0
probe() { # NAME CONTENT EXPECTED-PATTERN
  printf '%s\n' "$2" >"$work/probe.cc"
  local out
  if out=$(compile core,objects "$work/probe.cc"); then
    echo "FAIL probe $1: compiled with the policy of mlops_objects"
    failed=1
  elif ! grep -q "$3" <<<"$out"; then
    echo "FAIL probe $1: failed for another reason:"; echo "$out" | head -5
    failed=1
  else
    echo "ok   probe $1: refused ($(grep -m1 "$3" <<<"$out" | sed 's/.*error: //'))"
  fi
}
probe kube '#include "kube/client.h"' 'kube/client.h'
probe cpprest '#include <cpprest/http_client.h>' 'may not include'

count=0
while read -r lib dirs file; do
  [ -n "$lib" ] || continue
  case "$file" in *.cc) ;; *) continue ;; esac
  count=$((count + 1))
  if out=$(compile "$dirs" "$file"); then
    echo "ok   $lib: ${file#"$repo"/}"
  else
    echo "FAIL $lib (may see: $dirs): ${file#"$repo"/}"
    echo "$out" | grep -E 'error' | head -5
    failed=1
  fi
done <"$manifest"
echo "purity: $count sources of the decision libraries checked"
[ "$count" -gt 0 ] || { echo "purity: the manifest lists no sources"; exit 1; }
exit $failed
