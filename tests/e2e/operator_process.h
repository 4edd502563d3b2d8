// Runs the mlops-operator binary as a child process for end-to-end tests:
// start with arguments and environment, read what it printed, send signals,
// wait for exit with a deadline, and read its peak RSS from /proc.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlops::e2e {

// Path of the binary under test (build/mlops-operator), set by CMake.
std::string operatorBinary();

class OperatorProcess {
 public:
  // Starts the binary; stdout and stderr go to one log file.
  OperatorProcess(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& extraEnv = {});
  ~OperatorProcess();  // SIGKILLs the child if it still runs
  OperatorProcess(const OperatorProcess&) = delete;
  OperatorProcess& operator=(const OperatorProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits up to `timeout`; returns the exit code (128+signal when killed), or
  // nullopt if it is still running.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  std::string output() const;  // everything printed so far
  // Peak resident set size in KiB (VmHWM), while running.
  std::optional<long> peakRssKiB() const { return statusField("VmHWM"); }
  std::optional<long> threads() const { return statusField("Threads"); }
  // A numeric field of /proc/<pid>/status (kB for sizes), while it runs.
  std::optional<long> statusField(const std::string& name) const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exitCode_;
  std::string logPath_;
};

// GET http://<host>:<port><path> (host 127.0.0.1 or ::1); returns status code
// and body, or nullopt when nothing answers. For probing /healthz, /readyz
// and /metrics.
struct HttpReply {
  int status = 0;
  std::string body;
};
std::optional<HttpReply> httpGet(int port, const std::string& path,
                                 const std::string& host = "127.0.0.1");

// A TCP port that was free a moment ago.
int freePort();

// Polls `predicate` every 100 ms until it holds or `timeout` passes.
template <typename Predicate>
bool eventually(std::chrono::milliseconds timeout, Predicate predicate) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    struct timespec ts {
      0, 100 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
  return predicate();
}

// True when the operator's health server on `port` answers /readyz with 200.
inline bool isReady(int port, const std::string& host = "127.0.0.1") {
  auto reply = httpGet(port, "/readyz", host);
  return reply && reply->status == 200;
}

// Waits up to `timeout` until isReady.
inline bool becomesReady(int port, std::chrono::milliseconds timeout,
                         const std::string& host = "127.0.0.1") {
  return eventually(timeout, [&] { return isReady(port, host); });
}

}  // namespace mlops::e2e
