// The drift controller: gather from the cache, decideDrift(), act on the API
// server. The decision, its phases and the exactly-once retraining are in
// decide.h; this file is the I/O around it. It alone writes DriftPolicy
// status.
//
// Reconcile key: namespace/policy (= namespace/model: a policy is named
// after its model). Enqueued by the DriftPolicy itself, by the model's
// ModelVersions (spec.model: the production version changes) and by the
// TrainingRuns labelled mlops.dev/drift-policy=<policy> (a retraining run
// finishes: maxConcurrent frees up).
//
// One reconcile:
//   gather   from the cache: the policy, the model's versions (index
//            "model"), the policy's runs (index "drift-policy"). The run of
//            status.lastRetrain, when the cache does not show it and it was
//            created in the last two minutes, is read live (a GET), so a run
//            just created counts as unfinished and a deleted one does not.
//   evaluate when the decision asks: the Prometheus client for the policy
//            (controllers/common/prometheus_access.h), one query per drift
//            check; decide again.
//   create   when the decision asks: create (never apply) the TrainingRun;
//            AlreadyExists → GET it and adopt it when its labels name this
//            policy and this trigger; decide again with the outcome.
//   write    runtime::writeStatusIfChanged (status subresource, with the
//            resourceVersion read); Conflict → requeue; Events only after
//            the write; then the domain metrics.
//
// Thread safety: reconcile() may run concurrently for different policies.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/common/prometheus_access.h"
#include "controllers/drift/decide.h"
#include "core/clock.h"
#include "kube/client.h"
#include "metrics/domain_recorder.h"
#include "prometheus/client.h"
#include "runtime/event_recorder.h"
#include "runtime/indexed_reader.h"
#include "runtime/logger.h"
#include "runtime/manager.h"
#include "runtime/reconciler.h"

namespace mlops::drift {

// Indexes read through IndexedReader::byIndex ("namespace/value").
inline constexpr const char* kModelVersionsByModel = "model";              // spec.model
inline constexpr const char* kTrainingRunsByDriftPolicy = "drift-policy";  // label

struct DriftControllerOptions {
  std::string defaultPrometheusUrl;             // --prometheus-url
  std::vector<std::string> prometheusUrlAllow;  // --prometheus-url-allow; empty → any
  int workers = 2;
  // Builds the Prometheus clients; default: the HTTP one.
  std::shared_ptr<prometheus::QueryClientFactory> prometheus;
  // Domain metrics (retrains, check values and verdicts); must outlive the
  // controller.
  metrics::DomainRecorder* recorder = &metrics::noDomainRecorder();
};

class DriftReconciler final : public runtime::Reconciler {
 public:
  // Everything passed in must outlive the reconciler.
  DriftReconciler(runtime::IndexedReader& cache, kube::Client& api, runtime::EventRecorder& events,
                  DriftControllerOptions options, const Clock& clock = SystemClock::instance(),
                  runtime::Logger logger = runtime::Logger("drift"));

  Result<runtime::ReconcileResult> reconcile(const runtime::Request& request,
                                             const runtime::ReconcileContext& context) override;

 private:
  Result<DriftInput> gather(const nlohmann::json& policy);
  // Creates the run; the outcome for the decision, or a transient Error.
  Result<CreateOutcome> create(const DriftInput& in, const nlohmann::json& run);
  Result<runtime::ReconcileResult> write(const DriftInput& in, const DriftDecision& d);

  runtime::IndexedReader& cache_;
  kube::Client& api_;
  runtime::EventRecorder& events_;
  DriftControllerOptions options_;
  const Clock& clock_;
  runtime::Logger log_;
};

// Wires the controller into `manager`: informers on DriftPolicies,
// ModelVersions (index "model") and TrainingRuns (index "drift-policy"); a
// controller named "drift" that owns its reconciler.
Status setupDriftController(runtime::Manager& manager, DriftControllerOptions options);

}  // namespace mlops::drift
