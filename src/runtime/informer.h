// An informer: a reflector feeding an indexed cache, plus event handlers
// (client-go's SharedIndexInformer, minus resync).
//
//   Informer pods(client, client, kube::resources::kPods,
//                 {.labelSelector = "app.kubernetes.io/managed-by=mlops-operator"});
//   pods.addIndex("model", indexByLabel("mlops.dev/model"));
//   pods.addEventHandler({.onAdd = ..., .onUpdate = ..., .onDelete = ...});
//   pods.start();
//   pods.waitForSync(std::chrono::seconds(30));
//
// What goes into the cache: each object with metadata.managedFields and the
// kubectl.kubernetes.io/last-applied-configuration annotation removed,
// apiVersion/kind filled in (list items arrive without them), then reduced by
// the options' transform (client-go's SetTransform): a controller that reads
// only a few fields of a numerous kind keeps only those, and every reader of
// that informer sees the reduced object.
//
// Events, delivered on the informer's thread, in order, one at a time:
//  - onAdd(obj, isInInitialList) for a new object (isInInitialList on the
//    first list);
//  - onUpdate(old, new) when an object changed (a relist reports only objects
//    whose resourceVersion differs);
//  - onDelete(obj, finalStateUnknown): obj is the last state; when a relist
//    finds an object gone (its delete event was missed, e.g. after 410 Gone)
//    the tombstone is the last cached state and finalStateUnknown is true.
// Handlers must be quick and must not call back into the informer's
// addEventHandler. A handler added after the first sync is first replayed
// every cached object as onAdd(obj, true).
//
// hasSynced() turns true once the first list is stored and its handlers ran.
// Thread safety: all public methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "runtime/indexer.h"
#include "runtime/logger.h"
#include "runtime/reflector.h"

namespace mlops::runtime {

struct EventHandler {
  std::function<void(const nlohmann::json& obj, bool isInInitialList)> onAdd;
  std::function<void(const nlohmann::json& oldObj, const nlohmann::json& newObj)> onUpdate;
  std::function<void(const nlohmann::json& obj, bool finalStateUnknown)> onDelete;
};

// A pure reduction of each object before it is cached. `name` tells
// transforms apart: the Manager shares an informer only between callers
// asking for the same one, so no reader gets fields cut that it needs.
struct CacheTransform {
  std::string name;
  std::function<void(nlohmann::json& obj)> apply;
};

struct InformerOptions {
  std::string ns;             // "" for all namespaces
  std::string labelSelector;  // server-side filter: only matching objects are cached
  std::string fieldSelector;
  CacheTransform transform;  // none when apply is empty
  // Lists and watches in protobuf, decoded with this: for built-in types,
  // whose protobuf encoding the API server already makes for its own
  // watchers (kube/protobuf_objects.h). The items hold only the fields the
  // decoder reads; the Manager shares such an informer only with callers
  // asking for the same. After a reply it cannot decode, the informer lists
  // and watches in JSON (the reflector's fallback).
  kube::ProtobufObjectDecoder protobuf = nullptr;
  int64_t pageSize = 500;
  BackoffPolicy backoff;
  std::chrono::seconds minWatchTimeout{300};
  std::chrono::milliseconds healthyWatch{60'000};            // see ReflectorOptions
  std::function<void(std::chrono::milliseconds)> onBackoff;  // test hook
  const Clock* clock = nullptr;                              // default: SystemClock
};

class Informer final : private ReflectorStore {
 public:
  Informer(kube::Reader& lister, kube::Watcher& watcher, kube::Resource resource,
           InformerOptions options = {}, const Logger& logger = Logger("informer"));
  ~Informer() override;  // stops and joins
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  const kube::Resource& resource() const { return resource_; }
  const InformerOptions& options() const { return options_; }

  // See Indexer::addIndex: idempotent for the same definition, an error for
  // another one under a taken name.
  Status addIndex(const std::string& name, IndexDefinition definition) {
    return indexer_.addIndex(name, std::move(definition));
  }
  Status addIndex(const std::string& name, IndexFunc fn) {
    return indexer_.addIndex(name, std::move(fn));
  }
  // Returns an id for removeEventHandler().
  uint64_t addEventHandler(EventHandler handler);
  // After it returns, the handler is not running and never runs again: a
  // handler's owner (a controller) may then be destroyed while the informer
  // goes on.
  void removeEventHandler(uint64_t id);

  void start();  // spawns the reflector thread; idempotent
  void stop();   // stops and joins; idempotent
  bool hasSynced() const { return synced_.load(); }
  // True once synced; false on timeout or if stopped first.
  bool waitForSync(std::chrono::milliseconds timeout) const;

  const Indexer& indexer() const { return indexer_; }
  std::string lastSyncResourceVersion() const { return reflector_.lastSyncResourceVersion(); }
  uint64_t listCount() const { return reflector_.listCount(); }

 private:
  // ReflectorStore
  void replace(std::vector<nlohmann::json> items, const std::string& resourceVersion) override;
  void added(nlohmann::json obj) override;
  void modified(nlohmann::json obj) override;
  void deleted(nlohmann::json obj) override;

  ObjectPtr normalize(nlohmann::json obj) const;
  void upsertAndNotify(nlohmann::json obj);
  void notifyAdd(const nlohmann::json& obj, bool initial);
  void notifyUpdate(const nlohmann::json& oldObj, const nlohmann::json& newObj);
  void notifyDelete(const nlohmann::json& obj, bool finalStateUnknown);

  const kube::Resource resource_;
  const InformerOptions options_;
  Logger log_;
  Indexer indexer_;
  Reflector reflector_;

  std::mutex dispatchMu_;                      // serialises store changes with handler dispatch
  std::map<uint64_t, EventHandler> handlers_;  // by id, in the order added
  uint64_t nextHandlerId_ = 1;

  std::atomic<bool> synced_{false};
  mutable std::mutex syncMu_;
  mutable std::condition_variable syncCv_;
  bool stopping_ = false;  // guarded by syncMu_

  std::mutex threadMu_;
  std::thread thread_;
};

}  // namespace mlops::runtime
