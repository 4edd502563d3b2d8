// The Manager runs everything a controller process needs, in order:
//
//   run():  serve /metrics and /healthz, /readyz
//           start informers ─▶ wait for their caches (readyz turns 200 here)
//           campaign for the Lease (if leader election is on)
//           ─▶ as leader: start controllers and runnables
//           wait for SIGTERM/SIGINT, stop(), or lost leadership
//   shutdown: cancel reconciles' contexts and runnables' stop tokens ─▶
//           wait for them (together up to gracefulShutdownTimeout, on the
//           Manager's clock) ─▶ release the Lease ─▶ stop informers
//           ─▶ flush events (≤ 2 s) ─▶ stop servers ─▶ return the exit code
//
// Exit codes: 0 after a graceful shutdown; 1 when leadership was lost (the
// process must exit: another replica now leads), when a server cannot bind,
// when caches did not sync within cacheSyncTimeout, or when a runnable
// failed. If reconciles or runnables are still running when the grace
// period ends, the process exits with status 1 at once (threads cannot be
// cancelled safely, and the lease is not released so that no new leader
// acts while they run).
//
// Time: every wait and timeout of the Manager and of what it creates
// (informers, controllers, leader election, the event recorder, the grace
// period) goes through ManagerOptions::clock, so tests drive it.
//
// Wiring in main:
//
//   auto metrics = std::make_shared<runtime::RuntimeMetrics>();
//   kube::ClientConfig cfg = ...;  cfg.<response observer> = metrics->restClientObserver();
//   auto client = kube::makeRestClient(cfg);
//   runtime::Manager mgr(*client, {.leaderElection = true, ..., .metrics = metrics});
//   auto& runs = mgr.informer(kube::resources::kTrainingRuns);
//   auto& jobs = mgr.informer(kube::resources::kJobs,
//                             {.labelSelector = "app.kubernetes.io/managed-by=mlops-operator"});
//   auto& ctl = mgr.addController(
//       "trainingrun",
//       std::make_unique<TrainingRunReconciler>(mgr.cache(), *client, mgr.eventRecorder(), ...),
//       {.workers = 2});
//   ctl.watch(runs);
//   ctl.watch(jobs, runtime::requestForOwner("mlops.dev", "TrainingRun"));
//   mgr.add(std::make_unique<RetentionSweep>(...));  // a leader-only loop
//   return mgr.run();
//
// Informers and controllers are added before run(). Informers are shared per
// (resource, namespace, label selector, field selector): asking again with
// the same selection returns the same informer, asking with another creates
// a second one, and cache() answers each read from an informer whose
// selection covers it (cache_reader.h). The Manager owns its informers,
// controllers, reconcilers and runnables; the client, and anything the
// reconcilers and runnables refer to, must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "kube/client.h"
#include "runtime/cache_reader.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "runtime/informer.h"
#include "runtime/leader_election.h"
#include "runtime/logger.h"
#include "runtime/metrics.h"
#include "runtime/runnable.h"

namespace mlops::server {
class HealthServer;
class MetricsServer;
}  // namespace mlops::server

