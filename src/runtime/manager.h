// The Manager runs everything a controller process needs, in order:
//
//   run():  serve /metrics and /healthz, /readyz
//           start informers ─▶ wait for their caches (readyz turns 200 here)
//           campaign for the Lease (if leader election is on)
//           ─▶ as leader: start controllers
//           wait for SIGTERM/SIGINT, stop(), or lost leadership
//   shutdown: stop controllers (in-flight reconciles get up to
//           gracefulShutdownTimeout) ─▶ release the Lease ─▶ stop informers
//           ─▶ flush events (≤ 2 s) ─▶ stop servers ─▶ return the exit code
//
// Exit codes: 0 after a graceful shutdown; 1 when leadership was lost (the
// process must exit: another replica now leads), when a server cannot bind,
// or when caches did not sync within cacheSyncTimeout. If reconciles are
// still running when the grace period ends, the process exits with status 1
// at once (threads cannot be cancelled safely, and the lease is not
// released so that no new leader acts while they run).
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
//   TrainingRunReconciler reconciler(mgr.cache(), *client, mgr.eventRecorder());
//   auto& ctl = mgr.addController("trainingrun", reconciler, 2);
//   ctl.watch(runs);
//   ctl.watch(jobs, runtime::requestForOwner("mlops.dev", "TrainingRun"));
//   return mgr.run();
//
// Informers and controllers are added before run(). Informers are shared per
// (resource, namespace, label selector, field selector): asking again with
// the same selection returns the same informer, asking with another creates
// a second one, and cache() answers each read from an informer whose
// selection covers it (cache_reader.h). The Manager must outlive nothing it
// hands out: the client, reconcilers and anything they use must outlive it.
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
  const std::string& identity() const { return identity_; }

  // The informer of `resource` with the selection of `options` (namespace,
  // label and field selectors), created on first use and registered with
  // cache(). `options.ns` defaults to ManagerOptions::ns. Options that only
  // tune the reflector (page size, backoff) are those of the first caller.
  Informer& informer(const kube::Resource& resource, InformerOptions options = {});
  // Controllers start only while leading (or at once without leader election).
  Controller& addController(const std::string& name, Reconciler& reconciler, int workers = 1);

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
  void startControllers();
  bool stopControllers();
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

  std::mutex controllersMu_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  bool controllersStopped_ = false;

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
