#include "runtime/reflector.h"

#include <random>

#include "runtime/object.h"

namespace mlops::runtime {
namespace {

// A stream that ends this quickly without delivering anything is treated as
// a failure, so a server that keeps closing watches is not hammered.
constexpr std::chrono::seconds kMinHealthyWatch{1};

int randomWatchTimeout(std::chrono::seconds minTimeout) {
  thread_local std::mt19937 gen{std::random_device{}()};
  const int lo = static_cast<int>(std::max<int64_t>(minTimeout.count(), 1));
  return std::uniform_int_distribution<int>(lo, 2 * lo)(gen);
}

int statusCodeOf(const nlohmann::json& status) {
  if (status.is_object() && status.contains("code") && status["code"].is_number_integer()) {
    return status["code"].get<int>();
  }
  return 0;
}

}  // namespace

Reflector::Reflector(kube::Reader& lister, kube::Watcher& watcher, kube::Resource resource,
                     ReflectorStore& store, ReflectorOptions options, const Logger& logger)
    : lister_(lister),
      watcher_(watcher),
      resource_(std::move(resource)),
      store_(store),
      options_(std::move(options)),
      log_(logger.withValues({{"resource", resource_.groupResource()}})),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock::instance()),
      listBackoff_(options_.backoff),
      watchBackoff_(options_.backoff),
      protobuf_(options_.protobuf) {}

std::string Reflector::describe() const {
  std::string d = resource_.groupResource();
  if (!options_.ns.empty()) {
    d += " in " + options_.ns;
  }
  if (!options_.labelSelector.empty()) {
    d += " with " + options_.labelSelector;
  }
  return d;
}

void Reflector::run() {
  bool needList = true;
  while (!stopped_) {
    if (needList) {
      if (!listAndStore()) {
        if (!backoffWait(listBackoff_)) {
          return;
        }
        continue;
      }
      listBackoff_.reset();
      needList = false;
    }
    switch (watchOnce()) {
      case WatchOutcome::kContinue:
      case WatchOutcome::kEnded:
        break;  // re-watch from the last resourceVersion
      case WatchOutcome::kRelist:
        // Not at once: a server that keeps answering 410 must not be
        // hammered with lists (client-go backs off before every relist).
        if (!backoffWait(watchBackoff_)) {
          return;
        }
        needList = true;
        break;
      case WatchOutcome::kFailed:
        if (!backoffWait(watchBackoff_)) {
          return;
        }
        break;
      case WatchOutcome::kStopped:
        return;
    }
  }
}

void Reflector::stop() {
  stopped_ = true;
  // Interrupts a list or a watch being opened...
  cancel_.cancel();
  std::lock_guard lock(mu_);
  // ...an open stream...
  if (activeStream_ != nullptr) {
    activeStream_->cancel();
  }
  // ...and a backoff wait.
  wake_.notify_all();
}

std::string Reflector::lastSyncResourceVersion() const {
  std::lock_guard lock(mu_);
  return lastResourceVersion_;
}

void Reflector::noteFailure(const Error& e) {
  if (protobuf_ != nullptr && kube::isProtobufDecodeError(e)) {
    protobuf_ = nullptr;
    log_.warn("a protobuf reply could not be decoded; listing and watching in JSON from now on",
              {{"what", describe()}});
  }
}

void Reflector::setLastResourceVersion(const std::string& rv) {
  std::lock_guard lock(mu_);
  lastResourceVersion_ = rv;
}

bool Reflector::listAndStore() {
  kube::ListOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  opts.protobuf = protobuf_;
  opts.cancel = &cancel_;
  const std::string ns = resource_.namespaced ? options_.ns : "";
  auto page = kube::listAll(lister_, resource_, ns, opts, options_.pageSize);
  if (!page) {
    if (!stopped_) {
      log_.warn("list failed", {{"what", describe()}, {"error", page.error().toString()}});
      noteFailure(page.error());
    }
    return false;
  }
  std::vector<nlohmann::json> items;
  if (page->items.is_array()) {
    items.reserve(page->items.size());
    for (auto& item : page->items) {
      items.push_back(std::move(item));
    }
  }
  log_.debug(
      "listed",
      {{"what", describe()}, {"count", items.size()}, {"resourceVersion", page->resourceVersion}});
  if (page->resourceVersion.empty()) {
    log_.info("the list carries no resourceVersion; watching from now", {{"what", describe()}});
  }
  store_.replace(std::move(items), page->resourceVersion);
  // Even when empty: the version held before this list is older than what
  // the store now holds, and resuming from it would replay stale events.
  setLastResourceVersion(page->resourceVersion);
  ++listCount_;
  return true;
}

