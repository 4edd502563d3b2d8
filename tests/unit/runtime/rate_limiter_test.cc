#include "runtime/rate_limiter.h"

#include <gtest/gtest.h>

#include "fake_clock.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST(ItemExponentialFailureRateLimiterTest, DoublesFrom5msAndCapsAt1000s) {
  ItemExponentialFailureRateLimiter limiter(5ms, 1000s);
  nanoseconds want = 5ms;
  for (int i = 0; i < 18; ++i) {  // 5 ms · 2^17 = 655.36 s
    EXPECT_EQ(limiter.when("a"), want) << "failure " << i;
    want *= 2;
  }
  EXPECT_EQ(limiter.when("a"), 1000s);  // 5 ms · 2^18 = 1310.72 s > cap
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.when("a"), 1000s);  // no overflow
  EXPECT_EQ(limiter.numRequeues("a"), 119);
}

TEST(ItemExponentialFailureRateLimiterTest, ItemsAreIndependentAndForgetResets) {
  ItemExponentialFailureRateLimiter limiter(5ms, 1000s);
  EXPECT_EQ(limiter.when("a"), 5ms);
  EXPECT_EQ(limiter.when("a"), 10ms);
  EXPECT_EQ(limiter.when("b"), 5ms);
  EXPECT_EQ(limiter.numRequeues("a"), 2);
  limiter.forget("a");
  EXPECT_EQ(limiter.numRequeues("a"), 0);
  EXPECT_EQ(limiter.when("a"), 5ms);
  EXPECT_EQ(limiter.when("b"), 10ms);
}

TEST(BucketRateLimiterTest, BurstOf100ThenTenPerSecond) {
  testing::FakeClock clock;
  BucketRateLimiter limiter(10, 100, clock);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.when("x"), 0ns) << "token " << i;
  // The bucket is empty: each reservation waits one more 100 ms interval.
  EXPECT_EQ(limiter.when("x"), 100ms);
  EXPECT_EQ(limiter.when("y"), 200ms);
  EXPECT_EQ(limiter.when("z"), 300ms);
  EXPECT_EQ(limiter.numRequeues("x"), 0);
}

TEST(BucketRateLimiterTest, RefillsAtTenPerSecond) {
  testing::FakeClock clock;
  BucketRateLimiter limiter(10, 100, clock);
  for (int i = 0; i < 100; ++i) (void)limiter.when("x");
  clock.advance(1s);  // ten tokens back
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.when("x"), 0ns) << "token " << i;
  EXPECT_EQ(limiter.when("x"), 100ms);
  clock.advance(50ms);
  EXPECT_EQ(limiter.when("x"), 150ms);  // 200 ms from the earlier now, 150 ms from this one
}

TEST(BucketRateLimiterTest, NeverHoldsMoreThanTheBurst) {
  testing::FakeClock clock;
  BucketRateLimiter limiter(10, 100, clock);
  clock.advance(1h);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.when("x"), 0ns);
  EXPECT_EQ(limiter.when("x"), 100ms);
}

TEST(MaxOfRateLimiterTest, DefaultControllerLimiterCombinesBoth) {
  testing::FakeClock clock;
  auto limiter = defaultControllerRateLimiter(clock);
  // Per-item backoff dominates while the bucket has tokens.
  EXPECT_EQ(limiter->when("a"), 5ms);
  EXPECT_EQ(limiter->when("a"), 10ms);
  EXPECT_EQ(limiter->numRequeues("a"), 2);
  // Drain the bucket with distinct items (each at its first failure: 5 ms).
  for (int i = 0; i < 98; ++i) EXPECT_EQ(limiter->when("item" + std::to_string(i)), 5ms);
  // Now the bucket dominates: 100 ms for the next reservation.
  EXPECT_EQ(limiter->when("fresh"), 100ms);
  limiter->forget("a");
  EXPECT_EQ(limiter->numRequeues("a"), 0);
}

}  // namespace
}  // namespace mlops::runtime
