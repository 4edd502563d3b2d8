// Turns SIGTERM and SIGINT into a callback on an ordinary thread.
//
// The signal handler only writes a byte to a pipe (async-signal-safe); a
// watcher thread reads it and runs the callback, which may lock, log and
// notify freely. A second signal while shutting down exits the process at
// once with status 1, as controller-runtime does. One SignalWatcher at a
// time per process; the previous handlers are restored on destruction.
#pragma once

#include <functional>
#include <thread>

namespace mlops::runtime {

class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int signal)> onSignal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::function<void(int)> onSignal_;
  int stopPipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace mlops::runtime
