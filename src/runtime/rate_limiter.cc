#include "runtime/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace mlops::runtime {

using std::chrono::nanoseconds;

ItemExponentialFailureRateLimiter::ItemExponentialFailureRateLimiter(nanoseconds base,
                                                                     nanoseconds max)
    : base_(base), max_(max) {}

nanoseconds ItemExponentialFailureRateLimiter::when(const std::string& item) {
  int exponent;
  {
    std::lock_guard lock(mu_);
    exponent = failures_[item]++;
  }
  // Doubling in floating point and comparing before converting avoids the
  // integer overflow that 2^exponent would hit after a few dozen failures.
  const double delay = static_cast<double>(base_.count()) * std::pow(2.0, exponent);
  if (delay >= static_cast<double>(max_.count())) {
    return max_;
  }
  return nanoseconds(static_cast<int64_t>(delay));
}

void ItemExponentialFailureRateLimiter::forget(const std::string& item) {
  std::lock_guard lock(mu_);
  failures_.erase(item);
}

int ItemExponentialFailureRateLimiter::numRequeues(const std::string& item) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(item);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(double qps, int burst, const Clock& clock)
    : interval_(static_cast<int64_t>(1e9 / qps)), burst_(std::max(burst, 1)), clock_(clock) {}

nanoseconds BucketRateLimiter::when(const std::string&) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  // The bucket is full whenever the theoretical arrival time lies in the
  // past; each reservation pushes it one interval further.
  auto tat = theoreticalArrival_ ? std::max(*theoreticalArrival_, now) : now;
  tat += interval_;
  theoreticalArrival_ = tat;
  const auto delay = tat - now - interval_ * burst_;
  return std::max(nanoseconds(0), std::chrono::duration_cast<nanoseconds>(delay));
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
    : limiters_(std::move(limiters)) {}

nanoseconds MaxOfRateLimiter::when(const std::string& item) {
  nanoseconds longest(0);
  for (auto& l : limiters_) {
    longest = std::max(longest, l->when(item));
  }
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& item) {
  for (auto& l : limiters_) {
    l->forget(item);
  }
}

int MaxOfRateLimiter::numRequeues(const std::string& item) {
  int most = 0;
  for (auto& l : limiters_) {
    most = std::max(most, l->numRequeues(item));
  }
  return most;
}

std::unique_ptr<RateLimiter> defaultControllerRateLimiter(const Clock& clock) {
  std::vector<std::unique_ptr<RateLimiter>> parts;
  parts.push_back(std::make_unique<ItemExponentialFailureRateLimiter>(std::chrono::milliseconds(5),
                                                                      std::chrono::seconds(1000)));
  parts.push_back(std::make_unique<BucketRateLimiter>(10.0, 100, clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(parts));
}

}  // namespace mlops::runtime
