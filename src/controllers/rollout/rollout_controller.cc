#include "controllers/rollout/rollout_controller.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "analysis/evaluate.h"
#include "controllers/common/prometheus_access.h"
#include "controllers/rollout/serving.h"
#include "core/json_access.h"
#include "kube/resource.h"
#include "objects/timestamps.h"
#include "prometheus/http_query_client.h"
#include "prometheus/parse.h"
#include "runtime/indexer.h"
#include "runtime/object.h"

namespace mlops::rollout {
namespace {

using Json = nlohmann::json;
using runtime::ReconcileResult;
using runtime::Request;

// An answer to a live read, or a decision's follow-up, each asked at most
// once per reconcile (policy confirmation, evaluation, names to create,
// and the serving names once more after an evaluation changed the plan).
constexpr int kMaxDecisions = 6;

const kube::Resource& resourceOf(const std::string& kind) {
  return kind == "Service" ? kube::resources::kServices : kube::resources::kDeployments;
}

bool anyDeleting(const std::vector<Json>& versions) {
  return std::any_of(versions.begin(), versions.end(), [](const Json& v) {
    return !stringMember(member(v, "metadata"), "deletionTimestamp").empty();
  });
}

// An apply the API server will refuse however often it is sent: invalid
// (422), malformed (400), or an object it cannot even decode — which it
// answers with 500 "failed to convert new object ... unable to convert
// unstructured object" (e.g. a resource quantity "lots" in the template).
bool refusedForGood(const Error& e) {
  return e.code == ErrorCode::kInvalid || e.code == ErrorCode::kBadRequest ||
         (e.httpStatus == 500 && e.message.find("unable to convert") != std::string::npos);
}

// The API server refuses new objects in a namespace being deleted.
bool namespaceTerminating(const Error& e) {
  return e.code == ErrorCode::kForbidden && e.message.find("being terminated") != std::string::npos;
}

// The Deployment an autoscaler scales, "" for any other target.
std::string scaledDeployment(const Json& hpa) {
  const Json& target = member(member(hpa, "spec"), "scaleTargetRef");
  return stringMember(target, "kind") == "Deployment" ? stringMember(target, "name") : "";
}

// An autoscaler of `<model>` wakes the model (the stable Deployment's name
// is the model's name).
std::vector<Request> byScaleTarget(const Json& obj) {
  const std::string target = scaledDeployment(obj);
  if (target.empty()) {
    return {};
  }
  return {Request{runtime::namespaceOf(obj), target}};
}

// Reports what one successful status write made true, read from the status
// before and after it: a promotion, a rollback, the measurements of the
// evaluation it records. A reconcile retried after a failed write reports
// nothing for it; one after a successful write starts from the status that
// write left (or gets Conflict on a stale one), so each fact is reported once.
void reportStatusChange(metrics::DomainRecorder& recorder, const RolloutInput& in,
                        const Json& before, const Json& after) {
  const std::string phaseBefore = stringMember(before, "phase");
  const std::string phaseAfter = stringMember(after, "phase");
  if (phaseAfter == "Production" && phaseBefore != "Production" &&
      stringMember(after, "reason") == "Promoted") {
    recorder.promoted(in.ns, in.model);
  }
  if (phaseAfter == "RolledBack" && phaseBefore != "RolledBack") {
    recorder.rolledBack(in.ns, in.model, stringMember(after, "reason"));
  }
  const std::string evaluatedAt = stringMember(member(after, "analysis"), "lastEvaluationTime");
  if (in.evaluation && !evaluatedAt.empty() &&
      evaluatedAt != stringMember(member(before, "analysis"), "lastEvaluationTime")) {
    for (const auto& m : in.evaluation->measurements) {
      const auto value = m.value && std::isfinite(*m.value) ? m.value : std::nullopt;
      recorder.checkEvaluated(in.ns, in.model, m.check, analysis::verdictName(m.verdict), value);
    }
  }
}

const Json& statusBefore(const RolloutInput& in, const std::string& name) {
  for (const Json& v : in.versions) {
    if (runtime::nameOf(v) == name) {
      return member(v, "status");
    }
  }
  static const Json kNone;
  return kNone;
}

}  // namespace

RolloutReconciler::RolloutReconciler(runtime::IndexedReader& cache, kube::Client& api,
                                     runtime::EventRecorder& events,
                                     RolloutControllerOptions options, const Clock& clock,
                                     runtime::Logger logger)
    : cache_(cache),
      api_(api),
      events_(events),
      options_(std::move(options)),
      clock_(clock),
      log_(std::move(logger)) {
  if (!options_.prometheus) {
    options_.prometheus = prometheus::makeHttpQueryClientFactory();
  }
}

Result<std::optional<Json>> RolloutReconciler::cached(const kube::Resource& r,
                                                      const std::string& ns,
                                                      const std::string& name) {
  auto obj = cache_.get(r, ns, name);
  if (obj.ok()) {
    return std::optional<Json>(std::move(*obj));
  }
  if (obj.error().code == ErrorCode::kNotFound) {
    return std::optional<Json>();
  }
  return obj.error();
}

Result<RolloutInput> RolloutReconciler::gather(const std::string& ns, const std::string& model) {
  RolloutInput in;
  in.ns = ns;
  in.model = model;
  in.options = options_.decide;
  in.now = clock_.wallNow();
  auto versions = cache_.byIndex(kube::resources::kModelVersions, kModelVersionsByModel,
                                 runtime::makeKey(ns, model));
  if (!versions.ok()) {
    return versions.error();
  }
  in.versions = std::move(*versions);
  auto policy = cached(kube::resources::kDriftPolicies, ns, model);
  if (!policy.ok()) {
    return policy.error();
  }
  in.policy = std::move(*policy);
  // Only the cache here: a serving name absent from it is read live only
  // when the decision is about to create it (namesToCreateChecked).
  const std::pair<std::optional<Json>*, std::pair<const kube::Resource*, std::string>> serving[] = {
      {&in.stable, {&kube::resources::kDeployments, deploymentName(model, kTrackStable)}},
      {&in.canary, {&kube::resources::kDeployments, deploymentName(model, kTrackCanary)}},
      {&in.service, {&kube::resources::kServices, serviceName(model)}},
  };
  for (const auto& [slot, ref] : serving) {
    auto obj = cached(*ref.first, ns, ref.second);
    if (!obj.ok()) {
      return obj.error();
    }
    *slot = std::move(*obj);
  }
  auto autoscalers =
      cache_.byIndex(kube::resources::kHorizontalPodAutoscalers, kAutoscalersByTarget,
                     runtime::makeKey(ns, deploymentName(model, kTrackStable)));
  if (!autoscalers.ok()) {
    return autoscalers.error();
  }
  in.stableAutoscaled = !autoscalers->empty();
  if (anyDeleting(in.versions)) {
    auto nsObj = api_.get(kube::resources::kNamespaces, "", ns);
    if (nsObj.ok()) {
      in.namespaceTerminating =
          !stringMember(member(*nsObj, "metadata"), "deletionTimestamp").empty() ||
          stringMember(member(*nsObj, "status"), "phase") == "Terminating";
    } else if (nsObj.error().code != ErrorCode::kNotFound) {
      return nsObj.error();
    } else {
      in.namespaceTerminating = true;
    }
  }
  return in;
}

Result<std::unique_ptr<prometheus::QueryClient>> RolloutReconciler::queryClient(
    const std::string& ns, const analysis::PrometheusSpec& spec) {
  return controllers::queryClientForPolicy(
      api_, *options_.prometheus,
      {.defaultUrl = options_.defaultPrometheusUrl, .allowedUrls = options_.prometheusUrlAllow}, ns,
      spec);
}

Result<bool> RolloutReconciler::patchFinalizer(const RolloutInput& in, const std::string& name,
                                               bool add) {
  const Json* version = nullptr;
  for (const Json& v : in.versions) {
    if (runtime::nameOf(v) == name) {
      version = &v;
    }
  }
  if (version == nullptr) {
    return true;
  }
  const Json& meta = member(*version, "metadata");
  Json finalizers = Json::array();
  if (member(meta, "finalizers").is_array()) {
    for (const Json& f : meta["finalizers"]) {
      if (f != std::string(kProtectionFinalizer)) {
        finalizers.push_back(f);
      }
    }
  }
  if (add) {
    finalizers.push_back(std::string(kProtectionFinalizer));
  }
  // resourceVersion makes the patch conditional: the list we edit is current.
  const Json patch{
      {"metadata",
       {{"finalizers", finalizers}, {"resourceVersion", stringMember(meta, "resourceVersion")}}}};
  auto patched = api_.mergePatch(kube::resources::kModelVersions, in.ns, name, patch);
  if (patched.ok() || patched.error().code == ErrorCode::kNotFound) {
    return true;
  }
  if (patched.error().code == ErrorCode::kConflict) {
    return false;
  }
  return patched.error();
}

Result<bool> RolloutReconciler::namesToCreateChecked(RolloutInput& in, const RolloutDecision& d,
                                                     std::set<std::string>& checked) {
  bool any = false;
  for (const Json& obj : d.apply) {
    const std::string kind = stringMember(obj, "kind");
    const std::string name = stringMember(member(obj, "metadata"), "name");
    const bool inCache = kind == "Service" ? in.service.has_value()
                                           : (name == deploymentName(in.model, kTrackStable)
                                                  ? in.stable.has_value()
                                                  : in.canary.has_value());
    std::string key = kind;
    key.append("/").append(name);
    if (inCache || !checked.insert(std::move(key)).second) {
      continue;
    }
    any = true;
    auto live = api_.get(resourceOf(kind), in.ns, name);
    if (live.ok() && !isManagedByOperator(*live)) {
      in.namesTaken.push_back(kind);
      in.namesTaken.back().append(" ").append(name);
    } else if (!live.ok() && live.error().code != ErrorCode::kNotFound) {
      return live.error();
    }
  }
  return any;
}

Result<ReconcileResult> RolloutReconciler::reconcile(const Request& request,
                                                     const runtime::ReconcileContext& context) {
  auto gathered = gather(request.ns, request.name);
  if (!gathered.ok()) {
    return gathered.error();
  }
  RolloutInput in = std::move(*gathered);
  // Series of what no longer exists go (bounded cardinality): the checks with
  // the policy, everything with the last version.
  if (!in.policy) {
    options_.recorder->modelForgotten(in.ns, in.model);
    if (in.versions.empty()) {
      options_.recorder->modelGone(in.ns, in.model);
    }
  }
  RolloutDecision d = decideRollout(in);
  std::set<std::string> namesChecked;
  for (int round = 1; round < kMaxDecisions; ++round) {
    if (!d.evaluate && !d.confirmPolicyAbsent) {
      auto checkedNow = namesToCreateChecked(in, d, namesChecked);
      if (!checkedNow.ok()) {
        return checkedNow.error();
      }
      if (!*checkedNow) {
        break;  // settled: nothing left to read
      }
    } else if (d.confirmPolicyAbsent) {
      auto live = api_.get(kube::resources::kDriftPolicies, in.ns, in.model);
      if (live.ok()) {
        in.policy = std::move(*live);
      } else if (live.error().code == ErrorCode::kNotFound) {
        in.policyAbsentConfirmed = true;
      } else {
        return live.error();
      }
    } else {
      if (context.stopping()) {
        // Shutdown began: measure nothing now; the next leader measures.
        return makeError(ErrorCode::kCancelled, "rollout of " + in.model + ": shutting down");
      }
      auto client = queryClient(in.ns, d.evaluate->prometheus);
      if (!client.ok()) {
        in.prometheusConfigError = client.error().message;
      } else {
        in.evaluation = analysis::evaluateChecks(d.evaluate->checks, d.evaluate->placeholders,
                                                 **client, objects::formatTimestamp(in.now));
        log_.info("analysis evaluated",
                  {{"model", in.ns + "/" + in.model},
                   {"version", d.evaluate->versionName},
                   {"verdict", std::string(analysis::verdictName(in.evaluation->verdict))},
                   {"queries", in.evaluation->queries}});
      }
    }
    d = decideRollout(in);
  }
  if (d.evaluate || d.confirmPolicyAbsent) {
    return makeError(ErrorCode::kInternal, "the rollout decision did not settle");
  }
  // The last decision may create a name not yet read (a plan changed by
  // the last answer); never apply over an object we did not check.
  if (auto unchecked = namesToCreateChecked(in, d, namesChecked); !unchecked.ok() || *unchecked) {
    return unchecked.ok() ? makeError(ErrorCode::kInternal, "the rollout decision did not settle")
                          : unchecked.error();
  }
  return act(in, d);
}

Result<ReconcileResult> RolloutReconciler::act(RolloutInput& in, const RolloutDecision& d) {
  for (const auto& name : d.addFinalizer) {
    auto done = patchFinalizer(in, name, true);
    if (!done.ok()) {
      return done.error();
    }
    if (!*done) {
      return ReconcileResult{.requeue = true};
    }
  }
  for (const Json& obj : d.apply) {
    const kube::Resource& r = resourceOf(stringMember(obj, "kind"));
    auto applied =
        api_.apply(r, in.ns, obj,
                   kube::ApplyOptions{.fieldManager = std::string(kFieldManager), .force = true});
    if (applied.ok()) {
      continue;
    }
    if (namespaceTerminating(applied.error())) {
      // Its versions are about to be deleted too; nothing more to serve.
      return ReconcileResult{};
    }
    const auto served = servedVersion(obj);
    const bool refused = refusedForGood(applied.error());
    if (refused && served && !in.rejectedServing.contains(*served)) {
      // Retrying would be refused again: the version is Invalid, with the
      // server's words; decide again with that and act on it instead.
      in.rejectedServing[*served] = applied.error().message;
      return act(in, decideRollout(in));
    }
    return applied.error();
  }
  kube::DeleteOptions inBackground;
  inBackground.propagation = kube::PropagationPolicy::kBackground;
  for (const auto& ref : d.remove) {
    auto removed = api_.remove(resourceOf(ref.kind), in.ns, ref.name, inBackground);
    if (!removed.ok() && removed.error().code != ErrorCode::kNotFound) {
      return removed.error();
    }
  }
  for (const auto& write : d.statuses) {
    auto written = api_.updateStatus(kube::resources::kModelVersions, in.ns, write.object);
    if (!written.ok()) {
      if (written.error().code == ErrorCode::kConflict) {
        return ReconcileResult{.requeue = true};
      }
      if (written.error().code == ErrorCode::kNotFound) {
        continue;
      }
      return written.error();
    }
    reportStatusChange(*options_.recorder, in, statusBefore(in, write.name),
                       member(write.object, "status"));
  }
  for (const auto& name : d.removeFinalizer) {
    auto done = patchFinalizer(in, name, false);
    if (!done.ok()) {
      return done.error();
    }
    if (!*done) {
      return ReconcileResult{.requeue = true};
    }
  }
  for (const auto& e : d.events) {
    for (const Json& v : in.versions) {
      if (runtime::nameOf(v) == e.versionName) {
        events_.event(v, e.warning ? runtime::EventType::kWarning : runtime::EventType::kNormal,
                      e.reason, e.message);
      }
    }
  }
  ReconcileResult result;
  if (d.requeueAfter) {
    result.requeueAfter = *d.requeueAfter;
  }
  return result;
}

Status setupRolloutController(runtime::Manager& manager, RolloutControllerOptions options) {
  runtime::InformerOptions serving;
  serving.labelSelector = kServingSelector;
  runtime::Informer& versions = manager.informer(kube::resources::kModelVersions);
  runtime::Informer& policies = manager.informer(kube::resources::kDriftPolicies);
  runtime::Informer& deployments = manager.informer(kube::resources::kDeployments, serving);
  runtime::Informer& services = manager.informer(kube::resources::kServices, serving);
  // Every autoscaler of the namespace: users label theirs as they like.
  runtime::Informer& autoscalers = manager.informer(kube::resources::kHorizontalPodAutoscalers);
  runtime::IndexDefinition byTarget{"namespace/spec.scaleTargetRef.name of kind Deployment",
                                    [](const Json& hpa) -> std::vector<std::string> {
                                      const std::string target = scaledDeployment(hpa);
                                      if (target.empty()) {
                                        return {};
                                      }
                                      return {runtime::makeKey(runtime::namespaceOf(hpa), target)};
                                    }};
  if (auto st = autoscalers.addIndex(kAutoscalersByTarget, std::move(byTarget)); !st) {
    return st.error();
  }
  runtime::ControllerOptions controllerOptions;
  controllerOptions.workers = options.workers;
  auto reconciler = std::make_unique<RolloutReconciler>(manager.cache(), manager.client(),
                                                        manager.eventRecorder(), std::move(options),
                                                        manager.clock());
  runtime::Controller& controller =
      manager.addController("rollout", std::move(reconciler), std::move(controllerOptions));
  controller.watch(versions, runtime::requestForField("/spec/model"));
  controller.watch(policies, runtime::requestForField("/spec/model"));
  controller.watch(deployments, runtime::requestForLabel(std::string(kLabelModel)));
  controller.watch(services, runtime::requestForLabel(std::string(kLabelModel)));
  controller.watch(autoscalers, byScaleTarget);
  return okStatus();
}

}  // namespace mlops::rollout
