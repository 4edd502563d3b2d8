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

# Frame pointers give complete, cheap stacks in every report. -O1 (after the
# build type's -O2, so it wins) compiles about 30% faster under ASan and keeps
# reports readable; the sanitizers find the same faults.
set(_mlops_common_flags -fno-omit-frame-pointer -g -O1)

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
