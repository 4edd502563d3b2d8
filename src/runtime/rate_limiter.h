// Rate limiters for the work queue, with client-go's semantics.
//
// `when(item)` answers "how long should this item wait before it is processed
// again?" and counts the call as one more failure of the item; `forget(item)`
// clears the item's history once it has been processed successfully.
//
// The default controller limiter is the maximum of
//   - a per-item exponential backoff: 5 ms, 10 ms, 20 ms, ... capped at 1000 s;
//   - an overall token bucket: 10 per second, bursts of 100, shared by all
//     items (so a storm of failures cannot hammer the API server).
//
// All limiters are thread safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace mlops::runtime {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // The delay before `item` may be retried; records one more failure.
  virtual std::chrono::nanoseconds when(const std::string& item) = 0;
  // Stops tracking `item` (its next failure starts from the base delay).
  virtual void forget(const std::string& item) = 0;
  // How many failures of `item` have been recorded since it was forgotten.
  virtual int numRequeues(const std::string& item) = 0;
};

// base * 2^failures, capped at max.
class ItemExponentialFailureRateLimiter final : public RateLimiter {
 public:
  ItemExponentialFailureRateLimiter(std::chrono::nanoseconds base, std::chrono::nanoseconds max);
  std::chrono::nanoseconds when(const std::string& item) override;
  void forget(const std::string& item) override;
  int numRequeues(const std::string& item) override;

 private:
  const std::chrono::nanoseconds base_;
  const std::chrono::nanoseconds max_;
  std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

// A token bucket of `burst` tokens refilled at `qps` per second. Every call
// reserves a token, possibly one that is only available in the future; the
// returned delay is how long until it is (golang.org/x/time/rate's Reserve).
// Implemented as a theoretical-arrival-time counter in integer nanoseconds,
// so delays are exact under a fake clock.
class BucketRateLimiter final : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, const Clock& clock);
  std::chrono::nanoseconds when(const std::string& item) override;
  void forget(const std::string&) override {}
  int numRequeues(const std::string&) override { return 0; }

 private:
  const std::chrono::nanoseconds interval_;  // time to earn one token
  const int burst_;
  const Clock& clock_;
  std::mutex mu_;
  std::optional<Clock::TimePoint> theoreticalArrival_;
};

// The longest delay of its parts; forget and numRequeues go to all of them.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters);
  std::chrono::nanoseconds when(const std::string& item) override;
  void forget(const std::string& item) override;
  int numRequeues(const std::string& item) override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// 5 ms → 1000 s per item, combined with 10 qps / burst 100 overall.
std::unique_ptr<RateLimiter> defaultControllerRateLimiter(
    const Clock& clock = SystemClock::instance());

}  // namespace mlops::runtime
