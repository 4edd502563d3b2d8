// The work queue between event handlers and reconcile workers, with
// client-go's guarantees (workqueue.TypedRateLimitingInterface):
//
//  - Dedup: a key that is already waiting is not queued twice.
//  - Exclusive: a key handed out by get() is not handed out again until
//    done() is called for it, so no two workers ever process one key at once.
//  - Dirty re-run: a key added while it is being processed is queued again
//    when done() is called, so the latest change is never missed.
//  - FIFO among waiting keys.
//  - addAfter(): the key joins the queue once the delay has passed (if it is
//    delayed twice, the earlier time wins).
//  - addRateLimited(): addAfter with the rate limiter's delay; forget() resets
//    the key's backoff once it has been processed successfully.
//  - shutDown(): new adds are ignored and get() returns nullopt at once, also
//    to workers blocked in it. Keys still waiting are dropped: after a
//    shutdown the next leader relists everything anyway. (client-go still
//    hands out waiting keys after shutdown; we stop promptly instead.)
//
//   add ──▶ [dirty] ──▶ queue ──get()──▶ processing ──done()──▶ (re-queued if dirty)
//   addAfter ──▶ waiting (by ready time) ──ready──▶ add
//
// Every method is thread safe. Time comes from the Clock (delays, metrics);
// a background thread moves delayed keys once they are ready.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/clock.h"
#include "runtime/rate_limiter.h"

namespace mlops::runtime {

// Hooks for workqueue_* metrics; the Prometheus implementation lives in
// runtime/metrics.h. Called with the queue's lock held: keep them cheap.
class QueueMetrics {
 public:
  virtual ~QueueMetrics() = default;
  virtual void depth(std::size_t depth) = 0;
  virtual void added() = 0;
  virtual void queueDuration(double seconds) = 0;  // add → get
  virtual void workDuration(double seconds) = 0;   // get → done
  virtual void retried() = 0;                      // each addRateLimited
};

class WorkQueue {
 public:
  explicit WorkQueue(std::string name,
                     std::unique_ptr<RateLimiter> limiter = nullptr,  // default: controller
                     const Clock& clock = SystemClock::instance(),
                     std::unique_ptr<QueueMetrics> metrics = nullptr);
  ~WorkQueue();  // shuts down and joins the delay thread
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void addAfter(const std::string& key, std::chrono::nanoseconds delay);
  void addRateLimited(const std::string& key);
  void forget(const std::string& key);
  int numRequeues(const std::string& key);

  // Blocks until a key is available or the queue shuts down (nullopt).
  std::optional<std::string> get();
  // Like get() but gives up after `timeout` (nullopt; check shuttingDown()).
  std::optional<std::string> getFor(std::chrono::milliseconds timeout);
  // Marks `key` as processed. Must follow every successful get().
  void done(const std::string& key);

  std::size_t len() const;  // keys waiting to be handed out (not delayed ones)
  std::size_t delayedLen() const;
  std::size_t processingLen() const;
  void shutDown();
  bool shuttingDown() const;
  const std::string& name() const { return name_; }

 private:
  void addLocked(const std::string& key);
  std::optional<std::string> popLocked();
  void delayLoop();
  void reportDepthLocked();

  const std::string name_;
  std::unique_ptr<RateLimiter> limiter_;
  const Clock& clock_;
  std::unique_ptr<QueueMetrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable ready_;    // a key is queued, or shutdown
  std::condition_variable delayed_;  // the waiting set changed, or shutdown
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::unordered_map<std::string, Clock::TimePoint> addedAt_;    // for queue duration
  std::unordered_map<std::string, Clock::TimePoint> startedAt_;  // for work duration
  // Delayed keys ordered by ready time (ties keep insertion order), with an
  // index so a key is delayed at most once.
  std::multimap<Clock::TimePoint, std::string> waiting_;
  std::unordered_map<std::string, std::multimap<Clock::TimePoint, std::string>::iterator>
      waitingIndex_;
  bool shuttingDown_ = false;
  std::thread delayThread_;
};

}  // namespace mlops::runtime
