#include "runtime/work_queue.h"

#include <algorithm>

namespace mlops::runtime {
namespace {

double secondsBetween(Clock::TimePoint from, Clock::TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

WorkQueue::WorkQueue(std::string name, std::unique_ptr<RateLimiter> limiter, const Clock& clock,
                     std::unique_ptr<QueueMetrics> metrics)
    : name_(std::move(name)),
      limiter_(limiter ? std::move(limiter) : defaultControllerRateLimiter(clock)),
      clock_(clock),
      metrics_(std::move(metrics)) {
  delayThread_ = std::thread([this] { delayLoop(); });
}

WorkQueue::~WorkQueue() {
  shutDown();
  if (delayThread_.joinable()) {
    delayThread_.join();
  }
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  addLocked(key);
}

void WorkQueue::addLocked(const std::string& key) {
  if (shuttingDown_) {
    return;
  }
  if (dirty_.count(key) != 0) {
    return;  // already waiting to be handed out
  }
  if (metrics_) {
    metrics_->added();
  }
  dirty_.insert(key);
  // A key being processed is re-queued by done(); queueing it now would let
  // a second worker pick it up.
  if (processing_.count(key) != 0) {
    return;
  }
  queue_.push_back(key);
  addedAt_.emplace(key, clock_.now());
  reportDepthLocked();
  ready_.notify_one();
}

void WorkQueue::addAfter(const std::string& key, std::chrono::nanoseconds delay) {
  std::lock_guard lock(mu_);
  if (shuttingDown_) {
    return;
  }
  if (delay <= std::chrono::nanoseconds::zero()) {
    addLocked(key);
    return;
  }
  const auto readyAt = clock_.now() + delay;
  auto existing = waitingIndex_.find(key);
  if (existing != waitingIndex_.end()) {
    if (existing->second->first <= readyAt) {
      return;  // the earlier time wins
    }
    waiting_.erase(existing->second);
    waitingIndex_.erase(existing);
  }
  waitingIndex_[key] = waiting_.emplace(readyAt, key);
  delayed_.notify_one();
}

void WorkQueue::addRateLimited(const std::string& key) {
  const auto delay = limiter_->when(key);
  {
    std::lock_guard lock(mu_);
    if (shuttingDown_) {
      return;
    }
    if (metrics_) {
      metrics_->retried();
    }
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  limiter_->forget(key);
}

int WorkQueue::numRequeues(const std::string& key) {
  return limiter_->numRequeues(key);
}

std::optional<std::string> WorkQueue::popLocked() {
  if (shuttingDown_ || queue_.empty()) {
    return std::nullopt;
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  const auto now = clock_.now();
  if (auto it = addedAt_.find(key); it != addedAt_.end()) {
    if (metrics_) {
      metrics_->queueDuration(secondsBetween(it->second, now));
    }
    addedAt_.erase(it);
  }
  startedAt_[key] = now;
  processing_.insert(key);
  dirty_.erase(key);
  reportDepthLocked();
  return key;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  ready_.wait(lock, [&] { return shuttingDown_ || !queue_.empty(); });
  return popLocked();
}

std::optional<std::string> WorkQueue::getFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  ready_.wait_for(lock, timeout, [&] { return shuttingDown_ || !queue_.empty(); });
  return popLocked();
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  if (auto it = startedAt_.find(key); it != startedAt_.end()) {
    if (metrics_) {
      metrics_->workDuration(secondsBetween(it->second, clock_.now()));
    }
    startedAt_.erase(it);
  }
  processing_.erase(key);
  if (shuttingDown_) {
    return;
  }
  if (dirty_.count(key) != 0) {
    queue_.push_back(key);
    addedAt_.emplace(key, clock_.now());
    reportDepthLocked();
    ready_.notify_one();
  }
}

std::size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t WorkQueue::delayedLen() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

std::size_t WorkQueue::processingLen() const {
  std::lock_guard lock(mu_);
  return processing_.size();
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mu_);
  if (shuttingDown_) {
    return;
  }
  shuttingDown_ = true;
  queue_.clear();
  dirty_.clear();
  waiting_.clear();
  waitingIndex_.clear();
  addedAt_.clear();
  reportDepthLocked();
  ready_.notify_all();
  delayed_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shuttingDown_;
}

void WorkQueue::reportDepthLocked() {
  if (metrics_) {
    metrics_->depth(queue_.size());
  }
}

void WorkQueue::delayLoop() {
  std::unique_lock lock(mu_);
  while (!shuttingDown_) {
    const auto now = clock_.now();
    while (!waiting_.empty() && waiting_.begin()->first <= now) {
      std::string key = waiting_.begin()->second;
      waitingIndex_.erase(key);
      waiting_.erase(waiting_.begin());
      addLocked(key);
    }
    if (waiting_.empty()) {
      delayed_.wait(lock);
      continue;
    }
    // On the queue's clock, so that a fake clock in tests releases delayed
    // keys when it is advanced, without real waiting.
    clock_.waitUntil(delayed_, lock, waiting_.begin()->first);
  }
}

}  // namespace mlops::runtime