namespace mlops::runtime {

struct ManagerOptions {
  std::string ns;                                // informers' default namespace; "" = all
  std::string metricsBindAddress = ":8080";      // "0" disables
  std::string healthProbeBindAddress = ":8081";  // "0" disables
  bool leaderElection = false;
  std::string leaderElectionNamespace;                     // required with leaderElection
  std::string leaderElectionId = "mlops-operator-leader";  // the Lease's name
  std::string identity;                                    // default: makeLeaderIdentity()
  std::chrono::milliseconds leaseDuration{15'000};
  std::chrono::milliseconds renewDeadline{10'000};
  std::chrono::milliseconds retryPeriod{2'000};
  std::chrono::milliseconds gracefulShutdownTimeout{30'000};
  std::chrono::milliseconds cacheSyncTimeout{120'000};  // 0: wait forever
  bool handleSignals = true;                            // SIGTERM/SIGINT → stop()
  std::shared_ptr<RuntimeMetrics> metrics;              // default: a new registry
  // Time for leader election, informers, controllers and the cache sync
  // timeout; default: SystemClock. Tests pass a fake one.
  const Clock* clock = nullptr;
  Logger logger = Logger("manager");
};

class Manager {
 public:
  Manager(kube::Client& client, ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  kube::Client& client() { return client_; }  // the API: writes, uncached reads
  CacheReader& cache() { return cache_; }     // reads from informers
  RuntimeMetrics& metrics() { return *metrics_; }
  EventRecorder& eventRecorder() { return *events_; }
  // ManagerOptions::clock, or SystemClock: give it to reconcilers too.
  const Clock& clock() const { return clock_; }
  const std::string& identity() const { return identity_; }

  // The informer of `resource` with the selection of `options` (namespace,
  // label and field selectors), created on first use and registered with
  // cache(). `options.ns` defaults to ManagerOptions::ns. Options that only
  // tune the reflector (page size, backoff) are those of the first caller.
  Informer& informer(const kube::Resource& resource, InformerOptions options = {});
  // A controller named `name` running `reconciler`, which the Manager owns
  // (destroyed after the controller's workers stopped). `options.metrics`
  // and `.clock` default to the Manager's; the logger is the Manager's. Controllers start only
  // while leading (or at once without leader election). Call before run().
  Controller& addController(std::string name, std::unique_ptr<Reconciler> reconciler,
                            ControllerOptions options = {});
  // A leader-only loop (runnable.h), owned by the Manager: started with the
  // controllers, stopped on shutdown. Call before run().
  void add(std::unique_ptr<Runnable> runnable);

  // Blocks until shutdown; returns the process exit code.
  int run();
  // Requests shutdown; thread safe, idempotent.
  void stop();

  bool cachesSynced() const;
  bool isLeader() const { return leading_.load(); }
  int healthPort() const { return healthPort_.load(); }    // 0 until serving
  int metricsPort() const { return metricsPort_.load(); }  // 0 until serving

 private:
  bool startServers();
  bool waitForCaches();
  void startLeaderWork();
  bool stopLeaderWork();
  void runRunnable(Runnable& runnable);
  void requestStop(int exitCode);

  kube::Client& client_;
  ManagerOptions options_;
  const Clock& clock_;
  std::shared_ptr<RuntimeMetrics> metrics_;
  Logger log_;
  std::string identity_;
  CacheReader cache_;
  std::unique_ptr<KubeEventRecorder> events_;

  mutable std::mutex informersMu_;
  std::map<std::string, std::unique_ptr<Informer>> informers_;  // by informerKey()
  bool informersStarted_ = false;
  // mlops_informer_cached_objects and mlops_informer_cached_bytes per
  // informer (added to metrics_; destroyed before the informers it reads).
  std::shared_ptr<const ::prometheus::Collectable> cacheFamilies_;

  // Declared reconciler first, so that it is destroyed after its controller.
  struct OwnedController {
    std::unique_ptr<Reconciler> reconciler;
    std::unique_ptr<Controller> controller;
  };
  std::mutex controllersMu_;  // guards controllers_, runnable threads, leaderWorkStopped_
  std::vector<OwnedController> controllers_;
  bool leaderWorkStopped_ = false;

  std::vector<std::unique_ptr<Runnable>> runnables_;
  std::vector<std::thread> runnableThreads_;
  CancelToken runnablesStop_;
  std::mutex runnablesMu_;
  std::condition_variable runnablesDone_;
  int runnablesRunning_ = 0;  // guarded by runnablesMu_

  std::unique_ptr<KubeLeaseLock> leaseLock_;
  std::unique_ptr<LeaderElector> elector_;
  std::atomic<bool> leading_{false};

  std::unique_ptr<server::HealthServer> healthServer_;
  std::unique_ptr<server::MetricsServer> metricsServer_;
  std::atomic<int> healthPort_{0};
  std::atomic<int> metricsPort_{0};

  mutable std::mutex stopMu_;
  std::condition_variable stopCv_;
  bool stopRequested_ = false;
  int exitCode_ = 0;
};

}  // namespace mlops::runtime
