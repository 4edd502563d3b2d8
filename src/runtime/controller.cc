#include "runtime/controller.h"

#include <exception>

#include "runtime/object.h"

namespace mlops::runtime {
namespace {

// "mlops.dev/v1alpha1" → "mlops.dev"; "v1" → "".
std::string groupOf(const std::string& apiVersion) {
  auto slash = apiVersion.find('/');
  return slash == std::string::npos ? "" : apiVersion.substr(0, slash);
}

}  // namespace

const ReconcileContext& ReconcileContext::background() {
  static const CancelToken never;
  static const ReconcileContext context(never);
  return context;
}

Request Request::fromKey(const std::string& key) {
  auto [ns, name] = splitKey(key);
  return Request{ns, name};
}

MapFunc requestForObject() {
  return [](const nlohmann::json& obj) -> std::vector<Request> {
    return {Request{namespaceOf(obj), nameOf(obj)}};
  };
}

MapFunc requestForField(const std::string& jsonPointer) {
  return [pointer = nlohmann::json::json_pointer(jsonPointer)](
             const nlohmann::json& obj) -> std::vector<Request> {
    if (!obj.is_object() || !obj.contains(pointer) || !obj.at(pointer).is_string()) {
      return {};
    }
    const std::string value = obj.at(pointer).get<std::string>();
    if (value.empty()) {
      return {};
    }
    return {Request{namespaceOf(obj), value}};
  };
}

MapFunc requestForLabel(const std::string& key) {
  std::string escaped;  // JSON pointer escaping of the label key ("mlops.dev/model")
  for (char c : key) {
    escaped += c == '~' ? "~0" : (c == '/' ? "~1" : std::string(1, c));
  }
  return requestForField("/metadata/labels/" + escaped);
}

MapFunc requestForOwner(const std::string& group, const std::string& kind) {
  return [group, kind](const nlohmann::json& obj) -> std::vector<Request> {
    const auto* meta = obj.is_object() && obj.contains("metadata") ? &obj["metadata"] : nullptr;
    if (meta == nullptr || !meta->contains("ownerReferences")) {
      return {};
    }
    const auto& refs = (*meta)["ownerReferences"];
    if (!refs.is_array()) {
      return {};
    }
    for (const auto& ref : refs) {
      if (!ref.is_object() || !ref.value("controller", false)) {
        continue;
      }
      if (ref.value("kind", "") != kind) {
        continue;
      }
      if (groupOf(ref.value("apiVersion", "")) != group) {
        continue;
      }
      return {Request{namespaceOf(obj), ref.value("name", "")}};
    }
    return {};
  };
}

UpdatePredicate generationChanged() {
  return [](const nlohmann::json& oldObj, const nlohmann::json& newObj) {
    auto generation = [](const nlohmann::json& o) -> int64_t {
      if (!o.is_object() || !o.contains("metadata")) {
        return -1;
      }
      const auto& g = o["metadata"].value("generation", nlohmann::json());
      return g.is_number_integer() ? g.get<int64_t>() : -1;
    };
    const int64_t before = generation(oldObj);
    const int64_t after = generation(newObj);
    return after < 0 || before != after;
  };
}

Controller::Controller(std::string name, Reconciler& reconciler, ControllerOptions options)
    : name_(std::move(name)),
      reconciler_(reconciler),
      clock_(options.clock ? *options.clock : SystemClock::instance()),
      metrics_(options.metrics),
      log_(options.logger.withValues({{"controller", name_}})),
      workers_(std::max(options.workers, 1)),
      queue_(name_, std::move(options.rateLimiter), clock_,
             metrics_ ? metrics_->forQueue(name_) : nullptr) {
  if (metrics_) {
    reconcileMetrics_ = metrics_->forController(name_);
    reconcileMetrics_->maxConcurrent->Set(workers_);
  }
}

Controller::~Controller() {
  // Informers may outlive this controller: no handler may call into it once
  // it is gone.
  for (auto& source : sources_) {
    if (source.handlerId != 0) {
      source.informer->removeEventHandler(source.handlerId);
    }
  }
  queue_.shutDown();
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
}

void Controller::watch(Informer& informer, MapFunc map, UpdatePredicate onUpdate) {
  sources_.push_back(Source{&informer, std::move(map), std::move(onUpdate)});
}

void Controller::enqueueAll(const MapFunc& map, const nlohmann::json& obj) {
  std::vector<Request> requests;
  try {
    requests = map(obj);
  } catch (const std::exception& e) {
    log_.error("map function threw", {{"object", objectKey(obj)}, {"error", e.what()}});
    return;
  }
  for (const auto& r : requests) {
    if (!r.name.empty()) {
      queue_.add(r.key());
    }
  }
}

void Controller::start() {
  if (started_.exchange(true)) {
    return;
  }
  for (auto& source : sources_) {
    const MapFunc map = source.map;
    const UpdatePredicate onUpdate = source.onUpdate;
    EventHandler handler;
    handler.onAdd = [this, map](const nlohmann::json& obj, bool) { enqueueAll(map, obj); };
    handler.onUpdate = [this, map, onUpdate](const nlohmann::json& oldObj,
                                             const nlohmann::json& newObj) {
      if (onUpdate && !onUpdate(oldObj, newObj)) {
        return;
      }
      // Both: an object that moved (e.g. its owner or label changed) must
      // wake what it used to map to as well.
      enqueueAll(map, oldObj);
      enqueueAll(map, newObj);
    };
    handler.onDelete = [this, map](const nlohmann::json& obj, bool) { enqueueAll(map, obj); };
    source.handlerId = source.informer->addEventHandler(std::move(handler));
  }
  {
    std::lock_guard lock(mu_);
    running_ = workers_;
  }
  for (int i = 0; i < workers_; ++i) {
    threads_.emplace_back([this] { workerLoop(); });
  }
  log_.info("controller started", {{"workers", workers_}});
}

void Controller::requestStop() {
  queue_.shutDown();
  shutdown_.cancel();
}

bool Controller::stop(std::chrono::milliseconds gracePeriod) {
  requestStop();
  if (!started_) {
    return true;
  }
  // On the injected clock, like every wait of the runtime.
  const Clock::TimePoint deadline = clock_.now() + gracePeriod;
  std::unique_lock lock(mu_);
  while (running_ > 0 && clock_.now() < deadline) {
    clock_.waitUntil(exited_, lock, deadline);
  }
  const bool finished = running_ == 0;
  lock.unlock();
  if (!finished) {
    log_.error("reconciles still running after the grace period",
               {{"gracePeriodMs", gracePeriod.count()}, {"busy", queue_.processingLen()}});
    return false;
  }
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
  log_.info("controller stopped");
  return true;
}

void Controller::workerLoop() {
  while (auto key = queue_.get()) {
    processKey(*key);
    queue_.done(*key);
  }
  std::lock_guard lock(mu_);
  --running_;
  exited_.notify_all();
}

void Controller::processKey(const std::string& key) {
  const Request request = Request::fromKey(key);
  const Logger log = log_.withValues({{"key", key}});
  if (reconcileMetrics_) {
    reconcileMetrics_->activeWorkers->Increment();
  }
  const auto started = clock_.now();

  Result<ReconcileResult> result = makeError(ErrorCode::kInternal, "reconcile did not run");
  try {
    result = reconciler_.reconcile(request, ReconcileContext(shutdown_));
  } catch (const std::exception& e) {
    result = makeError(ErrorCode::kInternal, std::string("reconcile threw: ") + e.what());
  } catch (...) {
    result = makeError(ErrorCode::kInternal, "reconcile threw a non-standard exception");
  }

  const double seconds = std::chrono::duration<double>(clock_.now() - started).count();
  if (reconcileMetrics_) {
    reconcileMetrics_->activeWorkers->Decrement();
    reconcileMetrics_->time->Observe(seconds);
  }
  auto count = [&](::prometheus::Counter* ControllerMetrics::*which) {
    if (reconcileMetrics_) {
      ((*reconcileMetrics_).*which)->Increment();
    }
  };

  if (!result && result.error().code == ErrorCode::kCancelled && shutdown_.cancelled()) {
    // Abandoned because we are shutting down, as asked (reconciler.h): not
    // a failure, and nothing to retry here (the queue is shut down).
    log.info("reconcile abandoned for shutdown", {{"error", result.error().toString()}});
    return;
  }
  if (!result) {
    count(&ControllerMetrics::error);
    count(&ControllerMetrics::errors);
    queue_.addRateLimited(key);
    log.error("reconcile failed",
              {{"error", result.error().toString()}, {"retries", queue_.numRequeues(key)}});
    return;
  }
  if (result->requeueAfter > std::chrono::milliseconds::zero()) {
    count(&ControllerMetrics::requeueAfter);
    queue_.forget(key);
    queue_.addAfter(key, result->requeueAfter);
    log.debug("reconciled; requeue after",
              {{"requeueAfterMs", result->requeueAfter.count()}, {"seconds", seconds}});
    return;
  }
  if (result->requeue) {
    count(&ControllerMetrics::requeue);
    queue_.addRateLimited(key);
    log.debug("reconciled; requeue", {{"seconds", seconds}});
    return;
  }
  count(&ControllerMetrics::success);
  queue_.forget(key);
  log.debug("reconciled", {{"seconds", seconds}});
}

}  // namespace mlops::runtime
