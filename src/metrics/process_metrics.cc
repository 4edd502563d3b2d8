#include "metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <utility>

namespace mlops::metrics {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::prometheus::MetricType;

std::vector<std::string_view> splitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) {
      ++i;
    }
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') {
      ++i;
    }
    if (i > start) {
      out.push_back(s.substr(start, i - start));
    }
  }
  return out;
}

std::optional<double> number(std::string_view token) {
  double value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size()) {
    return std::nullopt;
  }
  return value;
}

Error parseError(const std::string& what) {
  return makeError(ErrorCode::kInvalidArgument, what);
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> countEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return std::nullopt;
  }
  double n = 0;
  while (const dirent* e = readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") {
      ++n;
    }
  }
  closedir(d);
  return n - 1;  // the descriptor opendir itself holds
}

void addGauge(std::vector<MetricFamily>& out, const char* name, const char* help, double value,
              MetricType type = MetricType::Gauge) {
  ClientMetric m;
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  out.push_back(MetricFamily{name, help, type, {std::move(m)}});
}

}  // namespace

Result<ProcStat> parseProcStat(std::string_view text, long ticksPerSecond, long pageSize) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos || ticksPerSecond <= 0 || pageSize <= 0) {
    return parseError("/proc stat: no command name in parentheses");
  }
  // Token i is field i + 3 of proc(5): state is field 3.
  const auto fields = splitWhitespace(text.substr(close + 1));
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kStart = 22 - 3, kVsize = 23 - 3,
                   kRss = 24 - 3;
  if (fields.size() <= kRss) {
    return parseError("/proc stat: " + std::to_string(fields.size() + 2) +
                      " fields, fewer than 24");
  }
  const auto utime = number(fields[kUtime]);
  const auto stime = number(fields[kStime]);
  const auto start = number(fields[kStart]);
  const auto vsize = number(fields[kVsize]);
  const auto rss = number(fields[kRss]);
  if (!utime || !stime || !start || !vsize || !rss) {
    return parseError("/proc stat: a field is not a number");
  }
  const auto ticks = static_cast<double>(ticksPerSecond);
  return ProcStat{.cpuSeconds = (*utime + *stime) / ticks,
                  .virtualBytes = *vsize,
                  .residentBytes = *rss * static_cast<double>(pageSize),
                  .startSinceBoot = *start / ticks};
}

Result<double> parseBootTime(std::string_view procStat) {
  for (size_t pos = 0; pos < procStat.size();) {
    size_t end = procStat.find('\n', pos);
    if (end == std::string_view::npos) {
      end = procStat.size();
    }
    const auto fields = splitWhitespace(procStat.substr(pos, end - pos));
    if (fields.size() == 2 && fields[0] == "btime") {
      if (auto v = number(fields[1])) {
        return *v;
      }
      return parseError("/proc/stat: btime is not a number");
    }
    pos = end + 1;
  }
  return parseError("/proc/stat: no btime line");
}

Result<std::optional<double>> parseMaxOpenFiles(std::string_view limits) {
  constexpr std::string_view kLine = "Max open files";
  const size_t at = limits.find(kLine);
  if (at == std::string_view::npos) {
    return parseError("/proc limits: no \"Max open files\" line");
  }
  size_t end = limits.find('\n', at);
  if (end == std::string_view::npos) {
    end = limits.size();
  }
  const auto fields = splitWhitespace(limits.substr(at + kLine.size(), end - at - kLine.size()));
  if (fields.empty()) {
    return parseError("/proc limits: \"Max open files\" without a limit");
  }
  if (fields[0] == "unlimited") {
    return std::optional<double>();
  }
  if (auto v = number(fields[0])) {
    return std::optional<double>(*v);
  }
  return parseError("/proc limits: the soft limit of open files is not a number");
}

std::vector<MetricFamily> ProcessCollector::Collect() const {
  std::vector<MetricFamily> out;
  const std::string self = procRoot_ + "/self";
  if (auto text = readFile(self + "/stat")) {
    if (auto stat = parseProcStat(*text, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE)); stat.ok()) {
      addGauge(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               stat->cpuSeconds, MetricType::Counter);
      addGauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
               stat->residentBytes);
      addGauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
               stat->virtualBytes);
      if (auto boot = readFile(procRoot_ + "/stat")) {
        if (auto btime = parseBootTime(*boot); btime.ok()) {
          addGauge(out, "process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.",
                   *btime + stat->startSinceBoot);
        }
      }
    }
  }
  if (auto fds = countEntries(self + "/fd")) {
    addGauge(out, "process_open_fds", "Number of open file descriptors.", *fds);
  }
  if (auto limits = readFile(self + "/limits")) {
    if (auto max = parseMaxOpenFiles(*limits); max.ok() && max->has_value()) {
      addGauge(out, "process_max_fds", "Maximum number of open file descriptors.", **max);
    }
  }
  return out;
}

}  // namespace mlops::metrics
