// Validation of a run's reported metrics (spec.validation).
//
//   gates:               [{metric, op: ">=" | ">" | "<=" | "<", value}]
//                        every gate must hold; a metric the run did not
//                        report fails its gate.
//   compareToProduction: {metric, higherIsBetter (default true), minDelta (default 0)}
//                        the run must improve on the version now in production
//                        by at least minDelta: run - production >= minDelta
//                        (production - run when lower is better). With
//                        minDelta 0 a tie passes (no worse than production).
//                        Passes when nothing is in production. Passes, with a
//                        note, when the production version lacks the metric:
//                        there is nothing to beat, and failing would block
//                        every future version of the model on an old record
//                        until someone intervened; use a gate for an absolute
//                        bound. Fails when this run lacks the metric.
//
// The verdict's reason and message go straight into the Validated condition;
// the message names every failing gate, the value and the bound, e.g.
//   gate "accuracy >= 0.9" failed: accuracy is 0.85
// A malformed gate (unknown op, no metric, non-numeric value — the schema
// prevents all three) fails with reason InvalidGate rather than passing.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace mlops::training {

// The metrics of the version in production, for compareToProduction.
struct ProductionMetrics {
  std::string modelVersion;  // its name, for messages ("iris-v3")
  std::map<std::string, double> metrics;
};

struct ValidationVerdict {
  bool passed = true;
  // Passed, GateFailed, ProductionNotBeaten, InvalidGate (the first failing
  // kind, in that order of precedence: InvalidGate, GateFailed, ProductionNotBeaten).
  std::string reason;
  std::string message;
};

// `validation` is spec.validation (null or absent members mean no checks).
// `production` is nullopt when no version of the model is in production.
ValidationVerdict validateMetrics(const nlohmann::json& validation,
                                  const std::map<std::string, double>& metrics,
                                  const std::optional<ProductionMetrics>& production);

}  // namespace mlops::training
