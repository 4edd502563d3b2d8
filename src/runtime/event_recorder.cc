#include "runtime/event_recorder.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include "core/json_access.h"
#include "objects/sha256.h"
#include "objects/timestamps.h"
#include "runtime/object.h"

namespace mlops::runtime {
namespace {

constexpr std::size_t kMaxMessageBytes = 1024;

std::string hostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    return "unknown";
  }
  return host;
}

std::string eventNamespace(const nlohmann::json& object) {
  std::string ns = namespaceOf(object);
  return ns.empty() ? "default" : ns;
}

std::string truncateUtf8(const std::string& s, std::size_t max) {
  if (s.size() <= max) {
    return s;
  }
  std::size_t cut = max;
  // Do not cut a multi-byte character in half.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return s.substr(0, cut);
}

// The text that makes two events one; fields joined by a byte none of them
// can hold unescaped in a name, and the message last.
std::string aggregationText(const nlohmann::json& object, EventType type, const std::string& reason,
                            const std::string& message) {
  return stringMember(object, "apiVersion") + "\x1f" + stringMember(object, "kind") + "\x1f" +
         namespaceOf(object) + "\x1f" + nameOf(object) + "\x1f" + uidOf(object) + "\x1f" +
         eventTypeName(type) + "\x1f" + reason + "\x1f" + message;
}

std::atomic<uint64_t> eventSequence{0};

std::string eventName(const nlohmann::json& object, uint64_t suffix) {
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(suffix));
  return nameOf(object) + "." + hex;
}

uint64_t nextEventSuffix(const Clock& clock) {
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock.wallNow().time_since_epoch())
          .count();
  return static_cast<uint64_t>(nanos) + eventSequence.fetch_add(1);
}

}  // namespace

const char* eventTypeName(EventType type) {
  return type == EventType::kWarning ? "Warning" : "Normal";
}

void CollectingEventRecorder::event(const nlohmann::json& object, EventType type,
                                    std::string_view reason, std::string_view message) {
  std::lock_guard lock(mu_);
  events_.push_back(Recorded{objectKey(object), stringMember(object, "kind"), type,
                             std::string(reason), std::string(message)});
}

std::vector<CollectingEventRecorder::Recorded> CollectingEventRecorder::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

void CollectingEventRecorder::clear() {
  std::lock_guard lock(mu_);
  events_.clear();
}

KubeEventRecorder::KubeEventRecorder(kube::Writer& writer, EventRecorderOptions options,
                                     Logger logger)
    : writer_(writer),
      options_([&] {
        if (options.host.empty()) {
          options.host = hostName();
        }
        options.writers = std::max(options.writers, 1);
        return options;
      }()),
      clock_(options_.clock ? *options_.clock : SystemClock::instance()),
      log_(std::move(logger)),
      cacheSizePerShard_(std::max<std::size_t>(
          options_.aggregationCacheSize / static_cast<std::size_t>(options_.writers), 1)),
      shards_(static_cast<std::size_t>(options_.writers)) {}

KubeEventRecorder::~KubeEventRecorder() {
  stop();
}

void KubeEventRecorder::start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) {
    return;
  }
  started_ = true;
  for (Shard& shard : shards_) {
    shard.thread = std::thread([this, &shard] { loop(shard); });
  }
}

bool KubeEventRecorder::idleLocked() const {
  return queued_ == 0 && std::none_of(shards_.begin(), shards_.end(),
                                      [](const Shard& shard) { return shard.writing; });
}

void KubeEventRecorder::stop(std::chrono::milliseconds flushTimeout) {
  std::unique_lock lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  if (started_) {
    // On the injected clock, like every wait of the runtime.
    const Clock::TimePoint deadline = clock_.now() + flushTimeout;
    while (!idleLocked() && clock_.now() < deadline) {
      clock_.waitUntil(cv_, lock, deadline);
    }
  }
  abandon_ = true;
  cv_.notify_all();
  lock.unlock();
  for (Shard& shard : shards_) {
    if (shard.thread.joinable()) {
      shard.thread.join();
    }
  }
}

std::size_t KubeEventRecorder::pending() const {
  std::lock_guard lock(mu_);
  return queued_;
}

std::size_t KubeEventRecorder::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void KubeEventRecorder::event(const nlohmann::json& object, EventType type, std::string_view reason,
                              std::string_view message) {
  // Keep only what the Event refers to, not the whole object.
  nlohmann::json ref = {{"apiVersion", stringMember(object, "apiVersion")},
                        {"kind", stringMember(object, "kind")},
                        {"metadata",
                         {{"name", nameOf(object)},
                          {"namespace", namespaceOf(object)},
                          {"uid", uidOf(object)},
                          {"resourceVersion", resourceVersionOf(object)}}}};
  Pending p{std::move(ref), type, std::string(reason), std::string(message), clock_.wallNow(), {}};
  const auto digest = objects::sha256(aggregationText(p.object, p.type, p.reason, p.message));
  std::copy_n(digest.begin(), p.key.size(), p.key.begin());
  // By the object: its Events are written in the order they happened, and
  // an event's repeats (the same object) meet in the same writer's cache.
  const std::size_t objectHash =
      std::hash<std::string>{}(namespaceOf(p.object) + "/" + nameOf(p.object));
  Shard& shard = shards_[objectHash % shards_.size()];

  std::lock_guard lock(mu_);
  if (stopping_) {
    return;
  }
  if (queued_ >= options_.queueCapacity) {
    ++dropped_;
    // Log the first drop and then every 100th, to keep a flood quiet.
    if (dropped_ % 100 == 1) {
      log_.warn("event queue full; dropping events", {{"dropped", dropped_}, {"reason", p.reason}});
    }
    return;
  }
  shard.queue.push_back(std::move(p));
  ++queued_;
  cv_.notify_all();
}

