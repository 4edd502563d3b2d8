#include "core/cancel_token.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace mlops {
namespace {

using namespace std::chrono_literals;

TEST(CancelTokenTest, WaitEndsAtTheDeadlineWhenNotCancelled) {
  CancelToken token;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(token.waitFor(SystemClock::instance(), 20ms));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 20ms);
  EXPECT_FALSE(token.cancelled());
}

TEST(CancelTokenTest, CancelWakesAWaiterAtOnce) {
  CancelToken token;
  std::atomic<bool> woke{false};
  std::thread waiter([&] { woke = token.waitFor(SystemClock::instance(), 30s); });
  std::this_thread::sleep_for(10ms);
  const auto cancelled = std::chrono::steady_clock::now();
  token.cancel();
  waiter.join();
  EXPECT_TRUE(woke.load());
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, 5s);
  EXPECT_TRUE(token.waitFor(SystemClock::instance(), 30s)) << "stays cancelled";
}

TEST(CancelTokenTest, SubscribersRunOnCancelOrAtOnceWhenAlreadyCancelled) {
  CancelToken token;
  int calls = 0;
  const CancelToken& observer = token;  // subscribing only needs const access
  const uint64_t id = observer.subscribe([&] { ++calls; });
  const uint64_t gone = observer.subscribe([&] { calls += 100; });
  observer.unsubscribe(gone);
  token.cancel();
  token.cancel();  // idempotent
  EXPECT_EQ(calls, 1);
  observer.unsubscribe(id);
  observer.subscribe([&] { ++calls; });
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace mlops
