#include "runtime/time_format.h"

#include <cstdio>
#include <ctime>

namespace mlops::runtime {

std::string formatRfc3339(std::chrono::system_clock::time_point t, int fractionalDigits) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (fractionalDigits == 3) {
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(micros / 1000));
  } else if (fractionalDigits == 6) {
    std::snprintf(buf + n, sizeof buf - n, ".%06dZ", static_cast<int>(micros));
  } else {
    std::snprintf(buf + n, sizeof buf - n, "Z");
  }
  return buf;
}

}  // namespace mlops::runtime
