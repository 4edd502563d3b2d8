// Reading a watch in a test without risking a hang: a watchdog cancels the
// stream when the deadline passes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kube/client.h"

namespace mlops::testing {

struct Collected {
  std::vector<kube::WatchEvent> events;  // bookmarks left out
  std::optional<Error> error;            // how the stream stopped, if by an error
  bool ended = false;                    // the server closed the stream
  bool timedOut = false;                 // the watchdog had to cancel it
};

// Reads until `done` returns true for an event, the stream ends or fails, or
// `timeout` passes.
inline Collected collect(kube::WatchStream& stream,
                         const std::function<bool(const kube::WatchEvent&)>& done,
                         std::chrono::milliseconds timeout) {
  Collected out;
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  bool fired = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return finished; })) {
      fired = true;
      lock.unlock();
      stream.cancel();
    }
  });
  while (true) {
    Result<std::optional<kube::WatchEvent>> next = stream.next();
    if (!next.ok()) {
      out.error = next.error();
      break;
    }
    if (!next->has_value()) {
      out.ended = true;
      break;
    }
    if ((*next)->type == kube::WatchEventType::kBookmark) continue;
    out.events.push_back(std::move(**next));
    if (done(out.events.back())) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    finished = true;
    out.timedOut = fired;
  }
  cv.notify_all();
  watchdog.join();
  return out;
}

inline std::string nameOf(const kube::WatchEvent& e) {
  return e.object.value("/metadata/name"_json_pointer, std::string());
}

inline std::string resourceVersionOf(const kube::Json& obj) {
  return obj.value("/metadata/resourceVersion"_json_pointer, std::string());
}

}  // namespace mlops::testing
