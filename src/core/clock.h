// Time as an interface, so code that waits or measures can be tested without
// sleeping. `SystemClock` is the real one; tests supply a fake.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace mlops {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual TimePoint now() const = 0;
  // Wall-clock time, for timestamps written to the API (RFC 3339).
  virtual std::chrono::system_clock::time_point wallNow() const = 0;

  // Blocks on `cv` (with `lock` held, like condition_variable::wait_until)
  // until it is notified or `deadline` passes on this clock. May return
  // early, so callers loop re-checking their condition and now(): that lets
  // code that waits for time be driven by a fake clock in tests instead of
  // by real sleeps. The default suits clocks that follow the steady clock.
  virtual void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) const {
    cv.wait_until(lock, deadline);
  }
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
  // A process-wide instance; stateless, so sharing it is safe.
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

}  // namespace mlops
