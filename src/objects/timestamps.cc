#include "objects/timestamps.h"

#include <cstdio>

namespace mlops::objects {
namespace {

using namespace std::chrono;

bool readInt(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string formatTimestamp(system_clock::time_point t, TimePrecision precision) {
  const auto secs = floor<seconds>(t);
  const auto days = floor<std::chrono::days>(secs);
  const year_month_day ymd{days};
  const hh_mm_ss hms{secs - days};
  const auto micros = duration_cast<microseconds>(t - secs).count();
  char buf[48];
  const int n =
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                    static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                    static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                    static_cast<int>(hms.seconds().count()));
  switch (precision) {
    case TimePrecision::kMilliseconds:
      std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(micros / 1000));
      break;
    case TimePrecision::kMicroseconds:
      std::snprintf(buf + n, sizeof buf - n, ".%06dZ", static_cast<int>(micros));
      break;
    case TimePrecision::kSeconds:
      std::snprintf(buf + n, sizeof buf - n, "Z");
      break;
  }
  return buf;
}

std::optional<system_clock::time_point> parseTimestamp(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!readInt(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !readInt(s, 5, 2, mo) ||
      s[7] != '-' || !readInt(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !readInt(s, 11, 2, h) || s[13] != ':' || !readInt(s, 14, 2, mi) || s[16] != ':' ||
      !readInt(s, 17, 2, se)) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ++pos;  // fraction: ignored
    }
  }
  int offsetMinutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!readInt(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !readInt(s, pos + 4, 2, om)) {
      return std::nullopt;
    }
    offsetMinutes = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) {
    return std::nullopt;
  }
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{se} - minutes{offsetMinutes};
}

}  // namespace mlops::objects
