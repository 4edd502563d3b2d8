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
        return options;
      }()),
      clock_(options_.clock ? *options_.clock : SystemClock::instance()),
      log_(std::move(logger)) {}

KubeEventRecorder::~KubeEventRecorder() {
  stop();
}

void KubeEventRecorder::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { loop(); });
}

void KubeEventRecorder::stop(std::chrono::milliseconds flushTimeout) {
  std::unique_lock lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  if (thread_.joinable()) {
    // On the injected clock, like every wait of the runtime.
    const Clock::TimePoint deadline = clock_.now() + flushTimeout;
    while (!(queue_.empty() && !writing_) && clock_.now() < deadline) {
      clock_.waitUntil(cv_, lock, deadline);
    }
  }
  abandon_ = true;
  cv_.notify_all();
  lock.unlock();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::size_t KubeEventRecorder::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t KubeEventRecorder::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void KubeEventRecorder::event(const nlohmann::json& object, EventType type, std::string_view reason,
                              std::string_view message) {
  std::lock_guard lock(mu_);
  if (stopping_) {
    return;
  }
  if (queue_.size() >= options_.queueCapacity) {
    ++dropped_;
    // Log the first drop and then every 100th, to keep a flood quiet.
    if (dropped_ % 100 == 1) {
      log_.warn("event queue full; dropping events",
                {{"dropped", dropped_}, {"reason", std::string(reason)}});
    }
    return;
  }
  // Keep only what the Event refers to, not the whole object.
  nlohmann::json ref = {{"apiVersion", stringMember(object, "apiVersion")},
                        {"kind", stringMember(object, "kind")},
                        {"metadata",
                         {{"name", nameOf(object)},
                          {"namespace", namespaceOf(object)},
                          {"uid", uidOf(object)},
                          {"resourceVersion", resourceVersionOf(object)}}}};
  queue_.push_back(
      Pending{std::move(ref), type, std::string(reason), std::string(message), clock_.wallNow()});
  cv_.notify_all();
}

void KubeEventRecorder::loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || abandon_ || !queue_.empty(); });
    if (abandon_) {
      break;
    }
    if (queue_.empty()) {
      if (stopping_) {
        // Wait for stop() to decide: flushing is over once it sets abandon_.
        cv_.wait(lock, [&] { return abandon_ || !queue_.empty(); });
        continue;
      }
      continue;
    }
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    write(p);
    lock.lock();
    writing_ = false;
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

void KubeEventRecorder::remember(const AggregationKey& key, uint64_t suffix, int count) {
  auto it = aggregates_.find(key);
  if (it != aggregates_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    it->second.suffix = suffix;
    it->second.count = count;
    return;
  }
  lru_.push_front(key);
  aggregates_.emplace(key, Aggregate{suffix, count, lru_.begin()});
  while (aggregates_.size() > options_.aggregationCacheSize && !lru_.empty()) {
    aggregates_.erase(lru_.back());
    lru_.pop_back();
  }
}

bool KubeEventRecorder::writeOnce(const Pending& p, const AggregationKey& key) {
  // Every event folded into an entry is about the same object: its
  // namespace and name are part of the key.
  const std::string ns = eventNamespace(p.object);
  auto agg = aggregates_.find(key);
  if (agg != aggregates_.end()) {
    const uint64_t suffix = agg->second.suffix;
    const int count = agg->second.count + 1;
    const nlohmann::json patch = {{"count", count},
                                  {"lastTimestamp", objects::formatTimestamp(p.when)}};
    auto patched =
        writer_.mergePatch(kube::resources::kEvents, ns, eventName(p.object, suffix), patch);
    if (patched) {
      remember(key, suffix, count);
      return true;
    }
    if (patched.error().code != ErrorCode::kNotFound) {
      log_.debug("patching event failed", {{"error", patched.error().toString()}});
      return false;
    }
    // The Event expired or was deleted: start a new one.
    lru_.erase(agg->second.lru);
    aggregates_.erase(agg);
  }
  const uint64_t suffix = nextEventSuffix(clock_);
  auto created = writer_.create(kube::resources::kEvents, ns,
                                buildEvent(p.object, p.type, p.reason, p.message, p.when, suffix));
  if (!created) {
    log_.debug("creating event failed", {{"error", created.error().toString()}});
    return false;
  }
  remember(key, suffix, 1);
  return true;
}

void KubeEventRecorder::write(const Pending& p) {
  const auto digest = objects::sha256(aggregationText(p.object, p.type, p.reason, p.message));
  AggregationKey key;
  std::copy_n(digest.begin(), key.size(), key.begin());
  for (int attempt = 1; attempt <= options_.maxAttempts; ++attempt) {
    if (writeOnce(p, key)) {
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
