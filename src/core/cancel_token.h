// Cancellation as a value that can be shared between threads: one side
// calls cancel(), the others poll cancelled(), subscribe a callback (how a
// network call abandons its request), or wait for it with a deadline (how a
// loop sleeps between rounds and still stops at once).
//
//   CancelToken stop;
//   while (!stop.waitFor(clock, std::chrono::seconds(30))) { sweep(); }
//   ...
//   stop.cancel();  // from another thread: the loop wakes and ends
//
// Once cancelled, a token stays cancelled. Thread safe; every method but
// cancel() is const, so a token can be handed out as `const CancelToken&`
// to code that may only observe it. The token must outlive every call and
// subscription it was given to.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "core/clock.h"

namespace mlops {

class CancelToken {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(); }

  // Runs `fn` on cancel(), or at once if already cancelled, until
  // unsubscribe(id). `fn` runs under the token's lock: it must be quick and
  // must not call back into the token; unsubscribe() returns only after a
  // running `fn` has finished, so `fn` may use what the subscriber owns.
  uint64_t subscribe(std::function<void()> fn) const;
  void unsubscribe(uint64_t id) const;

  // Blocks until the token is cancelled or `deadline` passes on `clock`
  // (a fake clock in tests). True when cancelled.
  bool waitUntil(const Clock& clock, Clock::TimePoint deadline) const;
  bool waitFor(const Clock& clock, std::chrono::milliseconds timeout) const {
    return waitUntil(clock, clock.now() + timeout);
  }

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable uint64_t nextId_ = 0;
  mutable std::map<uint64_t, std::function<void()>> callbacks_;
};

}  // namespace mlops
