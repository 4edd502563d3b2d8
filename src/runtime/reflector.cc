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
      backoff_(options_.backoff) {}

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
        if (!backoffWait()) {
          return;
        }
        continue;
      }
      needList = false;
    }
    switch (watchOnce()) {
      case WatchOutcome::kContinue:
      case WatchOutcome::kEnded:
        break;  // re-watch from the last resourceVersion
      case WatchOutcome::kRelist:
        needList = true;
        break;
      case WatchOutcome::kFailed:
        if (!backoffWait()) {
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
  std::lock_guard lock(mu_);
  if (activeStream_ != nullptr) {
    activeStream_->cancel();
  }
  wake_.notify_all();
}

std::string Reflector::lastSyncResourceVersion() const {
  std::lock_guard lock(mu_);
  return lastResourceVersion_;
}

void Reflector::setLastResourceVersion(const std::string& rv) {
  if (rv.empty()) {
    return;
  }
  std::lock_guard lock(mu_);
  lastResourceVersion_ = rv;
}

bool Reflector::listAndStore() {
  kube::ListOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  const std::string ns = resource_.namespaced ? options_.ns : "";
  auto page = kube::listAll(lister_, resource_, ns, opts, options_.pageSize);
  if (!page) {
    if (!stopped_) {
      log_.warn("list failed", {{"what", describe()}, {"error", page.error().toString()}});
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
  store_.replace(std::move(items), page->resourceVersion);
  setLastResourceVersion(page->resourceVersion);
  ++listCount_;
  return true;
}

Reflector::WatchOutcome Reflector::watchOnce() {
  kube::WatchOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  opts.resourceVersion = lastSyncResourceVersion();
  opts.allowBookmarks = true;
  opts.timeoutSeconds = randomWatchTimeout(options_.minWatchTimeout);
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

  const auto started = std::chrono::steady_clock::now();
  bool sawEvent = false;
  while (true) {
    auto next = stream->next();
    if (!next) {
      if (stopped_) {
        return WatchOutcome::kStopped;
      }
      if (next.error().code == ErrorCode::kGone) {
        log_.info("watch resourceVersion expired (410), relisting",
                  {{"what", describe()}, {"resourceVersion", lastSyncResourceVersion()}});
        return WatchOutcome::kRelist;
      }
      log_.warn("watch stream failed", {{"what", describe()}, {"error", next.error().toString()}});
      if (sawEvent) {
        backoff_.reset();
      }
      return WatchOutcome::kFailed;
    }
    if (!next->has_value()) {
      if (stopped_) {
        return WatchOutcome::kStopped;
      }
      if (!sawEvent && std::chrono::steady_clock::now() - started < kMinHealthyWatch) {
        log_.warn("watch ended immediately", {{"what", describe()}});
        return WatchOutcome::kFailed;
      }
      backoff_.reset();
      return WatchOutcome::kEnded;
    }
    auto outcome = handleEvent(**next, sawEvent);
    if (outcome != WatchOutcome::kContinue) {
      return outcome;
    }
    if (stopped_) {
      return WatchOutcome::kStopped;
    }
  }
}

Reflector::WatchOutcome Reflector::handleEvent(const kube::WatchEvent& event, bool& sawEvent) {
  switch (event.type) {
    case kube::WatchEventType::kBookmark:
      sawEvent = true;
      setLastResourceVersion(resourceVersionOf(event.object));
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kAdded:
      sawEvent = true;
      store_.added(event.object);
      setLastResourceVersion(resourceVersionOf(event.object));
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kModified:
      sawEvent = true;
      store_.modified(event.object);
      setLastResourceVersion(resourceVersionOf(event.object));
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kDeleted:
      sawEvent = true;
      store_.deleted(event.object);
      setLastResourceVersion(resourceVersionOf(event.object));
      return WatchOutcome::kContinue;
    case kube::WatchEventType::kError: {
      const int code = statusCodeOf(event.object);
      if (code == 410) {
        log_.info("watch resourceVersion expired (410 event), relisting", {{"what", describe()}});
        return WatchOutcome::kRelist;
      }
      std::string message = event.object.is_object() && event.object.contains("message") &&
                                    event.object["message"].is_string()
                                ? event.object["message"].get<std::string>()
                                : event.object.dump();
      log_.warn("watch error event, relisting after backoff",
                {{"what", describe()}, {"code", code}, {"message", message}});
      if (!backoffWait()) {
        return WatchOutcome::kStopped;
      }
      return WatchOutcome::kRelist;
    }
  }
  return WatchOutcome::kContinue;
}

bool Reflector::backoffWait() {
  const auto delay = backoff_.next();
  if (options_.onBackoff) {
    options_.onBackoff(delay);
  }
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, delay, [&] { return stopped_.load(); });
  return !stopped_;
}

}  // namespace mlops::runtime
