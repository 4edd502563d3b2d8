// The port through which the controllers report domain events to the
// operator's metrics (DESIGN.md, "Architecture": mlops_promotions_total,
// mlops_rollbacks_total, mlops_retrains_total, mlops_check_value,
// mlops_check_evaluations_total). Controllers depend on this interface only,
// never on prometheus-cpp; the default does nothing, so a controller built
// without metrics (unit tests) needs no stub.
//
// State gauges (mlops_trainingruns{phase}, mlops_modelversion_info) are not
// reported here: they are derived from the informer caches when scraped.
//
// Calls come from reconcile workers concurrently; an implementation must be
// thread safe. A call is made once per fact that happened, after the write
// that made it true succeeded (a promotion whose status write failed is not
// counted; the retry that succeeds counts it).
#pragma once

#include <optional>
#include <string_view>

namespace mlops::metrics {

class DomainRecorder {
 public:
  virtual ~DomainRecorder() = default;

  // A version of `model` became the production version.
  virtual void promoted(std::string_view /*ns*/, std::string_view /*model*/) {}
  // A candidate or production version was rolled back; `reason` is the
  // status reason written (e.g. "AnalysisFailed", "BakeFailed").
  virtual void rolledBack(std::string_view /*ns*/, std::string_view /*model*/,
                          std::string_view /*reason*/) {}
  // The drift controller created a retraining TrainingRun for `model`.
  virtual void retrainTriggered(std::string_view /*ns*/, std::string_view /*model*/) {}
  // One check was evaluated once (canary analysis, bake or drift). `verdict`
  // is Successful | Failed | Inconclusive | Error; `value` is absent when the
  // query gave none (no data, NaN, error).
  virtual void checkEvaluated(std::string_view /*ns*/, std::string_view /*model*/,
                              std::string_view /*check*/, std::string_view /*verdict*/,
                              std::optional<double> /*value*/) {}
  // The model has no policy any more (deleted): its check series go, so the
  // metrics' cardinality stays bounded by the live objects.
  virtual void modelForgotten(std::string_view /*ns*/, std::string_view /*model*/) {}
  // Neither a ModelVersion nor a DriftPolicy of the model is left: every
  // series of the model goes, its counters too (the rollout controller
  // calls this when it finds the model empty).
  virtual void modelGone(std::string_view /*ns*/, std::string_view /*model*/) {}
};

// The recorder that records nothing (the default of every controller).
inline DomainRecorder& noDomainRecorder() {
  static DomainRecorder none;
  return none;
}

}  // namespace mlops::metrics
