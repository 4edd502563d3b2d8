#include "runtime/informer.h"

#include <map>

#include "runtime/object.h"

namespace mlops::runtime {
namespace {

ReflectorOptions reflectorOptions(const kube::Resource& resource, const InformerOptions& o) {
  ReflectorOptions r;
  r.ns = resource.namespaced ? o.ns : "";
  r.labelSelector = o.labelSelector;
  r.fieldSelector = o.fieldSelector;
  r.protobuf = o.protobuf;
  r.pageSize = o.pageSize;
  r.backoff = o.backoff;
  r.minWatchTimeout = o.minWatchTimeout;
  r.healthyWatch = o.healthyWatch;
  r.onBackoff = o.onBackoff;
  r.clock = o.clock;
  return r;
}

}  // namespace

Informer::Informer(kube::Reader& lister, kube::Watcher& watcher, kube::Resource resource,
                   InformerOptions options, const Logger& logger)
    : resource_(std::move(resource)),
      options_(std::move(options)),
      log_(logger.withValues({{"resource", resource_.groupResource()}})),
      reflector_(lister, watcher, resource_, *this, reflectorOptions(resource_, options_), logger) {
}

Informer::~Informer() {
  stop();
}

void Informer::start() {
  std::lock_guard lock(threadMu_);
  if (thread_.joinable() || reflector_.stopped()) {
    return;
  }
  thread_ = std::thread([this] { reflector_.run(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(syncMu_);
    stopping_ = true;
  }
  syncCv_.notify_all();
  reflector_.stop();
  std::lock_guard lock(threadMu_);
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(syncMu_);
  syncCv_.wait_for(lock, timeout, [&] { return synced_.load() || stopping_; });
  return synced_.load();
}

uint64_t Informer::addEventHandler(EventHandler handler) {
  std::lock_guard lock(dispatchMu_);
  if (synced_) {
    for (const auto& obj : indexer_.list()) {
      if (!handler.onAdd) {
        break;
      }
      try {
        handler.onAdd(*obj, true);
      } catch (const std::exception& e) {
        log_.error("event handler threw", {{"error", e.what()}});
      }
    }
  }
  const uint64_t id = nextHandlerId_++;
  handlers_.emplace(id, std::move(handler));
  return id;
}

void Informer::removeEventHandler(uint64_t id) {
  std::lock_guard lock(dispatchMu_);  // waits for a dispatch in progress
  handlers_.erase(id);
}

ObjectPtr Informer::normalize(nlohmann::json obj) const {
  stripManagedFields(obj);
  stripLastAppliedConfiguration(obj);
  if (options_.transform.apply) {
    options_.transform.apply(obj);
  }
  if (obj.is_object()) {
    if (!obj.contains("apiVersion")) {
      obj["apiVersion"] = resource_.apiVersion();
    }
    if (!obj.contains("kind")) {
      obj["kind"] = resource_.kind;
    }
  }
  return std::make_shared<const nlohmann::json>(std::move(obj));
}

void Informer::replace(std::vector<nlohmann::json> items, const std::string& resourceVersion) {
  std::map<std::string, ObjectPtr> next;
  for (auto& item : items) {
    ObjectPtr obj = normalize(std::move(item));
    next[objectKey(*obj)] = obj;
  }
  std::lock_guard lock(dispatchMu_);
  const bool initial = !synced_;
  std::map<std::string, ObjectPtr> previous;
  for (const auto& [key, obj] : next) {
    if (ObjectPtr old = indexer_.get(key)) {
      previous[key] = old;
    }
  }
  std::vector<ObjectPtr> dropped = indexer_.replace(next);
  for (const auto& [key, obj] : next) {
    auto old = previous.find(key);
    if (old == previous.end()) {
      notifyAdd(*obj, initial);
    } else if (resourceVersionOf(*old->second) != resourceVersionOf(*obj)) {
      notifyUpdate(*old->second, *obj);
    }
  }
  for (const auto& obj : dropped) {
    notifyDelete(*obj, true);
  }
  log_.debug(
      "cache replaced",
      {{"count", next.size()}, {"deleted", dropped.size()}, {"resourceVersion", resourceVersion}});
  if (!synced_) {
    {
      std::lock_guard syncLock(syncMu_);
      synced_ = true;
    }
    syncCv_.notify_all();
  }
}

void Informer::upsertAndNotify(nlohmann::json raw) {
  ObjectPtr obj = normalize(std::move(raw));
  std::lock_guard lock(dispatchMu_);
  ObjectPtr old = indexer_.upsert(objectKey(*obj), obj);
  if (!old) {
    notifyAdd(*obj, false);
  } else if (resourceVersionOf(*old) != resourceVersionOf(*obj) ||
             resourceVersionOf(*obj).empty()) {
    notifyUpdate(*old, *obj);
  }
}

void Informer::added(nlohmann::json obj) {
  upsertAndNotify(std::move(obj));
}
void Informer::modified(nlohmann::json obj) {
  upsertAndNotify(std::move(obj));
}

void Informer::deleted(nlohmann::json raw) {
  ObjectPtr obj = normalize(std::move(raw));
  std::lock_guard lock(dispatchMu_);
  indexer_.remove(objectKey(*obj));
  notifyDelete(*obj, false);
}

void Informer::notifyAdd(const nlohmann::json& obj, bool initial) {
  for (auto& [id, h] : handlers_) {
    if (!h.onAdd) {
      continue;
    }
    try {
      h.onAdd(obj, initial);
    } catch (const std::exception& e) {
      log_.error("add handler threw", {{"key", objectKey(obj)}, {"error", e.what()}});
    }
  }
}

void Informer::notifyUpdate(const nlohmann::json& oldObj, const nlohmann::json& newObj) {
  for (auto& [id, h] : handlers_) {
    if (!h.onUpdate) {
      continue;
    }
    try {
      h.onUpdate(oldObj, newObj);
    } catch (const std::exception& e) {
      log_.error("update handler threw", {{"key", objectKey(newObj)}, {"error", e.what()}});
    }
  }
}

void Informer::notifyDelete(const nlohmann::json& obj, bool finalStateUnknown) {
  for (auto& [id, h] : handlers_) {
    if (!h.onDelete) {
      continue;
    }
    try {
      h.onDelete(obj, finalStateUnknown);
    } catch (const std::exception& e) {
      log_.error("delete handler threw", {{"key", objectKey(obj)}, {"error", e.what()}});
    }
  }
}

}  // namespace mlops::runtime
