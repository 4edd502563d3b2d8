#include "runtime/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "fake_clock.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<RateLimiter> noDelay() {
  return std::make_unique<ItemExponentialFailureRateLimiter>(0ns, 0ns);
}

TEST(WorkQueueTest, HandsOutKeysInFifoOrder) {
  WorkQueue q("test", noDelay());
  for (const char* k : {"a", "b", "c"}) q.add(k);
  EXPECT_EQ(q.len(), 3u);
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.get(), "c");
}

TEST(WorkQueueTest, DeduplicatesWaitingKeys) {
  WorkQueue q("test", noDelay());
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsRerunAfterDone) {
  WorkQueue q("test", noDelay());
  q.add("a");
  auto key = q.get();
  ASSERT_EQ(key, "a");
  q.add("a");              // dirtied while processing
  EXPECT_EQ(q.len(), 0u);  // not handed out to a second worker
  EXPECT_FALSE(q.getFor(20ms).has_value());
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueueTest, RepeatedAddsWhileProcessingRerunOnce) {
  WorkQueue q("test", noDelay());
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.add("a");
  q.add("a");
  q.add("a");
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
}

TEST(WorkQueueTest, NeverTwoWorkersOnOneKeyAndEveryAddIsSeen) {
  WorkQueue q("test", noDelay());
  constexpr int kKeys = 8;
  constexpr int kWorkers = 6;
  constexpr int kProducers = 4;
  constexpr int kAddsPerProducer = 2000;

  std::mutex mu;
  std::map<std::string, int> active;  // key → workers currently on it
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  // For each key, the number of adds made and the last add each worker run
  // could have seen: every add must be followed by a run that starts after it.
  std::vector<std::atomic<int>> addsMade(kKeys);
  std::vector<std::atomic<int>> addsCovered(kKeys);

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        const int k = std::stoi(*key);
        const int seen = addsMade[k].load();
        {
          std::lock_guard lock(mu);
          if (++active[*key] > 1) overlap = true;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          --active[*key];
        }
        int covered = addsCovered[k].load();
        while (covered < seen && !addsCovered[k].compare_exchange_weak(covered, seen)) {
        }
        ++processed;
        q.done(*key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAddsPerProducer; ++i) {
        const int k = (i + p) % kKeys;
        ++addsMade[k];
        q.add(std::to_string(k));
      }
    });
  }
  for (auto& t : producers) t.join();
  // Wait until every add has been covered by a run that started after it.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  auto allCovered = [&] {
    for (int k = 0; k < kKeys; ++k) {
      if (addsCovered[k].load() < addsMade[k].load()) return false;
    }
    return true;
  };
  while (!allCovered() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  q.shutDown();
  for (auto& t : workers) t.join();

  EXPECT_FALSE(overlap.load()) << "two workers processed one key at the same time";
  EXPECT_TRUE(allCovered()) << "an add was never followed by a run";
  EXPECT_GT(processed.load(), 0);
  EXPECT_LE(processed.load(), kProducers * kAddsPerProducer);
}

TEST(WorkQueueTest, DelayedKeysArriveInReadyTimeOrder) {
  WorkQueue q("test", noDelay());
  q.addAfter("late", 60ms);
  q.addAfter("early", 20ms);
  q.addAfter("middle", 40ms);
  q.add("now");
  EXPECT_EQ(q.delayedLen(), 3u);
  EXPECT_EQ(q.get(), "now");
  EXPECT_EQ(q.get(), "early");
  EXPECT_EQ(q.get(), "middle");
  EXPECT_EQ(q.get(), "late");
  EXPECT_EQ(q.delayedLen(), 0u);
}

TEST(WorkQueueTest, DelayedTwiceTheEarlierTimeWins) {
  WorkQueue q("test", noDelay());
  q.addAfter("a", 10s);
  q.addAfter("a", 10ms);
  q.addAfter("a", 20s);  // later: ignored
  EXPECT_EQ(q.delayedLen(), 1u);
  auto key = q.getFor(5s);
  EXPECT_EQ(key, "a");
}

