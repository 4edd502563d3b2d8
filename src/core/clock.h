// Time as an interface, so code that waits or measures can be tested without
// sleeping. `SystemClock` is the real one; tests supply a fake.
#pragma once

#include <chrono>

namespace mlops {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual TimePoint now() const = 0;
  // Wall-clock time, for timestamps written to the API (RFC 3339).
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
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
