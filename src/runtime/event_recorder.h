// Kubernetes Events about objects (core/v1 Event), best effort.
//
//   recorder.event(run, EventType::kWarning, "ValidationFailed",
//                  "gate accuracy >= 0.9 failed: 0.85");
//
// event() never blocks on the network: it puts the event on a bounded queue
// (dropping it, with a log line, when the queue is full) and background
// writer threads write it. Repeats of the same event (same object, type,
// reason and message) within the aggregation cache are folded into one Event
// whose `count` and `lastTimestamp` are patched, as client-go's event
// correlator does; a failed write is retried a few times and then dropped.
// The events about one object always go to the same writer, so they are
// written in order and folding needs no lock between writers; each writer
// has its share of the aggregation cache.
//
// Events are written in the object's namespace ("default" for cluster-scoped
// objects) with source.component "mlops-operator", reportingComponent
// "mlops-operator" and reportingInstance the host name.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kube/client.h"
#include "runtime/logger.h"

namespace mlops::runtime {

enum class EventType { kNormal, kWarning };
const char* eventTypeName(EventType type);

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // `object` is the involved object as read from the API (it needs
  // apiVersion, kind, metadata.name; namespace and uid when it has them).
  virtual void event(const nlohmann::json& object, EventType type, std::string_view reason,
                     std::string_view message) = 0;
};

// Keeps events in memory: for tests of code that records events.
class CollectingEventRecorder final : public EventRecorder {
 public:
  struct Recorded {
    std::string objectKey;  // "namespace/name"
    std::string kind;
    EventType type;
    std::string reason;
    std::string message;
  };
  void event(const nlohmann::json& object, EventType type, std::string_view reason,
             std::string_view message) override;
  std::vector<Recorded> events() const;
  void clear();

 private:
  mutable std::mutex mu_;
  std::vector<Recorded> events_;
};

struct EventRecorderOptions {
  std::string component = "mlops-operator";
  std::string host;                         // default: gethostname()
  std::size_t queueCapacity = 1000;         // events waiting to be written, over all writers
  std::size_t aggregationCacheSize = 4096;  // over all writers
  // Writes in flight at once. One was too few at 10k runs on a busy API
  // server: a burst of finishing runs filled the queue and outcome Events
  // were dropped (README "Performance").
  int writers = 4;
  int maxAttempts = 3;
  std::chrono::milliseconds retryDelay{500};
  const Clock* clock = nullptr;  // default: SystemClock
};

class KubeEventRecorder final : public EventRecorder {
 public:
  KubeEventRecorder(kube::Writer& writer, EventRecorderOptions options = {},
                    Logger logger = Logger("events"));
  ~KubeEventRecorder() override;  // stop(0)

  void event(const nlohmann::json& object, EventType type, std::string_view reason,
             std::string_view message) override;

  void start();
  // Writes what is queued for at most `flushTimeout`, then stops.
  void stop(std::chrono::milliseconds flushTimeout = std::chrono::milliseconds(0));
  std::size_t pending() const;
  std::size_t dropped() const;

  // The Event object this recorder would create (exposed for tests).
  nlohmann::json buildEvent(const nlohmann::json& object, EventType type, const std::string& reason,
                            const std::string& message,
                            std::chrono::system_clock::time_point when) const;

 private:
  // What makes two events one (object, type, reason, message), as the first
  // 16 bytes of its SHA-256. An entry keeps only that digest, the Event's
  // name suffix and its count: the object's namespace and name, the rest of
  // the Event's name, come with every event folded into it. Keeping the
  // text (a UID and a whole message, twice, for the map and the LRU order)
  // and the Event's names cost about 700 bytes an entry, more than the
  // cached objects the events were about.
  using AggregationKey = std::array<uint8_t, 16>;
  struct AggregationKeyHash {
    std::size_t operator()(const AggregationKey& key) const;
  };
  struct Pending {
    nlohmann::json object;
    EventType type;
    std::string reason;
    std::string message;
    std::chrono::system_clock::time_point when;
    AggregationKey key;
  };
  struct Aggregate {
    uint64_t suffix = 0;  // metadata.name is the object's name, '.', this in hex
    int count = 0;
    std::list<AggregationKey>::iterator lru;
  };
  // One writer thread with its queue (guarded by mu_) and its aggregation
  // cache (touched by its thread only).
  struct Shard {
    std::deque<Pending> queue;
    bool writing = false;
    std::thread thread;
    std::unordered_map<AggregationKey, Aggregate, AggregationKeyHash> aggregates;
    std::list<AggregationKey> lru;  // most recent first
  };
  nlohmann::json buildEvent(const nlohmann::json& object, EventType type, const std::string& reason,
                            const std::string& message, std::chrono::system_clock::time_point when,
                            uint64_t suffix) const;
  void loop(Shard& shard);
  void write(Shard& shard, const Pending& p);
  bool writeOnce(Shard& shard, const Pending& p);
  void remember(Shard& shard, const AggregationKey& key, uint64_t suffix, int count);
  bool sleepFor(std::chrono::milliseconds d);
  bool idleLocked() const;  // nothing queued, nothing being written

  kube::Writer& writer_;
  const EventRecorderOptions options_;
  const Clock& clock_;
  Logger log_;
  const std::size_t cacheSizePerShard_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Shard> shards_;  // sized once; never resized
  std::size_t queued_ = 0;     // over all shards
  bool started_ = false;
  bool stopping_ = false;
  bool abandon_ = false;  // stop without flushing what is left
  std::size_t dropped_ = 0;
};

}  // namespace mlops::runtime