TEST(WorkQueueTest, ZeroDelayAddsAtOnce) {
  WorkQueue q("test", noDelay());
  q.addAfter("a", 0ns);
  EXPECT_EQ(q.len(), 1u);
}

TEST(WorkQueueTest, DelayedKeyIsDedupedWithAQueuedOne) {
  testing::FakeClock clock;
  WorkQueue q("test", noDelay(), clock);
  q.add("a");
  q.addAfter("a", 1ms);
  ASSERT_TRUE(clock.settle(1));  // the delay thread waits for the 1 ms
  clock.advance(1ms);
  ASSERT_TRUE(clock.settle(0));  // ...and has handed the key over
  EXPECT_EQ(q.delayedLen(), 0u);
  EXPECT_EQ(q.len(), 1u);
}

TEST(WorkQueueTest, ShutDownWakesBlockedWorkersAndIgnoresAdds) {
  WorkQueue q("test", noDelay());
  std::atomic<int> woke{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      auto key = q.get();
      if (!key) ++woke;
    });
  }
  std::this_thread::sleep_for(20ms);
  q.shutDown();
  for (auto& t : workers) t.join();
  EXPECT_EQ(woke.load(), 3);
  EXPECT_TRUE(q.shuttingDown());
  q.add("a");
  q.addAfter("b", 1ms);
  EXPECT_EQ(q.len(), 0u);
  EXPECT_FALSE(q.get().has_value());
}

TEST(WorkQueueTest, ShutDownDropsWaitingKeys) {
  WorkQueue q("test", noDelay());
  q.add("a");
  q.addAfter("b", 1h);
  q.shutDown();
  EXPECT_FALSE(q.get().has_value());
  EXPECT_EQ(q.delayedLen(), 0u);
}

TEST(WorkQueueTest, RateLimitedAddUsesTheLimiterAndForgetResetsIt) {
  WorkQueue q("test", std::make_unique<ItemExponentialFailureRateLimiter>(1ms, 1s));
  q.addRateLimited("a");
  q.addRateLimited("a");
  EXPECT_EQ(q.numRequeues("a"), 2);
  auto key = q.getFor(5s);
  EXPECT_EQ(key, "a");
  q.done("a");
  q.forget("a");
  EXPECT_EQ(q.numRequeues("a"), 0);
}

class RecordingMetrics final : public QueueMetrics {
 public:
  struct Counts {
    std::atomic<int> adds{0}, retries{0}, queueDurations{0}, workDurations{0};
    std::atomic<size_t> lastDepth{0};
  };
  explicit RecordingMetrics(Counts& c) : c_(c) {}
  void depth(std::size_t d) override { c_.lastDepth = d; }
  void added() override { ++c_.adds; }
  void queueDuration(double s) override {
    EXPECT_GE(s, 0.0);
    ++c_.queueDurations;
  }
  void workDuration(double s) override {
    EXPECT_NEAR(s, 2.0, 1e-9);  // the fake clock moved 2 s while "working"
    ++c_.workDurations;
  }
  void retried() override { ++c_.retries; }

 private:
  Counts& c_;
};

TEST(WorkQueueTest, ReportsMetrics) {
  RecordingMetrics::Counts counts;
  testing::FakeClock clock;
  WorkQueue q("test", noDelay(), clock, std::make_unique<RecordingMetrics>(counts));
  q.add("a");
  q.add("b");
  q.add("a");  // deduped: not an add
  EXPECT_EQ(counts.adds.load(), 2);
  EXPECT_EQ(counts.lastDepth.load(), 2u);
  auto key = q.get();
  EXPECT_EQ(counts.lastDepth.load(), 1u);
  EXPECT_EQ(counts.queueDurations.load(), 1);
  clock.advance(2s);
  q.done(*key);
  EXPECT_EQ(counts.workDurations.load(), 1);
  q.addRateLimited("c");
  EXPECT_EQ(counts.retries.load(), 1);
}

}  // namespace
}  // namespace mlops::runtime
