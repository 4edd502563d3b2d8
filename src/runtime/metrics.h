// The operator's own Prometheus metrics, under controller-runtime's and
// client-go's names so that existing dashboards work:
//
//   controller_runtime_reconcile_total{controller,result}   result =
//   success|error|requeue|requeue_after controller_runtime_reconcile_errors_total{controller}
//   controller_runtime_reconcile_time_seconds{controller}   (histogram)
//   controller_runtime_active_workers{controller}
//   controller_runtime_max_concurrent_reconciles{controller}
//   workqueue_depth{name}, workqueue_adds_total{name}, workqueue_retries_total{name}
//   workqueue_queue_duration_seconds{name}, workqueue_work_duration_seconds{name} (histograms)
//   rest_client_requests_total{code,method}
//   leader_election_master_status{name}
//
// One RuntimeMetrics owns one ::prometheus::Registry; domain metrics of the
// controllers may be registered on the same registry (registry()). Values
// computed only when scraped (gauges counted from the informer caches, the
// process's /proc figures) come from collectables added with
// addCollectable(): prometheus-cpp 1.0's Registry cannot hold one, so
// RuntimeMetrics is itself the Collectable the /metrics server serves.
// Thread safe: prometheus-cpp metrics are, and the collectables list is
// guarded.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include "runtime/work_queue.h"

namespace mlops::runtime {

// The metrics of one controller's reconciles (handles into RuntimeMetrics).
struct ControllerMetrics {
  ::prometheus::Counter* success = nullptr;
  ::prometheus::Counter* error = nullptr;
  ::prometheus::Counter* requeue = nullptr;
  ::prometheus::Counter* requeueAfter = nullptr;
  ::prometheus::Counter* errors = nullptr;  // reconcile_errors_total
  ::prometheus::Histogram* time = nullptr;
  ::prometheus::Gauge* activeWorkers = nullptr;
  ::prometheus::Gauge* maxConcurrent = nullptr;
};

class RuntimeMetrics final : public ::prometheus::Collectable {
 public:
  RuntimeMetrics();
  explicit RuntimeMetrics(std::shared_ptr<::prometheus::Registry> registry);

  const std::shared_ptr<::prometheus::Registry>& registry() const { return registry_; }

  ControllerMetrics forController(const std::string& controller);
  std::unique_ptr<QueueMetrics> forQueue(const std::string& name);
  // Sets leader_election_master_status{name} to 1 (leading) or 0.
  void setLeader(const std::string& name, bool leading);
  // Counts one API request; code 0 (no response) is recorded as "<error>".
  void observeRestRequest(const std::string& method, int code);
  // A function to plug into the API client's response observer. The
  // RuntimeMetrics must outlive every call of it.
  std::function<void(const std::string& method, int code)> restClientObserver();

  // Adds a collectable asked for its families at every Collect(), after the
  // registry's. Held by weak reference, like the registry by the /metrics
  // server: its owner keeps it alive while it should be served (and it may
  // refer to things, such as informers, that the owner outlives); one that is
  // gone is skipped. Its families' names must not clash with the registry's.
  void addCollectable(std::weak_ptr<const ::prometheus::Collectable> collectable);

  // The registry's families, then each live collectable's: what /metrics serves.
  std::vector<::prometheus::MetricFamily> Collect() const override;

  // Prometheus text exposition of Collect() (tests, debugging).
  std::string serialize() const;

 private:
  std::shared_ptr<::prometheus::Registry> registry_;
  mutable std::mutex collectablesMu_;
  std::vector<std::weak_ptr<const ::prometheus::Collectable>> collectables_;
  ::prometheus::Family<::prometheus::Counter>& reconcileTotal_;
  ::prometheus::Family<::prometheus::Counter>& reconcileErrors_;
  ::prometheus::Family<::prometheus::Histogram>& reconcileTime_;
  ::prometheus::Family<::prometheus::Gauge>& activeWorkers_;
  ::prometheus::Family<::prometheus::Gauge>& maxConcurrent_;
  ::prometheus::Family<::prometheus::Gauge>& queueDepth_;
  ::prometheus::Family<::prometheus::Counter>& queueAdds_;
  ::prometheus::Family<::prometheus::Histogram>& queueDuration_;
  ::prometheus::Family<::prometheus::Histogram>& workDuration_;
  ::prometheus::Family<::prometheus::Counter>& queueRetries_;
  ::prometheus::Family<::prometheus::Counter>& restRequests_;
  ::prometheus::Family<::prometheus::Gauge>& leaderStatus_;
};

}  // namespace mlops::runtime
