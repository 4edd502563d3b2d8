// A controller: a work queue, N workers and a Reconciler, fed by informers
// (controller-runtime's internal/controller.Controller).
//
//   Controller ctl("trainingrun", reconciler, {.workers = 2, .metrics = &metrics});
//   ctl.watch(trainingRuns);                                   // the object itself
//   ctl.watch(jobs, requestForOwner("mlops.dev", "TrainingRun"));  // its owner
//   ctl.start();            // registers handlers (replaying the cache), runs workers
//   ...
//   ctl.stop(std::chrono::seconds(30));
//
// The controller owns the cross-cutting work: dedup and per-key exclusivity
// (WorkQueue), result handling and backoff (see reconciler.h), exception
// recovery, log context (controller, key) and the controller_runtime_* and
// workqueue_* metrics.
//
// Lifecycle: watch() before start(); start() once; stop() shuts the queue
// down (waiting keys are dropped), cancels the reconciles' context
// (ReconcileContext::stopping()), lets in-flight reconciles finish and
// returns false if they did not within the grace period (their threads are
// then left running; the caller should exit the process). requestStop()
// does the first two without waiting, so that several controllers wind
// down in parallel.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "runtime/informer.h"
#include "runtime/logger.h"
#include "runtime/metrics.h"
#include "runtime/rate_limiter.h"
#include "runtime/reconciler.h"
#include "runtime/work_queue.h"

namespace mlops::runtime {

// Maps an object from an informer to the requests it should trigger.
using MapFunc = std::function<std::vector<Request>(const nlohmann::json& obj)>;
// Decides whether an update event is worth a reconcile (adds and deletes
// always are).
using UpdatePredicate =
    std::function<bool(const nlohmann::json& oldObj, const nlohmann::json& newObj)>;

// The object's own namespace/name.
MapFunc requestForObject();
// The controlling owner of the given group (e.g. "mlops.dev", "" for core)
// and kind, in the object's namespace; nothing if there is none.
MapFunc requestForOwner(const std::string& group, const std::string& kind);
// The object's namespace and, as the name, the string at `jsonPointer`
// (e.g. "/spec/model": a ModelVersion wakes its model's key); nothing when
// that field is absent or empty.
MapFunc requestForField(const std::string& jsonPointer);
// The object's namespace and the value of its label `key` as the name.
MapFunc requestForLabel(const std::string& key);
// Passes updates whose metadata.generation changed (spec changes), and any
// update of an object without a generation.
UpdatePredicate generationChanged();

struct ControllerOptions {
  int workers = 1;
  std::unique_ptr<RateLimiter> rateLimiter;  // default: defaultControllerRateLimiter
  const Clock* clock = nullptr;              // default: SystemClock
  RuntimeMetrics* metrics = nullptr;         // optional; must outlive the controller
  Logger logger = Logger("controller");
};

class Controller {
 public:
  Controller(std::string name, Reconciler& reconciler, ControllerOptions options = {});
  ~Controller();  // stops (waiting without bound for in-flight reconciles)
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  const std::string& name() const { return name_; }

  // Routes the informer's events to the queue through `map` (default: the
  // object itself). `onUpdate` filters update events. Call before start().
  void watch(Informer& informer, MapFunc map = requestForObject(),
             UpdatePredicate onUpdate = nullptr);

  void start();
  void requestStop();
  bool stop(std::chrono::milliseconds gracePeriod);
  bool started() const { return started_.load(); }

  // Enqueues a request directly (e.g. from a timer or another component).
  void enqueue(const Request& request) { queue_.add(request.key()); }
  WorkQueue& queue() { return queue_; }

 private:
  struct Source {
    Informer* informer;
    MapFunc map;
    UpdatePredicate onUpdate;
    uint64_t handlerId = 0;  // set by start(); removed by the destructor
  };
  void workerLoop();
  void processKey(const std::string& key);
  void enqueueAll(const MapFunc& map, const nlohmann::json& obj);

  const std::string name_;
  Reconciler& reconciler_;
  const Clock& clock_;
  RuntimeMetrics* metrics_;
  std::optional<ControllerMetrics> reconcileMetrics_;
  Logger log_;
  const int workers_;
  WorkQueue queue_;
  CancelToken shutdown_;  // cancelled by requestStop(); seen by reconciles

  std::vector<Source> sources_;
  std::atomic<bool> started_{false};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable exited_;
  int running_ = 0;  // workers still in their loop; guarded by mu_
};

}  // namespace mlops::runtime
