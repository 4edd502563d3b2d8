#include "controllers/training/validation.h"

#include <vector>

#include "controllers/training/metric_difference.h"
#include "controllers/training/results.h"
#include "core/number_format.h"

namespace mlops::training {
namespace {

using Json = nlohmann::json;

std::string num(double v) {
  return formatNumber(v);
}

struct Finding {
  enum class Kind { kInvalidGate, kGateFailed, kProductionNotBeaten } kind;
  std::string message;
};

bool compare(double value, const std::string& op, double bound) {
  if (op == ">=") {
    return value >= bound;
  }
  if (op == ">") {
    return value > bound;
  }
  if (op == "<=") {
    return value <= bound;
  }
  return value < bound;  // op was checked to be "<"
}

// Returns a finding when the gate fails, a note for the success message otherwise.
std::optional<Finding> checkGate(const Json& gate, const std::map<std::string, double>& metrics) {
  const bool wellFormed =
      gate.is_object() && gate.contains("metric") && gate["metric"].is_string() &&
      !gate["metric"].get<std::string>().empty() && gate.contains("op") && gate["op"].is_string() &&
      gate.contains("value") && gate["value"].is_number();
  const std::string op = wellFormed ? gate["op"].get<std::string>() : "";
  if (!wellFormed || (op != ">=" && op != ">" && op != "<=" && op != "<")) {
    return Finding{Finding::Kind::kInvalidGate,
                   "gate " + gate.dump(-1, ' ', false, Json::error_handler_t::replace) +
                       " is invalid: it needs a metric, an op (>=, >, <=, <) and a numeric value"};
  }
  const std::string metric = gate["metric"].get<std::string>();
  const double bound = gate["value"].get<double>();
  const std::string name = "gate \"" + metric + " " + op + " " + num(bound) + "\"";
  const auto it = metrics.find(metric);
  if (it == metrics.end()) {
    return Finding{Finding::Kind::kGateFailed,
                   name + " failed: the run reported no metric " + quotedForMessage(metric)};
  }
  if (!compare(it->second, op, bound)) {
    return Finding{Finding::Kind::kGateFailed,
                   name + " failed: " + metric + " is " + num(it->second)};
  }
  return std::nullopt;
}

// Adds a failure to `findings` or a note to `notes`.
void checkProduction(const Json& spec, const std::map<std::string, double>& metrics,
                     const std::optional<ProductionMetrics>& production,
                     std::vector<Finding>& findings, std::vector<std::string>& notes) {
  if (!spec.is_object() || !spec.contains("metric") || !spec["metric"].is_string()) {
    findings.push_back(
        {Finding::Kind::kInvalidGate, "compareToProduction is invalid: it needs a metric"});
    return;
  }
  const std::string metric = spec["metric"].get<std::string>();
  const bool higherIsBetter =
      !(spec.contains("higherIsBetter") && spec["higherIsBetter"].is_boolean()) ||
      spec["higherIsBetter"].get<bool>();
  const double minDelta = spec.contains("minDelta") && spec["minDelta"].is_number()
                              ? spec["minDelta"].get<double>()
                              : 0.0;
  const auto mine = metrics.find(metric);
  if (mine == metrics.end()) {
    findings.push_back(
        {Finding::Kind::kProductionNotBeaten,
         "compareToProduction failed: the run reported no metric " + quotedForMessage(metric)});
    return;
  }
  if (!production) {
    notes.push_back("no version is in production, nothing to compare " + metric + " with");
    return;
  }
  const auto theirs = production->metrics.find(metric);
  if (theirs == production->metrics.end()) {
    notes.push_back("production version " + production->modelVersion + " has no metric " +
                    quotedForMessage(metric) + ", nothing to compare with");
    return;
  }
  const double better = higherIsBetter ? mine->second : theirs->second;
  const double worse = higherIsBetter ? theirs->second : mine->second;
  const std::string comparison = metric + " " + num(mine->second) + " vs " + num(theirs->second) +
                                 " in production version " + production->modelVersion + " (" +
                                 (higherIsBetter ? "higher" : "lower") + " is better, minDelta " +
                                 num(minDelta) + ")";
  if (!differenceAtLeast(better, worse, minDelta)) {
    findings.push_back(
        {Finding::Kind::kProductionNotBeaten, "compareToProduction failed: " + comparison});
  } else {
    notes.push_back("beats production: " + comparison);
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : "; ") + p;
  }
  return out;
}

}  // namespace

ValidationVerdict validateMetrics(const Json& validation,
                                  const std::map<std::string, double>& metrics,
                                  const std::optional<ProductionMetrics>& production) {
  std::vector<Finding> findings;
  std::vector<std::string> notes;
  size_t gateCount = 0;
  if (validation.is_object() && validation.contains("gates") && validation["gates"].is_array()) {
    for (const auto& gate : validation["gates"]) {
      ++gateCount;
      if (auto f = checkGate(gate, metrics)) {
        findings.push_back(std::move(*f));
      }
    }
  }
  if (validation.is_object() && validation.contains("compareToProduction") &&
      !validation["compareToProduction"].is_null()) {
    checkProduction(validation["compareToProduction"], metrics, production, findings, notes);
  }

  ValidationVerdict verdict;
  if (findings.empty()) {
    verdict.reason = "Passed";
    std::vector<std::string> parts;
    parts.push_back(gateCount == 0   ? std::string("no gates")
                    : gateCount == 1 ? std::string("1 gate passed")
                                     : std::to_string(gateCount) + " gates passed");
    parts.insert(parts.end(), notes.begin(), notes.end());
    verdict.message = join(parts);
    return verdict;
  }
  verdict.passed = false;
  Finding::Kind worst = Finding::Kind::kProductionNotBeaten;
  std::vector<std::string> messages;
  for (const auto& f : findings) {
    if (f.kind < worst) {
      worst = f.kind;
    }
    messages.push_back(f.message);
  }
  verdict.reason = worst == Finding::Kind::kInvalidGate  ? "InvalidGate"
                   : worst == Finding::Kind::kGateFailed ? "GateFailed"
                                                         : "ProductionNotBeaten";
  verdict.message = join(messages);
  return verdict;
}

}  // namespace mlops::training