void KubeEventRecorder::loop(Shard& shard) {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || abandon_ || !shard.queue.empty(); });
    if (abandon_) {
      break;
    }
    if (shard.queue.empty()) {
      if (stopping_) {
        // Wait for stop() to decide: flushing is over once it sets abandon_.
        cv_.wait(lock, [&] { return abandon_ || !shard.queue.empty(); });
      }
      continue;
    }
    Pending p = std::move(shard.queue.front());
    shard.queue.pop_front();
    --queued_;
    shard.writing = true;
    lock.unlock();
    write(shard, p);
    lock.lock();
    shard.writing = false;
    cv_.notify_all();
  }
}

bool KubeEventRecorder::sleepFor(std::chrono::milliseconds d) {
  const Clock::TimePoint deadline = clock_.now() + d;
  std::unique_lock lock(mu_);
  while (!abandon_ && clock_.now() < deadline) {
    clock_.waitUntil(cv_, lock, deadline);
  }
  return !abandon_;
}

nlohmann::json KubeEventRecorder::buildEvent(const nlohmann::json& object, EventType type,
                                             const std::string& reason, const std::string& message,
                                             std::chrono::system_clock::time_point when) const {
  return buildEvent(object, type, reason, message, when, nextEventSuffix(clock_));
}

nlohmann::json KubeEventRecorder::buildEvent(const nlohmann::json& object, EventType type,
                                             const std::string& reason, const std::string& message,
                                             std::chrono::system_clock::time_point when,
                                             uint64_t suffix) const {
  const std::string ns = eventNamespace(object);
  nlohmann::json involved = {{"apiVersion", stringMember(object, "apiVersion")},
                             {"kind", stringMember(object, "kind")},
                             {"name", nameOf(object)}};
  if (!namespaceOf(object).empty()) {
    involved["namespace"] = namespaceOf(object);
  }
  if (!uidOf(object).empty()) {
    involved["uid"] = uidOf(object);
  }
  if (!resourceVersionOf(object).empty()) {
    involved["resourceVersion"] = resourceVersionOf(object);
  }
  const std::string stamp = objects::formatTimestamp(when);
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          {"metadata", {{"name", eventName(object, suffix)}, {"namespace", ns}}},
          {"involvedObject", involved},
          {"reason", truncateUtf8(reason, 128)},
          {"message", truncateUtf8(message, kMaxMessageBytes)},
          {"type", eventTypeName(type)},
          {"source", {{"component", options_.component}, {"host", options_.host}}},
          {"reportingComponent", options_.component},
          {"reportingInstance", options_.host},
          {"firstTimestamp", stamp},
          {"lastTimestamp", stamp},
          {"count", 1}};
}

std::size_t KubeEventRecorder::AggregationKeyHash::operator()(const AggregationKey& key) const {
  std::size_t h = 0;
  std::memcpy(&h, key.data(), sizeof h);  // already a uniform hash
  return h;
}

void KubeEventRecorder::remember(Shard& shard, const AggregationKey& key, uint64_t suffix,
                                 int count) {
  auto it = shard.aggregates.find(key);
  if (it != shard.aggregates.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
    it->second.suffix = suffix;
    it->second.count = count;
    return;
  }
  shard.lru.push_front(key);
  shard.aggregates.emplace(key, Aggregate{suffix, count, shard.lru.begin()});
  while (shard.aggregates.size() > cacheSizePerShard_ && !shard.lru.empty()) {
    shard.aggregates.erase(shard.lru.back());
    shard.lru.pop_back();
  }
}

bool KubeEventRecorder::writeOnce(Shard& shard, const Pending& p) {
  // Every event folded into an entry is about the same object: its
  // namespace and name are part of the key.
  const std::string ns = eventNamespace(p.object);
  const AggregationKey& key = p.key;
  auto agg = shard.aggregates.find(key);
  if (agg != shard.aggregates.end()) {
    const uint64_t suffix = agg->second.suffix;
    const int count = agg->second.count + 1;
    const nlohmann::json patch = {{"count", count},
                                  {"lastTimestamp", objects::formatTimestamp(p.when)}};
    auto patched =
        writer_.mergePatch(kube::resources::kEvents, ns, eventName(p.object, suffix), patch);
    if (patched) {
      remember(shard, key, suffix, count);
      return true;
    }
    if (patched.error().code != ErrorCode::kNotFound) {
      log_.debug("patching event failed", {{"error", patched.error().toString()}});
      return false;
    }
    // The Event expired or was deleted: start a new one.
    shard.lru.erase(agg->second.lru);
    shard.aggregates.erase(agg);
  }
  const uint64_t suffix = nextEventSuffix(clock_);
  auto created = writer_.create(kube::resources::kEvents, ns,
                                buildEvent(p.object, p.type, p.reason, p.message, p.when, suffix));
  if (!created) {
    log_.debug("creating event failed", {{"error", created.error().toString()}});
    return false;
  }
  remember(shard, key, suffix, 1);
  return true;
}

void KubeEventRecorder::write(Shard& shard, const Pending& p) {
  for (int attempt = 1; attempt <= options_.maxAttempts; ++attempt) {
    if (writeOnce(shard, p)) {
      return;
    }
    if (attempt < options_.maxAttempts && !sleepFor(options_.retryDelay)) {
      break;
    }
  }
  log_.warn("dropping event after failed writes",
            {{"object", objectKey(p.object)}, {"reason", p.reason}});
}

}  // namespace mlops::runtime
