// Property checks inside fuzz targets. A failed check prints what was
// expected and aborts, which libFuzzer reports as a crash and saves the input
// (hack/fuzz.sh then prints it in base64).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace mlops::fuzz {

[[noreturn]] inline void checkFailed(const char* expr, const char* file, int line,
                                     std::string_view detail) {
  std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n  %.*s\n", file, line, expr,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace mlops::fuzz

// `detail` is anything convertible to std::string_view (a std::string works).
#define FUZZ_CHECK(cond, detail)                                                  \
  do {                                                                            \
    if (!(cond)) {                                                                \
      ::mlops::fuzz::checkFailed(#cond, __FILE__, __LINE__, std::string(detail)); \
    }                                                                             \
  } while (false)
