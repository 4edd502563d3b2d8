#include "runtime/backoff.h"

#include <gtest/gtest.h>

namespace mlops::runtime {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesFrom800msAndCapsAt30s) {
  Backoff b(BackoffPolicy{}, [] { return 0.0; });
  const std::vector<int64_t> want = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
  for (int64_t w : want) EXPECT_EQ(b.next(), milliseconds(w));
}

TEST(BackoffTest, JitterAddsUpToTheFactorTimesTheBase) {
  Backoff b(BackoffPolicy{}, [] { return 0.5; });
  EXPECT_EQ(b.next(), milliseconds(1200));  // 800 + 0.5 * 1.0 * 800
  EXPECT_EQ(b.next(), milliseconds(2400));
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b(BackoffPolicy{}, [] { return 0.0; });
  b.next();
  b.next();
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(800));
}

TEST(BackoffTest, DefaultRandomStaysWithinJitterBounds) {
  Backoff b(BackoffPolicy{});
  for (int i = 0; i < 20; ++i) {
    auto d = b.next();
    b.reset();
    EXPECT_GE(d, milliseconds(800));
    EXPECT_LE(d, milliseconds(1600));
  }
}

}  // namespace
}  // namespace mlops::runtime
