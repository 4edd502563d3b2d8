#include "runtime/metrics.h"

#include <prometheus/text_serializer.h>

namespace mlops::runtime {
namespace {

using ::prometheus::Histogram;

// controller-runtime's reconcile_time_seconds buckets.
Histogram::BucketBoundaries reconcileBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
          0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
          6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
}

// client-go's workqueue buckets: ten decades from 10 ns to 10 s.
Histogram::BucketBoundaries queueBuckets() {
  Histogram::BucketBoundaries b;
  double v = 1e-8;
  for (int i = 0; i < 10; ++i, v *= 10) {
    b.push_back(v);
  }
  return b;
}

class PrometheusQueueMetrics final : public QueueMetrics {
 public:
  PrometheusQueueMetrics(::prometheus::Gauge& depth, ::prometheus::Counter& adds,
                         ::prometheus::Histogram& queueDuration,
                         ::prometheus::Histogram& workDuration, ::prometheus::Counter& retries)
      : depth_(depth),
        adds_(adds),
        queueDuration_(queueDuration),
        workDuration_(workDuration),
        retries_(retries) {}
  void depth(std::size_t d) override { depth_.Set(static_cast<double>(d)); }
  void added() override { adds_.Increment(); }
  void queueDuration(double s) override { queueDuration_.Observe(s); }
  void workDuration(double s) override { workDuration_.Observe(s); }
  void retried() override { retries_.Increment(); }

 private:
  ::prometheus::Gauge& depth_;
  ::prometheus::Counter& adds_;
  ::prometheus::Histogram& queueDuration_;
  ::prometheus::Histogram& workDuration_;
  ::prometheus::Counter& retries_;
};

}  // namespace

RuntimeMetrics::RuntimeMetrics() : RuntimeMetrics(std::make_shared<::prometheus::Registry>()) {}

RuntimeMetrics::RuntimeMetrics(std::shared_ptr<::prometheus::Registry> registry)
    : registry_(std::move(registry)),
      reconcileTotal_(::prometheus::BuildCounter()
                          .Name("controller_runtime_reconcile_total")
                          .Help("Total number of reconciliations per controller")
                          .Register(*registry_)),
      reconcileErrors_(::prometheus::BuildCounter()
                           .Name("controller_runtime_reconcile_errors_total")
                           .Help("Total number of reconciliation errors per controller")
                           .Register(*registry_)),
      reconcileTime_(::prometheus::BuildHistogram()
                         .Name("controller_runtime_reconcile_time_seconds")
                         .Help("Length of time per reconciliation per controller")
                         .Register(*registry_)),
      activeWorkers_(::prometheus::BuildGauge()
                         .Name("controller_runtime_active_workers")
                         .Help("Number of currently used workers per controller")
                         .Register(*registry_)),
      maxConcurrent_(::prometheus::BuildGauge()
                         .Name("controller_runtime_max_concurrent_reconciles")
                         .Help("Maximum number of concurrent reconciles per controller")
                         .Register(*registry_)),
      queueDepth_(::prometheus::BuildGauge()
                      .Name("workqueue_depth")
                      .Help("Current depth of workqueue")
                      .Register(*registry_)),
      queueAdds_(::prometheus::BuildCounter()
                     .Name("workqueue_adds_total")
                     .Help("Total number of adds handled by workqueue")
                     .Register(*registry_)),
      queueDuration_(::prometheus::BuildHistogram()
                         .Name("workqueue_queue_duration_seconds")
                         .Help("How long in seconds an item stays in workqueue before being "
                               "requested")
                         .Register(*registry_)),
      workDuration_(::prometheus::BuildHistogram()
                        .Name("workqueue_work_duration_seconds")
                        .Help("How long in seconds processing an item from workqueue takes")
                        .Register(*registry_)),
      queueRetries_(::prometheus::BuildCounter()
                        .Name("workqueue_retries_total")
                        .Help("Total number of retries handled by workqueue")
                        .Register(*registry_)),
      restRequests_(::prometheus::BuildCounter()
                        .Name("rest_client_requests_total")
                        .Help("Number of HTTP requests, partitioned by status code and method")
                        .Register(*registry_)),
      leaderStatus_(::prometheus::BuildGauge()
                        .Name("leader_election_master_status")
                        .Help("Gauge of if the reporting system is master of the relevant lease, "
                              "0 indicates backup, 1 indicates master")
                        .Register(*registry_)) {}

ControllerMetrics RuntimeMetrics::forController(const std::string& controller) {
  ControllerMetrics m;
  m.success = &reconcileTotal_.Add({{"controller", controller}, {"result", "success"}});
  m.error = &reconcileTotal_.Add({{"controller", controller}, {"result", "error"}});
  m.requeue = &reconcileTotal_.Add({{"controller", controller}, {"result", "requeue"}});
  m.requeueAfter = &reconcileTotal_.Add({{"controller", controller}, {"result", "requeue_after"}});
  m.errors = &reconcileErrors_.Add({{"controller", controller}});
  m.time = &reconcileTime_.Add({{"controller", controller}}, reconcileBuckets());
  m.activeWorkers = &activeWorkers_.Add({{"controller", controller}});
  m.maxConcurrent = &maxConcurrent_.Add({{"controller", controller}});
  return m;
}

std::unique_ptr<QueueMetrics> RuntimeMetrics::forQueue(const std::string& name) {
  const ::prometheus::Labels labels{{"name", name}};
  return std::make_unique<PrometheusQueueMetrics>(
      queueDepth_.Add(labels), queueAdds_.Add(labels), queueDuration_.Add(labels, queueBuckets()),
      workDuration_.Add(labels, queueBuckets()), queueRetries_.Add(labels));
}

void RuntimeMetrics::setLeader(const std::string& name, bool leading) {
  leaderStatus_.Add({{"name", name}}).Set(leading ? 1.0 : 0.0);
}

void RuntimeMetrics::observeRestRequest(const std::string& method, int code) {
  const std::string codeLabel = code > 0 ? std::to_string(code) : "<error>";
  restRequests_.Add({{"code", codeLabel}, {"method", method}}).Increment();
}

std::function<void(const std::string&, int)> RuntimeMetrics::restClientObserver() {
  return [this](const std::string& method, int code) { observeRestRequest(method, code); };
}

void RuntimeMetrics::addCollectable(std::weak_ptr<const ::prometheus::Collectable> collectable) {
  std::lock_guard lock(collectablesMu_);
  collectables_.push_back(std::move(collectable));
}

std::vector<::prometheus::MetricFamily> RuntimeMetrics::Collect() const {
  std::vector<std::shared_ptr<const ::prometheus::Collectable>> live;
  {
    // Collected outside the lock: a collectable may take its time (it reads
    // /proc or walks a cache) and must not hold up addCollectable().
    std::lock_guard lock(collectablesMu_);
    for (const auto& weak : collectables_) {
      if (auto c = weak.lock()) {
        live.push_back(std::move(c));
      }
    }
  }
  std::vector<::prometheus::MetricFamily> families = registry_->Collect();
  for (const auto& c : live) {
    auto more = c->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return families;
}

std::string RuntimeMetrics::serialize() const {
  return ::prometheus::TextSerializer().Serialize(Collect());
}

}  // namespace mlops::runtime
