#include "runtime/event_recorder.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "core/json_access.h"
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

std::string aggregationKey(const nlohmann::json& object, EventType type, const std::string& reason,
                           const std::string& message) {
  return stringMember(object, "apiVersion") + "\x1f" + stringMember(object, "kind") + "\x1f" +
         namespaceOf(object) + "\x1f" + nameOf(object) + "\x1f" + uidOf(object) + "\x1f" +
         eventTypeName(type) + "\x1f" + reason + "\x1f" + message;
}

std::atomic<uint64_t> eventSequence{0};

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
  const std::string ns = eventNamespace(object);
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wallNow().time_since_epoch())
          .count();
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, "%llx",
                static_cast<unsigned long long>(nanos) + eventSequence.fetch_add(1));
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
          {"metadata", {{"name", nameOf(object) + "." + suffix}, {"namespace", ns}}},
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

void KubeEventRecorder::remember(const std::string& key, std::string ns, std::string name,
                                 int count) {
  auto it = aggregates_.find(key);
  if (it != aggregates_.end()) {
    lru_.erase(it->second.lru);
    aggregates_.erase(it);
  }
  lru_.push_front(key);
  aggregates_[key] = Aggregate{std::move(name), std::move(ns), count, lru_.begin()};
  while (aggregates_.size() > options_.aggregationCacheSize && !lru_.empty()) {
    aggregates_.erase(lru_.back());
    lru_.pop_back();
  }
}

bool KubeEventRecorder::writeOnce(const Pending& p, const std::string& key) {
  auto agg = aggregates_.find(key);
  if (agg != aggregates_.end()) {
    const int count = agg->second.count + 1;
    const nlohmann::json patch = {{"count", count},
                                  {"lastTimestamp", objects::formatTimestamp(p.when)}};
    auto patched =
        writer_.mergePatch(kube::resources::kEvents, agg->second.ns, agg->second.name, patch);
    if (patched) {
      remember(key, agg->second.ns, agg->second.name, count);  // copies: the entry is replaced
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
  nlohmann::json ev = buildEvent(p.object, p.type, p.reason, p.message, p.when);
  const std::string ns = ev["metadata"]["namespace"];
  const std::string name = ev["metadata"]["name"];
  auto created = writer_.create(kube::resources::kEvents, ns, ev);
  if (!created) {
    log_.debug("creating event failed", {{"error", created.error().toString()}});
    return false;
  }
  remember(key, ns, name, 1);
  return true;
}

void KubeEventRecorder::write(const Pending& p) {
  const std::string key = aggregationKey(p.object, p.type, p.reason, p.message);
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
