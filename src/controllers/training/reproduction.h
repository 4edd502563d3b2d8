// Judging a reproduction: does a re-run give the original's metrics?
//
// For every metric the ORIGINAL reported: delta = |reproduced - original|,
// compared with spec.reproduction.tolerance[metric] (default 0.01, an
// absolute difference in the metric's units; rounding of the subtraction is
// absorbed, see metric_difference.h). A metric the reproduction did not
// report is "missing" and fails. Metrics only the reproduction reported are
// ignored. Verdict: Reproduced when nothing failed, else NotReproduced.
//
// fingerprintMatch (reported, not part of the verdict): both fingerprints are
// known and equal — the same inputs ran, including the image digests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::training {

inline constexpr double kDefaultReproductionTolerance = 0.01;

struct ReproductionReport {
  std::string of;  // the original run's name
  bool fingerprintMatch = false;
  std::map<std::string, double> deltas;     // per metric both runs reported
  std::vector<std::string> missingMetrics;  // sorted
  std::vector<std::string> exceeded;        // metrics whose delta exceeds the tolerance, sorted
  bool reproduced = false;
  // One line for the Reproduced condition and Event: every metric's delta
  // and tolerance, failures first.
  std::string message;

  const char* verdict() const { return reproduced ? "Reproduced" : "NotReproduced"; }
  // status.reproduction: {of, fingerprintMatch, deltas, missingMetrics
  // (only when non-empty), verdict}.
  nlohmann::json toStatus() const;
};

// `tolerance` is spec.reproduction.tolerance (object of metric → number, or
// null). Fingerprints may be "" when unknown (then fingerprintMatch is false).
ReproductionReport compareReproduction(const std::string& of,
                                       const std::map<std::string, double>& originalMetrics,
                                       const std::map<std::string, double>& reproducedMetrics,
                                       const nlohmann::json& tolerance,
                                       const std::string& originalFingerprint,
                                       const std::string& reproducedFingerprint);

}  // namespace mlops::training
