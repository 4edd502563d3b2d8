// The process_* metrics every Go operator exposes (client_golang's process
// collector) and dashboards expect, read from /proc/self at every scrape:
//
//   process_cpu_seconds_total      user + system CPU time
//   process_resident_memory_bytes  RSS
//   process_virtual_memory_bytes   virtual memory size
//   process_open_fds               entries of /proc/self/fd
//   process_max_fds                the soft RLIMIT_NOFILE
//   process_start_time_seconds     start time, Unix seconds
//
// prometheus-cpp (1.0, Debian's) offers no such collector. The parsing is
// pure (the functions below, unit-tested on sample text); ProcessCollector
// does the reading. A figure that cannot be read is left out of that scrape
// (never a made-up 0).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "core/result.h"

namespace mlops::metrics {

// The figures of /proc/<pid>/stat (proc(5)).
struct ProcStat {
  double cpuSeconds = 0;      // (utime + stime) / ticks per second
  double virtualBytes = 0;    // vsize
  double residentBytes = 0;   // rss pages × page size
  double startSinceBoot = 0;  // starttime / ticks per second
};

// Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses: fields are counted after the last
// ')'. An error for text that does not have the fields.
Result<ProcStat> parseProcStat(std::string_view text, long ticksPerSecond, long pageSize);
// The "btime" line of /proc/stat: boot time, Unix seconds.
Result<double> parseBootTime(std::string_view procStat);
// The soft limit of the "Max open files" line of /proc/<pid>/limits;
// nullopt when it is "unlimited".
Result<std::optional<double>> parseMaxOpenFiles(std::string_view limits);

// Reads /proc/self at every Collect(). Thread safe (no state).
class ProcessCollector final : public ::prometheus::Collectable {
 public:
  // `procRoot` is "/proc" except in tests.
  explicit ProcessCollector(std::string procRoot = "/proc") : procRoot_(std::move(procRoot)) {}
  std::vector<::prometheus::MetricFamily> Collect() const override;

 private:
  std::string procRoot_;
};

}  // namespace mlops::metrics
