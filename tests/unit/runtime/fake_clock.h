// A Clock that moves only when the test says so.
#pragma once

#include <atomic>
#include <chrono>

#include "core/clock.h"

namespace mlops::runtime::testing {

class FakeClock final : public Clock {
 public:
  FakeClock()
      : now_(TimePoint(std::chrono::hours(1000)).time_since_epoch().count()),
        wall_(std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))
                  .time_since_epoch()
                  .count()) {}

  TimePoint now() const override { return TimePoint(TimePoint::duration(now_.load())); }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::time_point(std::chrono::system_clock::duration(wall_.load()));
  }

  template <typename Rep, typename Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    now_ += std::chrono::duration_cast<TimePoint::duration>(d).count();
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d).count();
  }

 private:
  std::atomic<TimePoint::rep> now_;
  std::atomic<std::chrono::system_clock::rep> wall_;
};

}  // namespace mlops::runtime::testing
