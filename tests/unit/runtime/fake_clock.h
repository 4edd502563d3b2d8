// A Clock that moves only when the test says so.
//
// Code under test that waits for time does so through Clock::waitUntil. Here
// a waiting thread is registered as a sleeper together with the time it saw
// when it went to sleep; advance() wakes every sleeper. So a test can drive
// time step by step without sleeping:
//
//   clock.advance(2s);
//   ASSERT_TRUE(clock.settle(1));  // the one waiting thread saw the new time
//                                  // and is asleep again: whatever 2 s
//                                  // trigger has happened, nothing more will
//
// A sleeper also wakes every couple of real milliseconds, because the
// component may be notified on its own condition variable (stop()), which
// this clock cannot see; that only costs a re-check.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

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

  void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) const override {
    std::list<Sleeper>::iterator me;
    {
      std::lock_guard guard(mu_);
      if (now() >= deadline) {
        return;
      }
      me = sleepers_.insert(sleepers_.end(), Sleeper{&cv, now_.load()});
      ++sleeps_;
    }
    // A real-time cap: a notification sent by advance() between the check
    // above and this wait would otherwise be lost.
    cv.wait_for(lock, std::chrono::milliseconds(2));
    std::lock_guard guard(mu_);
    sleepers_.erase(me);
  }

  template <typename Rep, typename Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    std::lock_guard guard(mu_);
    now_ += std::chrono::duration_cast<TimePoint::duration>(d).count();
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d).count();
    for (const auto& s : sleepers_) {
      s.cv->notify_all();
    }
  }

  // Threads asleep in waitUntil() right now.
  int sleepers() const {
    std::lock_guard guard(mu_);
    return static_cast<int>(sleepers_.size());
  }
  // How many times a thread went to sleep in waitUntil() so far.
  uint64_t sleeps() const {
    std::lock_guard guard(mu_);
    return sleeps_;
  }

  // Waits (in real time, up to `timeout`) until exactly `count` threads are
  // asleep and every one of them went to sleep after the last advance(): all
  // the work the current time allows has been done. False on timeout.
  bool settle(int count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      {
        std::lock_guard guard(mu_);
        const auto current = now_.load();
        if (static_cast<int>(sleepers_.size()) == count &&
            std::all_of(sleepers_.begin(), sleepers_.end(),
                        [&](const Sleeper& s) { return s.sawNow == current; })) {
          return true;
        }
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Advances in `step`s up to `total`, settling `sleepersCount` after each:
  // time passes the way it would for the code under test, one wake-up at a
  // time. False if the code did not settle.
  template <typename Rep, typename Period, typename Rep2, typename Period2>
  bool advanceInSteps(std::chrono::duration<Rep, Period> total,
                      std::chrono::duration<Rep2, Period2> step, int sleepersCount) {
    auto left = std::chrono::duration_cast<TimePoint::duration>(total);
    const auto s = std::chrono::duration_cast<TimePoint::duration>(step);
    while (left.count() > 0) {
      const auto d = std::min(left, s);
      advance(d);
      left -= d;
      if (!settle(sleepersCount)) {
        return false;
      }
    }
    return true;
  }

 private:
  struct Sleeper {
    std::condition_variable* cv;
    TimePoint::rep sawNow;
  };
  std::atomic<TimePoint::rep> now_;
  std::atomic<std::chrono::system_clock::rep> wall_;
  mutable std::mutex mu_;
  mutable std::list<Sleeper> sleepers_;
  mutable uint64_t sleeps_ = 0;
};

}  // namespace mlops::runtime::testing
