# Sanitizer and fuzzing builds, chosen at configure time. Each needs its own
# build directory (hack/test-sanitize.sh and hack/fuzz.sh make them):
#
#   -DMLOPS_SANITIZE=address   AddressSanitizer + UndefinedBehaviorSanitizer
#   -DMLOPS_SANITIZE=thread    ThreadSanitizer
#   -DMLOPS_FUZZ=ON            libFuzzer targets under fuzz/ (clang only),
#                              themselves built with ASan + UBSan
#
# The flags go on every target (compile and link), so the libraries the tests
# and fuzz targets link are instrumented too. Third-party libraries from
# Debian are not instrumented; see hack/tsan.supp for what that costs TSan.

set(MLOPS_SANITIZE "" CACHE STRING "Sanitizer build: '', 'address' (ASan+UBSan) or 'thread'")
set_property(CACHE MLOPS_SANITIZE PROPERTY STRINGS "" address thread)
option(MLOPS_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

# Frame pointers give complete, cheap stacks in every report, and line tables
# (-g1) all the file:line a report prints; full debug info (-g) only made the
# compile slower and the trees larger. The optimisation level comes after the
# build type's -O2, so it wins. GCC's -Og for the sanitizer trees: the same
# three files (two sources, one test) compiled in 44-50 s instead of 65-78 s
# under ASan+UBSan with -O1 -g, and in 18-21 s instead of 37-43 s under TSan
# (December 2026, 2-core dev machine); a cold CI run compiled 2599 s of ASan
# and 1374 s of TSan objects with -O1 -g. The fuzz targets keep clang's -O1
# for their speed. The sanitizers find the same faults at either level.
set(_mlops_common_flags -fno-omit-frame-pointer -g1)
if(MLOPS_FUZZ)
  list(APPEND _mlops_common_flags -O1)
else()
  list(APPEND _mlops_common_flags -Og)
endif()

if(MLOPS_SANITIZE STREQUAL "address")
  # UBSan findings abort instead of printing and carrying on, so a test that
  # triggers undefined behaviour fails.
  set(_mlops_san_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined
                       ${_mlops_common_flags})
elseif(MLOPS_SANITIZE STREQUAL "thread")
  set(_mlops_san_flags -fsanitize=thread ${_mlops_common_flags})
elseif(NOT MLOPS_SANITIZE STREQUAL "")
  message(FATAL_ERROR "MLOPS_SANITIZE must be '', 'address' or 'thread', not '${MLOPS_SANITIZE}'")
endif()

if(MLOPS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MLOPS_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  if(NOT MLOPS_SANITIZE STREQUAL "")
    message(FATAL_ERROR "MLOPS_FUZZ brings its own sanitizers; leave MLOPS_SANITIZE empty")
  endif()
  # The libraries get coverage instrumentation and ASan/UBSan; only the fuzz
  # executables link libFuzzer's main (-fsanitize=fuzzer, in fuzz/).
  set(_mlops_san_flags -fsanitize=fuzzer-no-link,address,undefined
                       -fno-sanitize-recover=undefined ${_mlops_common_flags})
endif()

if(DEFINED _mlops_san_flags)
  add_compile_options(${_mlops_san_flags})
  add_link_options(${_mlops_san_flags})
endif()
