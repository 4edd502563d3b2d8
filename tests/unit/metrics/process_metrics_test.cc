#include "metrics/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "scrape.h"

namespace mlops::metrics {
namespace {

using testing::sample;
using testing::scrape;

// A real line of /proc/<pid>/stat, with a command name holding ") (" to
// prove fields are counted after the last parenthesis.
// utime 250, stime 50, starttime 12345, vsize 104857600, rss 2560.
constexpr const char* kStat =
    "4242 (mlops ) (operator) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 12345 "
    "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

TEST(ParseProcStatTest, ReadsCpuMemoryAndStartTime) {
  auto s = parseProcStat(kStat, 100, 4096);
  ASSERT_TRUE(s.ok()) << s.error().toString();
  EXPECT_DOUBLE_EQ(s->cpuSeconds, 3.0);
  EXPECT_DOUBLE_EQ(s->virtualBytes, 104857600.0);
  EXPECT_DOUBLE_EQ(s->residentBytes, 2560.0 * 4096);
  EXPECT_DOUBLE_EQ(s->startSinceBoot, 123.45);
}

TEST(ParseProcStatTest, RejectsTruncatedOrGarbledText) {
  EXPECT_FALSE(parseProcStat("", 100, 4096).ok());
  EXPECT_FALSE(parseProcStat("4242 mlops S 1", 100, 4096).ok());
  EXPECT_FALSE(parseProcStat("4242 (mlops) S 1 2 3", 100, 4096).ok());
  std::string garbled = kStat;
  garbled.replace(garbled.find(" 250 "), 5, " x50 ");
  EXPECT_FALSE(parseProcStat(garbled, 100, 4096).ok());
  EXPECT_FALSE(parseProcStat(kStat, 0, 4096).ok());
}

TEST(ParseBootTimeTest, FindsTheBtimeLine) {
  auto b = parseBootTime("cpu  1 2 3\ncpu0 1 2 3\nintr 5\nctxt 9\nbtime 1764489600\nprocesses 7\n");
  ASSERT_TRUE(b.ok());
  EXPECT_DOUBLE_EQ(*b, 1764489600.0);
  EXPECT_FALSE(parseBootTime("cpu 1 2 3\n").ok());
  EXPECT_FALSE(parseBootTime("btime soon\n").ok());
}

constexpr const char* kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            1024                 1048576              files     \n"
    "Max locked memory         8388608              8388608              bytes     \n";

TEST(ParseMaxOpenFilesTest, ReadsTheSoftLimit) {
  auto m = parseMaxOpenFiles(kLimits);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->has_value());
  EXPECT_DOUBLE_EQ(**m, 1024.0);
  auto unlimited =
      parseMaxOpenFiles("Max open files            unlimited            unlimited  files\n");
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->has_value());
  EXPECT_FALSE(parseMaxOpenFiles("Max cpu time unlimited unlimited seconds\n").ok());
  EXPECT_FALSE(parseMaxOpenFiles("Max open files            lots\n").ok());
}

// A fake /proc tree: what the collector makes of the files it reads.
TEST(ProcessCollectorTest, ReportsFromTheProcTree) {
  const auto root =
      std::filesystem::temp_directory_path() / ("mlops-proc-" + std::to_string(getpid()));
  std::filesystem::create_directories(root / "self" / "fd");
  for (const char* fd : {"0", "1", "2", "3"}) {
    std::ofstream(root / "self" / "fd" / fd) << "";
  }
  std::ofstream(root / "self" / "stat") << kStat;
  std::ofstream(root / "self" / "limits") << kLimits;
  std::ofstream(root / "stat") << "cpu 1 2 3\nbtime 1764489600\n";

  const std::string t = scrape(ProcessCollector(root.string()));
  std::filesystem::remove_all(root);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  ASSERT_TRUE(sample(t, "process_cpu_seconds_total")) << t;
  EXPECT_DOUBLE_EQ(std::stod(*sample(t, "process_cpu_seconds_total")), 300 / ticks);
  EXPECT_DOUBLE_EQ(std::stod(*sample(t, "process_resident_memory_bytes")), 2560 * page);
  EXPECT_EQ(sample(t, "process_virtual_memory_bytes"), "104857600");
  // opendir's own descriptor is not counted: 4 files less that one.
  EXPECT_EQ(sample(t, "process_open_fds"), "3");
  EXPECT_EQ(sample(t, "process_max_fds"), "1024");
  EXPECT_DOUBLE_EQ(std::stod(*sample(t, "process_start_time_seconds")), 1764489600 + 12345 / ticks);
  EXPECT_NE(t.find("# TYPE process_cpu_seconds_total counter"), std::string::npos) << t;
}

TEST(ProcessCollectorTest, UnreadableFilesAreLeftOutNotZero) {
  const std::string t = scrape(ProcessCollector("/nonexistent-proc-root"));
  EXPECT_EQ(t, "");
}

// This process, as the operator would report itself.
TEST(ProcessCollectorTest, ThisProcessIsPlausible) {
  const std::string t = scrape(ProcessCollector());
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    ASSERT_TRUE(sample(t, name)) << name << " missing in\n" << t;
  }
  EXPECT_GT(std::stod(*sample(t, "process_resident_memory_bytes")), 1 << 20);
  EXPECT_GE(std::stod(*sample(t, "process_virtual_memory_bytes")),
            std::stod(*sample(t, "process_resident_memory_bytes")));
  EXPECT_GE(std::stod(*sample(t, "process_open_fds")), 3);  // stdin, stdout, stderr
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = std::stod(*sample(t, "process_start_time_seconds"));
  EXPECT_LE(start, now + 5);  // btime is whole seconds
  EXPECT_GT(start, now - 24 * 3600) << "a test process started less than a day ago";
}

}  // namespace
}  // namespace mlops::metrics
