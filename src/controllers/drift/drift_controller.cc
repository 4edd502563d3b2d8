#include "controllers/drift/drift_controller.h"

#include <algorithm>
#include <utility>

#include "analysis/evaluate.h"
#include "core/json_access.h"
#include "kube/resource.h"
#include "objects/metadata.h"
#include "objects/timestamps.h"
#include "prometheus/http_query_client.h"
#include "runtime/indexer.h"
#include "runtime/object.h"
#include "runtime/status_write.h"

namespace mlops::drift {
namespace {

using Json = nlohmann::json;
using runtime::ReconcileResult;
using runtime::Request;

// evaluate, create, then the final decision.
constexpr int kMaxDecisions = 3;
// How long after its creation a retraining run the cache does not show is
// looked up on the API server.
constexpr std::chrono::minutes kCacheLagWindow{2};

// Whether an existing run is the one this trigger would have created: a
// retry after a crash or a lagging cache, never a stranger's object.
bool isRunOfTrigger(const Json& existing, const Json& wanted) {
  for (const auto key : {kLabelPolicy, kLabelTrigger}) {
    if (objects::labelOf(existing, std::string(key)) !=
        objects::labelOf(wanted, std::string(key))) {
      return false;
    }
  }
  return true;
}

}  // namespace

DriftReconciler::DriftReconciler(runtime::IndexedReader& cache, kube::Client& api,
                                 runtime::EventRecorder& events, DriftControllerOptions options,
                                 const Clock& clock, runtime::Logger logger)
    : cache_(cache),
      api_(api),
      events_(events),
      options_(std::move(options)),
      clock_(clock),
      log_(std::move(logger)) {
  if (!options_.prometheus) {
    options_.prometheus = prometheus::makeHttpQueryClientFactory();
  }
  if (options_.recorder == nullptr) {
    options_.recorder = &metrics::noDomainRecorder();
  }
}

Result<DriftInput> DriftReconciler::gather(const Json& policy) {
  DriftInput in;
  in.ns = runtime::namespaceOf(policy);
  in.policy = policy;
  in.now = clock_.wallNow();
  const std::string name = runtime::nameOf(policy);
  // A policy is named after its model (CEL); spec.model is what counts.
  std::string model = stringMember(member(policy, "spec"), "model");
  if (model.empty()) {
    model = name;
  }
  auto versions = cache_.byIndex(kube::resources::kModelVersions, kModelVersionsByModel,
                                 runtime::makeKey(in.ns, model));
  if (!versions.ok()) {
    return versions.error();
  }
  in.versions = std::move(*versions);
  auto runs = cache_.byIndex(kube::resources::kTrainingRuns, kTrainingRunsByDriftPolicy,
                             runtime::makeKey(in.ns, name));
  if (!runs.ok()) {
    return runs.error();
  }
  in.runs = std::move(*runs);
  const Json& lastRetrain = member(member(policy, "status"), "lastRetrain");
  const std::string last = stringMember(lastRetrain, "trainingRun");
  const bool cached = std::any_of(in.runs.begin(), in.runs.end(),
                                  [&](const Json& r) { return runtime::nameOf(r) == last; });
  // Only a recent run can be missing for cache lag (the caches sync before
  // the controller starts); an old one missing was deleted, and asking the
  // API server about it on every evaluation would only cost a request.
  const auto lastTime = objects::parseTimestamp(stringMember(lastRetrain, "time"));
  const bool recent = lastTime && in.now - *lastTime < kCacheLagWindow;
  if (!last.empty() && !cached && recent) {
    // Just created, and the cache has not seen it yet: it is unfinished, not
    // absent. Deleted: it no longer holds maxConcurrent.
    auto live = api_.get(kube::resources::kTrainingRuns, in.ns, last);
    if (live.ok() && objects::labelOf(*live, std::string(kLabelPolicy)) == name) {
      in.runs.push_back(std::move(*live));
    } else if (!live.ok() && live.error().code != ErrorCode::kNotFound) {
      return live.error();
    }
  }
  return in;
}

Result<CreateOutcome> DriftReconciler::create(const DriftInput& in, const Json& run) {
  const std::string name = runtime::nameOf(run);
  auto created = api_.create(kube::resources::kTrainingRuns, in.ns, run);
  if (created.ok()) {
    return CreateOutcome{CreateOutcome::Kind::kCreated, ""};
  }
  if (created.error().code == ErrorCode::kAlreadyExists) {
    auto existing = api_.get(kube::resources::kTrainingRuns, in.ns, name);
    if (!existing.ok()) {
      // Deleted in between, or unreadable: decide again later.
      return existing.error();
    }
    if (isRunOfTrigger(*existing, run)) {
      return CreateOutcome{CreateOutcome::Kind::kAdopted, ""};
    }
    return CreateOutcome{CreateOutcome::Kind::kFailed,
                         "a TrainingRun of that name exists and was not created by this trigger "
                         "of the policy; rename or delete it"};
  }
  if (created.error().transient()) {
    return created.error();
  }
  // Refused for good (invalid template, forbidden, namespace terminating):
  // the policy reports it; the next breach tries again.
  return CreateOutcome{CreateOutcome::Kind::kFailed, created.error().message};
}

Result<ReconcileResult> DriftReconciler::reconcile(const Request& request,
                                                   const runtime::ReconcileContext& context) {
  auto policy = cache_.get(kube::resources::kDriftPolicies, request.ns, request.name);
  if (!policy.ok()) {
    if (policy.error().code == ErrorCode::kNotFound) {
      // Deleted: its check series go with it (bounded cardinality).
      options_.recorder->modelForgotten(request.ns, request.name);
      return ReconcileResult{};
    }
    return policy.error();
  }
  auto gathered = gather(*policy);
  if (!gathered.ok()) {
    return gathered.error();
  }
  DriftInput in = std::move(*gathered);
  DriftDecision d = decideDrift(in);
  for (int round = 1; round < kMaxDecisions && (d.evaluate || d.createRun); ++round) {
    if (context.stopping()) {
      // Shutdown began: query and create nothing now; the next leader does.
      return makeError(ErrorCode::kCancelled, "drift policy " + request.key() + ": shutting down");
    }
    if (d.evaluate) {
      auto client = controllers::queryClientForPolicy(
          api_, *options_.prometheus,
          {.defaultUrl = options_.defaultPrometheusUrl, .allowedUrls = options_.prometheusUrlAllow},
          in.ns, d.evaluate->prometheus);
      if (!client.ok()) {
        in.prometheusConfigError = client.error().message;
      } else {
        in.evaluation = analysis::evaluateChecks(d.evaluate->checks, d.evaluate->placeholders,
                                                 **client, objects::formatTimestamp(in.now));
        log_.info("drift evaluated",
                  {{"policy", request.key()},
                   {"version", d.evaluate->placeholders.version},
                   {"verdict", std::string(analysis::verdictName(in.evaluation->verdict))},
                   {"queries", in.evaluation->queries}});
      }
    } else {
      auto outcome = create(in, *d.createRun);
      if (!outcome.ok()) {
        return outcome.error();
      }
      log_.info("retraining run",
                {{"policy", request.key()},
                 {"trainingRun", runtime::nameOf(*d.createRun)},
                 {"outcome", outcome->kind == CreateOutcome::Kind::kCreated   ? "created"
                             : outcome->kind == CreateOutcome::Kind::kAdopted ? "adopted"
                                                                              : "failed"},
                 {"message", outcome->message}});
      in.created = std::move(*outcome);
    }
    d = decideDrift(in);
  }
  if (d.evaluate || d.createRun) {
    return makeError(ErrorCode::kInternal, "the drift decision did not settle");
  }
  return write(in, d);
}

Result<ReconcileResult> DriftReconciler::write(const DriftInput& in, const DriftDecision& d) {
  std::vector<runtime::StatusEvent> events;
  events.reserve(d.events.size());
  for (const auto& e : d.events) {
    events.push_back(
        runtime::StatusEvent{e.warning ? runtime::EventType::kWarning : runtime::EventType::kNormal,
                             e.reason, e.message});
  }
  auto written = runtime::writeStatusIfChanged(api_, events_, kube::resources::kDriftPolicies,
                                               in.policy, d.status, events);
  if (!written.ok()) {
    return written.error();
  }
  if (written->outcome == runtime::StatusWriteOutcome::kConflict ||
      written->outcome == runtime::StatusWriteOutcome::kNotFound) {
    return written->result();
  }
  // The facts are stored: now they count.
  const std::string model = stringMember(member(in.policy, "spec"), "model");
  for (const auto& m : d.measured) {
    options_.recorder->checkEvaluated(in.ns, model, m.check, analysis::verdictName(m.verdict),
                                      m.value);
  }
  if (d.retrainCreated) {
    options_.recorder->retrainTriggered(in.ns, model);
  }
  ReconcileResult result;
  if (d.requeueAfter) {
    result.requeueAfter = *d.requeueAfter;
  }
  return result;
}

Status setupDriftController(runtime::Manager& manager, DriftControllerOptions options) {
  runtime::Informer& policies = manager.informer(kube::resources::kDriftPolicies);
  runtime::Informer& versions = manager.informer(kube::resources::kModelVersions);
  runtime::Informer& runs = manager.informer(kube::resources::kTrainingRuns);
  // The same definition the training and rollout controllers register.
  if (auto st = versions.addIndex(kModelVersionsByModel, runtime::indexByField("/spec/model"));
      !st) {
    return st.error();
  }
  if (auto st = runs.addIndex(kTrainingRunsByDriftPolicy,
                              runtime::indexByLabel(std::string(kLabelPolicy)));
      !st) {
    return st.error();
  }
  runtime::ControllerOptions controllerOptions;
  controllerOptions.workers = options.workers;
  auto reconciler =
      std::make_unique<DriftReconciler>(manager.cache(), manager.client(), manager.eventRecorder(),
                                        std::move(options), manager.clock());
  runtime::Controller& controller =
      manager.addController("drift", std::move(reconciler), std::move(controllerOptions));
  controller.watch(policies);
  controller.watch(versions, runtime::requestForField("/spec/model"));
  controller.watch(runs, runtime::requestForLabel(std::string(kLabelPolicy)));
  return okStatus();
}

}  // namespace mlops::drift