Reflector::WatchOutcome Reflector::watchOnce() {
  kube::WatchOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  opts.protobuf = protobuf_;
  opts.resourceVersion = lastSyncResourceVersion();
  opts.allowBookmarks = true;
  opts.timeoutSeconds = randomWatchTimeout(options_.minWatchTimeout);
  opts.cancel = &cancel_;
  const std::string ns = resource_.namespaced ? options_.ns : "";

  auto opened = watcher_.watch(resource_, ns, opts);
  if (!opened) {
    if (stopped_) {
      return WatchOutcome::kStopped;
    }
    if (opened.error().code == ErrorCode::kGone) {
      log_.info("watch resourceVersion expired, relisting",
                {{"what", describe()}, {"resourceVersion", opts.resourceVersion}});
      return WatchOutcome::kRelist;
    }
    log_.warn("watch failed", {{"what", describe()}, {"error", opened.error().toString()}});
    noteFailure(opened.error());
    return WatchOutcome::kFailed;
  }
  std::unique_ptr<kube::WatchStream> stream = std::move(*opened);
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      return WatchOutcome::kStopped;
    }
    activeStream_ = stream.get();
  }
  // Unpublish the stream before it is destroyed, so stop() never touches a
  // dead one.
  struct Unpublish {
    Reflector* self;
    ~Unpublish() {
      std::lock_guard lock(self->mu_);
      self->activeStream_ = nullptr;
    }
  } unpublish{this};

  const Clock::TimePoint started = clock_.now();
  bool sawEvent = false;
  const WatchOutcome outcome = readStream(*stream, sawEvent);
  const auto lived = clock_.now() - started;
  // A watch that delivered something, or simply stayed open long enough,
  // shows the server is healthy again: later trouble starts from the
  // initial delay, however the stream ended.
  if (sawEvent || lived >= options_.healthyWatch) {
    watchBackoff_.reset();
  }
  if (outcome == WatchOutcome::kEnded && !sawEvent && lived < kMinHealthyWatch) {
    log_.warn("watch ended immediately", {{"what", describe()}});
    return WatchOutcome::kFailed;
  }
  return outcome;
}

Reflector::WatchOutcome Reflector::readStream(kube::WatchStream& stream, bool& sawEvent) {
  while (true) {
    auto next = stream.next();
    if (stopped_) {
      return WatchOutcome::kStopped;
    }
    if (!next) {
      // The watch decoder turns an ERROR event with code 410 (and the
      // client an HTTP 410) into kGone.
      if (next.error().code == ErrorCode::kGone) {
        log_.info("watch resourceVersion expired (410), relisting",
                  {{"what", describe()}, {"resourceVersion", lastSyncResourceVersion()}});
        return WatchOutcome::kRelist;
      }
      log_.warn("watch stream failed", {{"what", describe()}, {"error", next.error().toString()}});
      // The event that failed left the resourceVersion where it was, so
      // the next watch delivers it again.
      noteFailure(next.error());
      return WatchOutcome::kFailed;
    }
    if (!next->has_value()) {
      return WatchOutcome::kEnded;
    }
    auto outcome = handleEvent(std::move(**next), sawEvent);
    if (outcome != WatchOutcome::kContinue) {
      return outcome;
    }
  }
}

Reflector::WatchOutcome Reflector::handleEvent(kube::WatchEvent event, bool& sawEvent) {
  // Taken before the object moves into the store (moved, not copied: the
  // store keeps its own encoding, and a copy of every watched object was a
  // few percent of the workload's CPU).
  const std::string rv = resourceVersionOf(event.object);
  auto advance = [&] {
    // An event without a resourceVersion cannot be resumed from; keep the
    // last one that can.
    if (!rv.empty()) {
      setLastResourceVersion(rv);
    }
  };
  switch (event.type) {
    case kube::WatchEventType::kBookmark:
      sawEvent = true;
      advance();
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kAdded:
      sawEvent = true;
      store_.added(std::move(event.object));
      advance();
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kModified:
      sawEvent = true;
      store_.modified(std::move(event.object));
      advance();
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kDeleted:
      sawEvent = true;
      store_.deleted(std::move(event.object));
      advance();
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kError: {
      // Never 410 here: the decoder reports that as a kGone error. Any
      // other Status (a 500, a timeout) leaves us unsure what we missed:
      // relist, after the watch backoff.
      const int code = statusCodeOf(event.object);
      std::string message = event.object.is_object() && event.object.contains("message") &&
                                    event.object["message"].is_string()
                                ? event.object["message"].get<std::string>()
                                : event.object.dump();
      log_.warn("watch error event, relisting after backoff",
                {{"what", describe()}, {"code", code}, {"message", message}});
      return WatchOutcome::kRelist;
    }
  }
  return WatchOutcome::kContinue;
}

bool Reflector::backoffWait(Backoff& backoff) {
  const auto delay = backoff.next();
  if (options_.onBackoff) {
    options_.onBackoff(delay);
  }
  const Clock::TimePoint deadline = clock_.now() + delay;
  std::unique_lock lock(mu_);
  while (!stopped_ && clock_.now() < deadline) {
    clock_.waitUntil(wake_, lock, deadline);
  }
  return !stopped_;
}

}  // namespace mlops::runtime
