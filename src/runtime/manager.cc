#include "runtime/manager.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "runtime/signals.h"
#include "server/health_server.h"
#include "server/metrics_server.h"

namespace mlops::runtime {
namespace {

constexpr std::chrono::milliseconds kEventFlushTimeout{2'000};

EventRecorderOptions recorderOptions(const Clock& clock) {
  EventRecorderOptions o;
  o.clock = &clock;
  return o;
}

// Informers are shared per (resource, namespace, label selector, field
// selector, transform, encoding). The key reads well in /readyz:
// "pods.v1[app=x]".
std::string informerKey(const kube::Resource& resource, const InformerOptions& o) {
  std::string key = resource.groupResource();
  if (!o.ns.empty()) {
    key += " in " + o.ns;
  }
  if (!o.labelSelector.empty() || !o.fieldSelector.empty()) {
    key += "[" + o.labelSelector;
    if (!o.fieldSelector.empty()) {
      key += (o.labelSelector.empty() ? "" : ";") + o.fieldSelector;
    }
    key += "]";
  }
  if (!o.transform.name.empty()) {
    key += " as " + o.transform.name;
  }
  // A protobuf decoder reads only some fields (a resource has one decoder),
  // so a JSON informer of the same resource keeps more and is not shared.
  if (o.protobuf != nullptr) {
    key += " in protobuf";
  }
  return key;
}

// What each informer caches: its objects and the bytes of their encodings
// (not of the maps around them), so that memory can be put down to a
// resource. Read at each scrape; both are counts the indexer keeps.
class CacheFamilies final : public ::prometheus::Collectable {
 public:
  CacheFamilies(std::mutex& mu, const std::map<std::string, std::unique_ptr<Informer>>& informers)
      : mu_(mu), informers_(informers) {}

  std::vector<::prometheus::MetricFamily> Collect() const override {
    ::prometheus::MetricFamily objects{"mlops_informer_cached_objects",
                                       "Objects in an informer's cache",
                                       ::prometheus::MetricType::Gauge,
                                       {}};
    ::prometheus::MetricFamily bytes{"mlops_informer_cached_bytes",
                                     "Bytes of the encodings of the objects in an informer's cache "
                                     "(not of the maps around them)",
                                     ::prometheus::MetricType::Gauge,
                                     {}};
    std::lock_guard lock(mu_);
    for (const auto& [key, informer] : informers_) {
      const Indexer& cache = informer->indexer();
      objects.metric.push_back(sample(key, static_cast<double>(cache.size())));
      bytes.metric.push_back(sample(key, static_cast<double>(cache.encodedBytes())));
    }
    return {std::move(objects), std::move(bytes)};
  }

 private:
  static ::prometheus::ClientMetric sample(const std::string& informer, double value) {
    ::prometheus::ClientMetric m;
    m.label = {{"informer", informer}};
    m.gauge.value = value;
    return m;
  }
  std::mutex& mu_;
  const std::map<std::string, std::unique_ptr<Informer>>& informers_;
};

}  // namespace

Manager::Manager(kube::Client& client, ManagerOptions options)
    : client_(client),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock::instance()),
      metrics_(options_.metrics ? options_.metrics : std::make_shared<RuntimeMetrics>()),
      log_(options_.logger),
      identity_(options_.identity.empty() ? makeLeaderIdentity() : options_.identity),
      events_(std::make_unique<KubeEventRecorder>(client_, recorderOptions(clock_),
                                                  log_.withName("events"))),
      cacheFamilies_(std::make_shared<CacheFamilies>(informersMu_, informers_)) {
  metrics_->addCollectable(cacheFamilies_);
}

Manager::~Manager() {
  // run() normally stops everything; this covers a Manager that never ran
  // or whose run() was left early.
  stopLeaderWork();
  if (elector_) {
    elector_->stop();
  }
  std::lock_guard lock(informersMu_);
  for (auto& [name, informer] : informers_) {
    informer->stop();
  }
}

Informer& Manager::informer(const kube::Resource& resource, InformerOptions options) {
  if (options.ns.empty()) {
    options.ns = options_.ns;
  }
  if (options.clock == nullptr) {
    options.clock = &clock_;
  }
  std::lock_guard lock(informersMu_);
  const std::string key = informerKey(resource, options);
  if (auto it = informers_.find(key); it != informers_.end()) {
    // Shared: the options that only tune the reflector (page size,
    // backoff) are those of the first caller.
    return *it->second;
  }
  auto informer =
      std::make_unique<Informer>(client_, client_, resource, options, log_.withName("informer"));
  Informer& ref = *informer;
  cache_.registerInformer(ref);
  informers_.emplace(key, std::move(informer));
  if (informersStarted_) {
    ref.start();
  }
  return ref;
}

Controller& Manager::addController(std::string name, std::unique_ptr<Reconciler> reconciler,
                                   ControllerOptions options) {
  if (options.metrics == nullptr) {
    options.metrics = metrics_.get();
  }
  if (options.clock == nullptr) {
    options.clock = &clock_;
  }
  options.logger = log_.withName("controller");
  std::lock_guard lock(controllersMu_);
  OwnedController owned;
  owned.reconciler = std::move(reconciler);
  owned.controller =
      std::make_unique<Controller>(std::move(name), *owned.reconciler, std::move(options));
  controllers_.push_back(std::move(owned));
  return *controllers_.back().controller;
}

void Manager::add(std::unique_ptr<Runnable> runnable) {
  std::lock_guard lock(controllersMu_);
  runnables_.push_back(std::move(runnable));
}

bool Manager::cachesSynced() const {
  std::lock_guard lock(informersMu_);
  for (const auto& [name, informer] : informers_) {
    if (!informer->hasSynced()) {
      return false;
    }
  }
  return true;
}

void Manager::stop() {
  requestStop(0);
}

void Manager::requestStop(int exitCode) {
  std::lock_guard lock(stopMu_);
  if (!stopRequested_) {
    exitCode_ = exitCode;
  }
  stopRequested_ = true;
  stopCv_.notify_all();
}

bool Manager::startServers() {
  if (options_.metricsBindAddress != "0") {
    auto server = server::MetricsServer::start(options_.metricsBindAddress, metrics_);
    if (!server) {
      log_.error("cannot start the metrics server", {{"error", server.error().toString()}});
      return false;
    }
    metricsServer_ = std::move(*server);
    metricsPort_ = metricsServer_->port();
    log_.info("serving metrics",
              {{"address", options_.metricsBindAddress}, {"port", metricsPort_.load()}});
  }
  if (options_.healthProbeBindAddress != "0") {
    auto server = server::HealthServer::start(options_.healthProbeBindAddress);
    if (!server) {
      log_.error("cannot start the health probe server", {{"error", server.error().toString()}});
      return false;
    }
    healthServer_ = std::move(*server);
    healthServer_->addHealthzCheck("ping", [] { return okStatus(); });
    healthServer_->addReadyzCheck("informers", [this]() -> Status {
      std::string waiting;
      std::lock_guard lock(informersMu_);
      for (const auto& [name, informer] : informers_) {
        if (!informer->hasSynced()) {
          waiting += (waiting.empty() ? "" : ", ") + name;
        }
      }
      if (waiting.empty()) {
        return okStatus();
      }
      return makeError(ErrorCode::kUnavailable, "caches not synced: " + waiting);
    });
    healthPort_ = healthServer_->port();
    log_.info("serving health probes",
              {{"address", options_.healthProbeBindAddress}, {"port", healthPort_.load()}});
  }
  return true;
}

bool Manager::waitForCaches() {
  const Clock::TimePoint started = clock_.now();
  while (true) {
    if (cachesSynced()) {
      return true;
    }
    std::unique_lock lock(stopMu_);
    if (stopRequested_) {
      return false;
    }
    const Clock::TimePoint now = clock_.now();
    if (options_.cacheSyncTimeout.count() > 0 && now - started > options_.cacheSyncTimeout) {
      return false;
    }
    // Informers do not notify us: look again every 50 ms.
    clock_.waitUntil(stopCv_, lock, now + std::chrono::milliseconds(50));
  }
}

void Manager::startLeaderWork() {
  std::lock_guard lock(controllersMu_);
  if (leaderWorkStopped_) {
    return;
  }
  for (auto& c : controllers_) {
    c.controller->start();
  }
  {
    std::lock_guard running(runnablesMu_);
    runnablesRunning_ = static_cast<int>(runnables_.size());
  }
  for (auto& r : runnables_) {
    runnableThreads_.emplace_back([this, runnable = r.get()] { runRunnable(*runnable); });
  }
}

void Manager::runRunnable(Runnable& runnable) {
  const std::string name = runnable.name();
  log_.info("starting runnable", {{"runnable", name}});
  Status status = okStatus();
  try {
    status = runnable.run(runnablesStop_);
  } catch (const std::exception& e) {
    status = makeError(ErrorCode::kInternal, std::string("runnable threw: ") + e.what());
  } catch (...) {
    status = makeError(ErrorCode::kInternal, "runnable threw a non-standard exception");
  }
  if (!status && !runnablesStop_.cancelled()) {
    // A leader-only loop that cannot work: stop rather than lead half-way
    // (runnable.h).
    log_.error("runnable failed; shutting down",
               {{"runnable", name}, {"error", status.error().toString()}});
    requestStop(1);
  } else {
    log_.info("runnable finished", {{"runnable", name}});
  }
  std::lock_guard lock(runnablesMu_);
  --runnablesRunning_;
  runnablesDone_.notify_all();
}

bool Manager::stopLeaderWork() {
  std::lock_guard lock(controllersMu_);
  leaderWorkStopped_ = true;
  const Clock::TimePoint deadline = clock_.now() + options_.gracefulShutdownTimeout;
  // Tell everyone first (queues shut, reconciles see stopping(), runnables
  // their stop token), so all of them wind down in parallel.
  for (auto& c : controllers_) {
    c.controller->requestStop();
  }
  runnablesStop_.cancel();
  bool clean = true;
  for (auto& c : controllers_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.now());
    if (!c.controller->stop(std::max(left, std::chrono::milliseconds(0)))) {
      clean = false;
    }
  }
  {
    std::unique_lock running(runnablesMu_);
    while (runnablesRunning_ > 0 && clock_.now() < deadline) {
      clock_.waitUntil(runnablesDone_, running, deadline);
    }
    if (runnablesRunning_ > 0) {
      log_.error("runnables still running after the grace period",
                 {{"running", runnablesRunning_}});
      return false;  // their threads stay: the caller exits the process
    }
  }
  for (auto& t : runnableThreads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  runnableThreads_.clear();
  return clean;
}

int Manager::run() {
  std::unique_ptr<SignalWatcher> signals;
  if (options_.handleSignals) {
    signals = std::make_unique<SignalWatcher>([this](int sig) {
      log_.info("signal received, shutting down", {{"signal", sig}});
      stop();
    });
  }
  if (options_.leaderElection && options_.leaderElectionNamespace.empty()) {
    log_.error("leader election needs a namespace for its Lease (--leader-election-namespace)");
    return 1;
  }
  if (!startServers()) {
    return 1;
  }

  {
    std::lock_guard lock(informersMu_);
    informersStarted_ = true;
    for (auto& [name, informer] : informers_) {
      informer->start();
    }
  }
  events_->start();

  std::thread electorThread;
  if (!waitForCaches()) {
    bool requested;
    {
      std::lock_guard lock(stopMu_);
      requested = stopRequested_;
    }
    if (!requested) {
      log_.error("timed out waiting for caches to sync",
                 {{"timeoutMs", options_.cacheSyncTimeout.count()}});
      requestStop(1);
    }
  } else {
    log_.info("caches synced");
    if (options_.leaderElection) {
      leaseLock_ = std::make_unique<KubeLeaseLock>(
          client_, client_, options_.leaderElectionNamespace, options_.leaderElectionId);
      LeaderElectionConfig config;
      config.identity = identity_;
      config.leaseDuration = options_.leaseDuration;
      config.renewDeadline = options_.renewDeadline;
      config.retryPeriod = options_.retryPeriod;
      config.releaseOnStop = true;
      config.callbacks.onStartedLeading = [this] {
        leading_ = true;
        metrics_->setLeader(options_.leaderElectionId, true);
        log_.info("became leader; starting controllers");
        startLeaderWork();
      };
      config.callbacks.onLostLeadership = [this] {
        leading_ = false;
        metrics_->setLeader(options_.leaderElectionId, false);
        log_.error("leader election lost; exiting");
        requestStop(1);
      };
      metrics_->setLeader(options_.leaderElectionId, false);
      elector_ = std::make_unique<LeaderElector>(*leaseLock_, config, clock_,
                                                 log_.withName("leader-election"));
      electorThread = std::thread([this] { elector_->run(); });
    } else {
      startLeaderWork();
    }
  }

  {
    std::unique_lock lock(stopMu_);
    stopCv_.wait(lock, [&] { return stopRequested_; });
  }
  log_.info("shutting down");

  if (!stopLeaderWork()) {
    log_.error(
        "reconciles or runnables did not finish within the graceful shutdown timeout; "
        "exiting now",
        {{"timeoutMs", options_.gracefulShutdownTimeout.count()}});
    std::fflush(stderr);
    std::_Exit(1);
  }
  if (elector_) {
    elector_->stop();  // releases the lease if we lead
    if (electorThread.joinable()) {
      electorThread.join();
    }
    if (leading_.exchange(false)) {
      metrics_->setLeader(options_.leaderElectionId, false);
    }
  }
  {
    std::lock_guard lock(informersMu_);
    for (auto& [name, informer] : informers_) {
      informer->stop();
    }
  }
  events_->stop(kEventFlushTimeout);
  healthServer_.reset();
  metricsServer_.reset();
  healthPort_ = 0;
  metricsPort_ = 0;
  std::lock_guard lock(stopMu_);
  log_.info("shutdown complete", {{"exitCode", exitCode_}});
  return exitCode_;
}

}  // namespace mlops::runtime
