// The rollout controller: gather from the cache, decideRollout(), act on the
// API server. The decision and its state diagram are in decide.h; this file
// is the I/O around it.
//
// Reconcile key: namespace/model. Enqueued by any ModelVersion (spec.model),
// the DriftPolicy (spec.model) and the managed serving Deployments and
// Services (label mlops.dev/model) of the model.
//
// One reconcile:
//   gather   from the cache: the model's versions (index "model"), its
//            DriftPolicy, the managed `<model>`, `<model>-canary` and Service.
//            Live reads, only when the decision depends on them: a GET of a
//            serving name absent from the cache that the decision is about
//            to create (an unmanaged object there is never taken over:
//            NameTaken; decide again with it); a GET of the Namespace when a
//            version is being deleted; a GET of the DriftPolicy before a
//            rolling update (decision.confirmPolicyAbsent).
//   evaluate when the decision asks: the Prometheus client for the policy
//            (URL from the policy or --prometheus-url, checked against
//            --prometheus-url-allow; bearer token from a Secret labelled
//            mlops.dev/prometheus-credentials=true), one query per check;
//            then decide again with the measurements.
//   act      finalizers added (merge patch with resourceVersion), serving
//            objects applied (server-side apply, field manager
//            mlops-operator), objects deleted, statuses written (status
//            subresource, resourceVersion), finalizers removed, Events — in
//            that order; a failed step stops the rest. Conflict → requeue.
//
// Thread safety: reconcile() may run concurrently for different models.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/rollout/decide.h"
#include "core/clock.h"
#include "kube/client.h"
#include "metrics/domain_recorder.h"
#include "prometheus/client.h"
#include "runtime/event_recorder.h"
#include "runtime/indexed_reader.h"
#include "runtime/logger.h"
#include "runtime/manager.h"
#include "runtime/reconciler.h"

namespace mlops::rollout {

// Index on ModelVersions: "namespace/spec.model" (shared with the training
// controller, which registers the same function under the same name).
inline constexpr const char* kModelVersionsByModel = "model";
// Index on HorizontalPodAutoscalers: "namespace/<Deployment it scales>".
inline constexpr const char* kAutoscalersByTarget = "scaleTarget";

struct RolloutControllerOptions {
  RolloutOptions decide;
  std::string defaultPrometheusUrl;             // --prometheus-url
  std::vector<std::string> prometheusUrlAllow;  // --prometheus-url-allow; empty → any
  int workers = 2;
  // Builds the Prometheus clients; default: the HTTP one.
  std::shared_ptr<prometheus::QueryClientFactory> prometheus;
  // Promotions, rollbacks and check evaluations are reported here, each once,
  // after the status write that records it succeeded. Must outlive the
  // reconciler.
  metrics::DomainRecorder* recorder = &metrics::noDomainRecorder();
};

class RolloutReconciler final : public runtime::Reconciler {
 public:
  // Everything passed in must outlive the reconciler.
  RolloutReconciler(runtime::IndexedReader& cache, kube::Client& api,
                    runtime::EventRecorder& events, RolloutControllerOptions options,
                    const Clock& clock = SystemClock::instance(),
                    runtime::Logger logger = runtime::Logger("rollout"));

  Result<runtime::ReconcileResult> reconcile(const runtime::Request& request,
                                             const runtime::ReconcileContext& context) override;

 private:
  Result<RolloutInput> gather(const std::string& ns, const std::string& model);
  Result<std::optional<nlohmann::json>> cached(const kube::Resource& r, const std::string& ns,
                                               const std::string& name);
  // The query client for a policy, or why there is none (status message).
  Result<std::unique_ptr<prometheus::QueryClient>> queryClient(
      const std::string& ns, const analysis::PrometheusSpec& spec);
  // Reads live each serving object `d` would apply that the cache does not
  // show, once per name per reconcile; an object someone else made under the
  // name goes to in.namesTaken. Returns whether any name was read (then the
  // decision must be made again).
  Result<bool> namesToCreateChecked(RolloutInput& in, const RolloutDecision& d,
                                    std::set<std::string>& checked);
  // Carries out a settled decision (see the top comment for the order).
  Result<runtime::ReconcileResult> act(RolloutInput& in, const RolloutDecision& d);
  Result<bool> patchFinalizer(const RolloutInput& in, const std::string& name, bool add);

  runtime::IndexedReader& cache_;
  kube::Client& api_;
  runtime::EventRecorder& events_;
  RolloutControllerOptions options_;
  const Clock& clock_;
  runtime::Logger log_;
};

// Wires the controller into `manager`: informers on ModelVersions (with the
// "model" index), DriftPolicies, and managed serving Deployments and
// Services; a controller named "rollout" that owns its reconciler.
Status setupRolloutController(runtime::Manager& manager, RolloutControllerOptions options);

}  // namespace mlops::rollout
