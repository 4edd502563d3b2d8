// Exponential backoff with jitter for reconnect loops (the reflector).
//
// next() returns initial, initial*factor, ... capped at `max`, each plus a
// random extra of up to `jitter` times itself (client-go's wait.Jitter: with
// jitter 1.0 a base of 800 ms becomes 800–1600 ms). reset() starts over; the
// reflector calls it after a healthy watch stream. Not thread safe: owned by
// one loop.
#pragma once

#include <chrono>
#include <functional>

namespace mlops::runtime {

struct BackoffPolicy {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{30'000};
  double factor = 2.0;
  double jitter = 1.0;  // 0 disables jitter
};

class Backoff {
 public:
  // `random` returns a value in [0, 1); default: a per-thread Mersenne twister.
  explicit Backoff(BackoffPolicy policy, std::function<double()> random = {});

  std::chrono::milliseconds next();
  void reset();
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  std::function<double()> random_;
  std::chrono::milliseconds current_;
};

}  // namespace mlops::runtime
