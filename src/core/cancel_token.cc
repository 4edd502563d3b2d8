#include "core/cancel_token.h"

namespace mlops {

void CancelToken::cancel() {
  std::lock_guard lock(mu_);
  if (cancelled_.exchange(true)) {
    return;
  }
  for (auto& [id, fn] : callbacks_) {
    fn();
  }
  cv_.notify_all();
}

uint64_t CancelToken::subscribe(std::function<void()> fn) const {
  std::lock_guard lock(mu_);
  const uint64_t id = ++nextId_;
  if (cancelled_) {
    fn();
    return id;
  }
  callbacks_.emplace(id, std::move(fn));
  return id;
}

void CancelToken::unsubscribe(uint64_t id) const {
  std::lock_guard lock(mu_);
  callbacks_.erase(id);
}

bool CancelToken::waitUntil(const Clock& clock, Clock::TimePoint deadline) const {
  std::unique_lock lock(mu_);
  while (!cancelled_) {
    if (clock.now() >= deadline) {
      return false;
    }
    clock.waitUntil(cv_, lock, deadline);
  }
  return true;
}

}  // namespace mlops
