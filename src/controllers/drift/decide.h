// The drift decision (DESIGN.md "DriftPolicy": drift counting, retraining):
// a pure function from everything known about one DriftPolicy — the policy
// with its status, the model's versions, the TrainingRuns this policy
// triggered, the time, and (on later calls) the measurements just taken and
// the outcome of creating a retraining run — to the one status write, the
// run to create and the Events.
//
// The controller calls decideDrift() and, while the decision asks for I/O,
// does it and decides again:
//
//   decideDrift ─▶ evaluate?  ─ query each drift check ─▶ decideDrift
//               ─▶ createRun? ─ create the TrainingRun (AlreadyExists: adopt
//                               it if its labels name this policy and
//                               trigger) ─▶ decideDrift
//               ─▶ status (written once, if changed), Events, requeueAfter
//
// Counting lives in status, so a restart resumes: status.productionVersion
// names the version the counts belong to (counts reset when it changes),
// status.checks[].consecutiveBreaches the counts, status.lastEvaluationTime
// when the next evaluation is due (every drift.interval; min(interval, 10 s)
// after an Error).
//
// Exactly one TrainingRun per trigger, also across crashes: trigger n (n =
// retrainCount + 1) creates the run named runName(policy, n), labelled with
// kLabelTrigger = n. The retrain count is the higher of status.retrainCount
// and the highest trigger label among the policy's runs, so a run created
// before a crash (status not yet written) is adopted from the cache, and
// one the cache does not show yet collides on its name and is adopted from
// the AlreadyExists answer. Either way trigger n is recorded, not repeated.
//
// Phases (status.phase / reason):
//   Suspended  spec.suspend: nothing is evaluated.
//   Degraded   the policy is invalid (Stalled), Prometheus cannot be used
//              (PrometheusConfigInvalid, Stalled), or an evaluation had an
//              Error (PrometheusError; QueryInvalid when Prometheus refused
//              the query as bad_data, Stalled). Errors never trigger.
//   Retraining a run this policy triggered is unfinished.
//   Drifting   some check has consecutive breaches.
//   Healthy    otherwise, also with no drift section (NoDriftChecks) or no
//              version in production (NoProductionVersion).
//
// Conditions (DESIGN.md "Status conventions"): Healthy → Ready=True;
// Drifting and Retraining → Reconciling=True (the operator works towards a
// model that passes); Degraded → Ready=False, with Stalled=True when only a
// person can fix it (invalid policy, Prometheus not allowed, a query
// Prometheus refuses); Suspended → Stalled=True (reason Suspended), as a
// suspended canary is. Each carries the phase's reason and message.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "analysis/evaluate.h"

namespace mlops::drift {

// Labels on the TrainingRuns a policy triggers (besides mlops.dev/model).
inline constexpr std::string_view kLabelPolicy = "mlops.dev/drift-policy";
inline constexpr std::string_view kLabelCheck = "mlops.dev/drift-check";
inline constexpr std::string_view kLabelJudgedVersion = "mlops.dev/drift-version";
inline constexpr std::string_view kLabelTrigger = "mlops.dev/drift-trigger";

// The name of the run of trigger `n` of `policy`: "<policy>-retrain-<n>",
// the policy part cut so that the name fits a TrainingRun (52 characters).
std::string runName(const std::string& policy, int64_t n);

// How a create of decision.createRun ended, reported back to decideDrift().
struct CreateOutcome {
  enum class Kind { kCreated, kAdopted, kFailed };
  Kind kind = Kind::kFailed;
  std::string message;  // kFailed: why (the API server's words)
};

struct DriftInput {
  std::string ns;
  nlohmann::json policy;                 // the DriftPolicy with its status
  std::vector<nlohmann::json> versions;  // the model's ModelVersions
  std::vector<nlohmann::json> runs;      // TrainingRuns labelled kLabelPolicy=<policy>
  std::chrono::system_clock::time_point now;
  // After `evaluate`: the drift checks' measurements.
  std::optional<analysis::Evaluation> evaluation;
  // After `evaluate`, instead of an evaluation: why no Prometheus client
  // could be built (URL not allowed, Secret not usable).
  std::optional<std::string> prometheusConfigError;
  // After `createRun`.
  std::optional<CreateOutcome> created;
};

struct EvaluationRequest {
  std::vector<analysis::Check> checks;
  analysis::Placeholders placeholders;
  analysis::PrometheusSpec prometheus;
};

struct DriftEvent {
  bool warning = false;
  std::string reason;
  std::string message;
};

struct DriftDecision {
  std::optional<EvaluationRequest> evaluate;  // when set, nothing else is
  std::optional<nlohmann::json> createRun;    // the TrainingRun; when set, nothing else is
  nlohmann::json status;                      // the complete new status
  std::vector<DriftEvent> events;             // recorded after the status is written
  std::optional<std::chrono::milliseconds> requeueAfter;
  // The measurements taken in this reconcile (for the domain metrics), and
  // whether this reconcile created (not adopted) a retraining run.
  std::vector<analysis::Measurement> measured;
  bool retrainCreated = false;
};

DriftDecision decideDrift(const DriftInput& input);

// Reasons written to status and Events.
inline constexpr const char* kReasonRetrainTriggered = "RetrainTriggered";
inline constexpr const char* kReasonRetrainFailed = "RetrainFailed";
inline constexpr const char* kReasonPrometheusError = "PrometheusError";
inline constexpr const char* kReasonQueryInvalid = "QueryInvalid";
inline constexpr const char* kReasonPrometheusConfig = "PrometheusConfigInvalid";
inline constexpr const char* kReasonInvalidPolicy = "InvalidPolicy";

// How soon after an evaluation with an Error the next one comes.
inline constexpr std::chrono::milliseconds kErrorRetry{10'000};

}  // namespace mlops::drift
