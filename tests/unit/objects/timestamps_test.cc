#include "objects/timestamps.h"

#include <gtest/gtest.h>

namespace mlops::objects {
namespace {

using namespace std::chrono;

TEST(Timestamps, FormatsUtcWholeSeconds) {
  const auto t =
      sys_days{year{2024} / 5 / 1} + hours{12} + minutes{3} + seconds{4} + milliseconds{999};
  EXPECT_EQ(formatTimestamp(t), "2024-05-01T12:03:04Z");
  EXPECT_EQ(formatTimestamp(system_clock::time_point{}), "1970-01-01T00:00:00Z");
}

// Leases (metav1.MicroTime) and log lines.
TEST(Timestamps, FormatsFractionsWhenAsked) {
  const auto t =
      sys_days{year{2024} / 5 / 1} + hours{12} + minutes{3} + seconds{4} + microseconds{7'008};
  EXPECT_EQ(formatTimestamp(t, TimePrecision::kMilliseconds), "2024-05-01T12:03:04.007Z");
  EXPECT_EQ(formatTimestamp(t, TimePrecision::kMicroseconds), "2024-05-01T12:03:04.007008Z");
  EXPECT_EQ(formatTimestamp(t, TimePrecision::kSeconds), "2024-05-01T12:03:04Z");
  EXPECT_EQ(parseTimestamp(formatTimestamp(t, TimePrecision::kMicroseconds)),
            time_point_cast<seconds>(t));
}

TEST(Timestamps, ParsesRfc3339) {
  const auto base = sys_days{year{2024} / 5 / 1} + hours{12} + minutes{3} + seconds{4};
  const std::pair<const char*, std::optional<system_clock::time_point>> cases[] = {
      {"2024-05-01T12:03:04Z", base},
      {"2024-05-01T12:03:04.123456Z", base},
      {"2024-05-01T14:03:04+02:00", base},
      {"2024-05-01T10:33:04-01:30", base},
      {"2024-05-01 12:03:04Z", std::nullopt},
      {"2024-05-01T12:03:04", std::nullopt},
      {"2024-02-30T00:00:00Z", std::nullopt},
      {"2024-05-01T12:03:04Zjunk", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(parseTimestamp(text), expected) << text;
  EXPECT_EQ(parseTimestamp(formatTimestamp(base)), base);
}

}  // namespace
}  // namespace mlops::objects
