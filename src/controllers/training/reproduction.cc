#include "controllers/training/reproduction.h"

#include <cmath>

#include "controllers/training/metric_difference.h"
#include "core/number_format.h"

namespace mlops::training {
namespace {

double toleranceFor(const nlohmann::json& tolerance, const std::string& metric) {
  if (tolerance.is_object() && tolerance.contains(metric) && tolerance[metric].is_number()) {
    return tolerance[metric].get<double>();
  }
  return kDefaultReproductionTolerance;
}

}  // namespace

nlohmann::json ReproductionReport::toStatus() const {
  nlohmann::json deltasJson = nlohmann::json::object();
  for (const auto& [metric, delta] : deltas) {
    deltasJson[metric] = delta;
  }
  nlohmann::json out{{"of", of},
                     {"fingerprintMatch", fingerprintMatch},
                     {"deltas", deltasJson},
                     {"verdict", verdict()}};
  if (!missingMetrics.empty()) {
    out["missingMetrics"] = missingMetrics;
  }
  return out;
}

ReproductionReport compareReproduction(const std::string& of,
                                       const std::map<std::string, double>& originalMetrics,
                                       const std::map<std::string, double>& reproducedMetrics,
                                       const nlohmann::json& tolerance,
                                       const std::string& originalFingerprint,
                                       const std::string& reproducedFingerprint) {
  ReproductionReport report;
  report.of = of;
  report.fingerprintMatch =
      !originalFingerprint.empty() && originalFingerprint == reproducedFingerprint;
  std::vector<std::string> failures;
  std::vector<std::string> passes;
  for (const auto& [metric, original] : originalMetrics) {
    const double allowed = toleranceFor(tolerance, metric);
    const auto it = reproducedMetrics.find(metric);
    if (it == reproducedMetrics.end()) {
      report.missingMetrics.push_back(metric);
      failures.push_back(metric + " missing (original " + formatNumber(original) + ")");
      continue;
    }
    // On the decimals as reported, so that 0.962 against 0.96 is 0.002 in the
    // status and the message, not 0.0020000000000000018.
    const double delta = std::fabs(exactDifference(it->second, original));
    report.deltas[metric] = delta;
    const std::string line = metric + " delta " + formatNumber(delta) + " (" +
                             formatNumber(original) + " -> " + formatNumber(it->second) +
                             ", tolerance " + formatNumber(allowed) + ")";
    if (absoluteDifferenceWithin(it->second, original, allowed)) {
      passes.push_back(line);
    } else {
      report.exceeded.push_back(metric);
      failures.push_back(line + " exceeds tolerance");
    }
  }
  report.reproduced = failures.empty();

  std::string message =
      report.reproduced ? "reproduced " + of + ": " : "did not reproduce " + of + ": ";
  std::string list;
  for (const auto& part : failures) {
    list += (list.empty() ? "" : "; ") + part;
  }
  for (const auto& part : passes) {
    list += (list.empty() ? "" : "; ") + part;
  }
  if (list.empty()) {
    list = "the original reported no metrics";
  }
  message += list;
  message += report.fingerprintMatch ? "; fingerprints match" : "; fingerprints differ";
  report.message = std::move(message);
  return report;
}

}  // namespace mlops::training
