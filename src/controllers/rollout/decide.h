// The rollout decision (DESIGN.md "ModelVersion", rollout): a pure function
// from everything known about one model — its versions, its DriftPolicy, its
// serving objects, the time, and (on the second call) the measurements just
// taken — to the writes that move it on.
//
// The controller calls decideRollout() once; if the decision asks for
// something only I/O can answer (`evaluate`: run the analysis checks;
// `confirmPolicyAbsent`: GET the DriftPolicy live), it fetches that, puts it
// in the input and decides again. Then it acts in this order: finalizers
// added, objects applied, objects deleted, statuses written (each only if
// changed), finalizers removed, events recorded. An action that fails stops
// the sequence, so no status ever claims more than the cluster shows.
//
// A candidate's progress is kept in its status, so a crash at any point
// resumes where it stopped (phase / reason):
//
//   Registered ─┬─ nothing in production ──────────────▶ Registered/Promoting
//               ├─ no DriftPolicy (confirmed live) ─────▶ Registered/Promoting
//               └─ DriftPolicy ─▶ Canary/Analysing (canary Deployment,
//                                   evaluations from Available + initialDelay)
//                                   ├─ Successful, or decision promote ─▶ Canary/Promoting
//                                   ├─ Failed, Error, decision rollback,
//                                   │  ProgressDeadlineExceeded ────────▶ Canary/RollingBack
//                                   ├─ Inconclusive ─▶ Canary/Inconclusive (Stalled; waits
//                                   │                  for mlops.dev/decision)
//                                   └─ policy deleted / suspended ─▶ Canary/PolicyMissing,
//                                                      Canary/Suspended (Stalled; resumes)
//   */Promoting  ─ stable applied with the candidate, Available ─▶ Production
//                  (the previous one Superseded; the canary deleted; bake starts)
//   */RollingBack ─ canary deleted, stable serves production ─▶ RolledBack
//   Production, bake failed ─▶ Production/RollingBack ─ stable serves the
//                  replaced version ─▶ RolledBack (the replaced one Production)
//
// A version is `promoting` also when the stable Deployment already serves it
// (the label mlops.dev/version on `<model>` is the record of production): a
// crash between applying `<model>` and writing status loses nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "analysis/evaluate.h"

namespace mlops::rollout {

struct RolloutOptions {
  int64_t retentionKeep = 10;  // --retention-keep: Superseded/RolledBack kept before Archived
};

struct RolloutInput {
  std::string ns;
  std::string model;
  std::vector<nlohmann::json> versions;  // every ModelVersion of the model (cache)
  std::optional<nlohmann::json> policy;  // the DriftPolicy `<model>` (cache)
  // Set by the controller after a live GET answered NotFound; a rolling
  // update (no canary) needs this confirmation, not the cache alone.
  bool policyAbsentConfirmed = false;
  // The managed serving objects (cache, selector kServingSelector).
  std::optional<nlohmann::json> stable;
  std::optional<nlohmann::json> canary;
  std::optional<nlohmann::json> service;
  // A HorizontalPodAutoscaler targets Deployment `<model>` (cache): the
  // stable Deployment is applied without spec.replicas, which the
  // autoscaler then owns (DESIGN.md: replicas "not applied when a
  // HorizontalPodAutoscaler targets the Deployment").
  bool stableAutoscaled = false;
  // Objects of the serving names that the operator does not manage (live
  // GET when the managed one is absent): never taken over.
  std::vector<std::string> namesTaken;  // e.g. "Deployment iris", "Service iris"
  bool namespaceTerminating = false;    // live GET, asked only when a version is being deleted
  std::chrono::system_clock::time_point now;
  // Deployments the API server refused (422/400) on the last apply, by the
  // version they served, with the server's message: that version is Invalid.
  std::map<int64_t, std::string> rejectedServing;
  // The checks' results, on the second call after `evaluate`.
  std::optional<analysis::Evaluation> evaluation;
  // Why the Prometheus client for `evaluate` could not be built (URL not
  // allowed, Secret without the opt-in label, ...): nothing is measured, the
  // analysis pauses with this message.
  std::optional<std::string> prometheusConfigError;
  RolloutOptions options;
};

// Run these checks now and decide again with the result in `evaluation`.
struct EvaluationRequest {
  std::string versionName;
  std::vector<analysis::Check> checks;
  analysis::Placeholders placeholders;
  analysis::PrometheusSpec prometheus;
};

struct StatusWrite {
  std::string name;       // ModelVersion
  nlohmann::json object;  // the whole object with the new status (resourceVersion kept)
};

struct ObjectRef {
  std::string kind;  // "Deployment" or "Service"
  std::string name;
};

struct RolloutEvent {
  std::string versionName;
  bool warning = false;
  std::string reason;
  std::string message;
};

struct RolloutDecision {
  std::optional<EvaluationRequest> evaluate;  // when set, nothing else is
  bool confirmPolicyAbsent = false;           // when set, nothing else is
  std::vector<std::string> addFinalizer;      // ModelVersion names
  std::vector<nlohmann::json> apply;          // Deployments and Services, in order
  std::vector<ObjectRef> remove;
  std::vector<StatusWrite> statuses;  // only versions whose status changed
  std::vector<std::string> removeFinalizer;
  std::vector<RolloutEvent> events;
  std::optional<std::chrono::milliseconds> requeueAfter;
};

RolloutDecision decideRollout(const RolloutInput& input);

// The annotation on serving objects holding the hash of what was applied, so
// that an unchanged object is not applied again.
inline constexpr const char* kAppliedHashAnnotation = "mlops.dev/applied-hash";

}  // namespace mlops::rollout
