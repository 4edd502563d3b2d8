// The reflector keeps a store in step with the API server (client-go's
// tools/cache.Reflector):
//
//        ┌───── relist after backoff (first start, 410 Gone, error event) ◀───┐
//        ▼                                                                    │
//   list all pages ──▶ store.replace(items, rv) ──▶ watch from rv ──▶ events ─┤
//        ▲  error: list backoff                         │  stream ended: re-watch
//        └──────────────────────────────────────────────┘  from the last rv seen
//
//  - List: every page (listAll) with the label/field selector; the list's
//    resourceVersion is where the watch starts. A list without one (some
//    aggregated APIs) makes the next watch start from "now", as client-go
//    does: the version held before is never reused after a newer list.
//  - Watch with bookmarks; every event (bookmarks too) advances the last seen
//    resourceVersion, so a re-watch resumes exactly there.
//  - 410 Gone (the resourceVersion was compacted away) → relist, after the
//    watch backoff, so a server that answers every watch with 410 is asked
//    less and less often (client-go waits its backoff before every
//    ListAndWatch). The store's replace() reports objects that vanished
//    meanwhile as deletions.
//  - Two backoffs (800 ms doubling to 30 s, with jitter): one for failed
//    lists, reset by a successful list; one for watches (refused, broken,
//    410, error events), reset by a healthy watch — one that delivered an
//    event or stayed open for `healthyWatch` (a minute). A list that succeeds
//    does not reset the watch backoff, or a server that keeps answering 410
//    would be relisted from at the initial delay forever.
//  - stop() from any thread interrupts whatever run() is doing — a list, the
//    opening of a watch, an open stream, a backoff wait — so it returns
//    promptly.
//  - Time (watch age, backoff waits) comes from the injected Clock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kube/client.h"
#include "runtime/backoff.h"
#include "runtime/logger.h"

namespace mlops::runtime {

// Where a reflector delivers what it sees. Called from the reflector's
// thread only, one call at a time.
class ReflectorStore {
 public:
  virtual ~ReflectorStore() = default;
  // The complete current state (after a list).
  virtual void replace(std::vector<nlohmann::json> items, const std::string& resourceVersion) = 0;
  virtual void added(nlohmann::json obj) = 0;
  virtual void modified(nlohmann::json obj) = 0;
  virtual void deleted(nlohmann::json obj) = 0;
};

struct ReflectorOptions {
  std::string ns;  // "" for all namespaces (or a cluster-scoped resource)
  std::string labelSelector;
  std::string fieldSelector;
  // Lists and watches in protobuf, decoded with this (kube::ListOptions).
  kube::ProtobufObjectDecoder protobuf = nullptr;
  int64_t pageSize = 500;
  BackoffPolicy backoff;  // 800 ms → 30 s, jitter 1.0; for lists and for watches
  // A watch that stayed open this long counts as healthy and resets the
  // watch backoff even if it delivered nothing.
  std::chrono::milliseconds healthyWatch{60'000};
  // Watches ask the server to end after a random time in [min, 2*min], so
  // that reconnects of many clients spread out (client-go: 5–10 minutes).
  std::chrono::seconds minWatchTimeout{300};
  // Test hook: called with every backoff delay before waiting it.
  std::function<void(std::chrono::milliseconds)> onBackoff;
  const Clock* clock = nullptr;  // default: SystemClock
};

class Reflector {
 public:
  Reflector(kube::Reader& lister, kube::Watcher& watcher, kube::Resource resource,
            ReflectorStore& store, ReflectorOptions options = {},
            const Logger& logger = Logger("reflector"));
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Lists and watches until stop(). Call from one thread.
  void run();
  // Thread safe; idempotent.
  void stop();
  bool stopped() const { return stopped_.load(); }

  // The resourceVersion of the last list, event or bookmark seen.
  std::string lastSyncResourceVersion() const;
  // How many complete lists have been stored (1 after the first sync).
  uint64_t listCount() const { return listCount_.load(); }

 private:
  // kContinue: keep reading the stream; kEnded: the stream closed normally.
  enum class WatchOutcome { kContinue, kEnded, kRelist, kFailed, kStopped };

  bool listAndStore();
  WatchOutcome watchOnce();
  WatchOutcome readStream(kube::WatchStream& stream, bool& sawEvent);
  WatchOutcome handleEvent(kube::WatchEvent event, bool& sawEvent);
  // Waits for the next delay of `backoff`; false if stopped meanwhile.
  bool backoffWait(Backoff& backoff);
  void setLastResourceVersion(const std::string& rv);
  // After a protobuf reply the decoders could not read: JSON from then on.
  void noteFailure(const Error& e);
  std::string describe() const;

  kube::Reader& lister_;
  kube::Watcher& watcher_;
  const kube::Resource resource_;
  ReflectorStore& store_;
  const ReflectorOptions options_;
  Logger log_;
  const Clock& clock_;
  Backoff listBackoff_;
  Backoff watchBackoff_;
  kube::CancelToken cancel_;  // cancelled by stop(): interrupts a list or a watch being opened
  // options_.protobuf until a reply cannot be decoded, then nullptr (JSON):
  // the same reply would fail every retry. Used by run()'s thread only.
  kube::ProtobufObjectDecoder protobuf_;

  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> listCount_{0};
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::string lastResourceVersion_;
  kube::WatchStream* activeStream_ = nullptr;  // guarded by mu_, for stop()
};

}  // namespace mlops::runtime
