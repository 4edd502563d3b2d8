// judge (analysis.h): one check's verdict from its query's outcome
// (DESIGN.md "Evaluating one check once").
#include "analysis/analysis.h"

#include <cmath>
#include <string>

#include "core/number_format.h"
#include "prometheus/parse.h"

namespace mlops::analysis {
namespace {

using prometheus::QueryResult;
using prometheus::ResultType;

constexpr const char* kShapeNeeded = "a check needs a scalar or a vector of exactly one series";

// Prometheus's spelling of the special values, so a message matches what the
// user sees in the Prometheus UI.
std::string valueText(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  return formatNumber(v);
}

std::string rangeText(const Check& check) {
  return "[" + (check.min ? valueText(*check.min) : std::string("-Inf")) + ", " +
         (check.max ? valueText(*check.max) : std::string("+Inf")) + "]";
}

Verdict noDataVerdict(OnNoData onNoData) {
  switch (onNoData) {
    case OnNoData::kFail:
      return Verdict::kFailed;
    case OnNoData::kPass:
      return Verdict::kSuccessful;
    case OnNoData::kInconclusive:
      break;
  }
  return Verdict::kInconclusive;
}

const char* noDataPolicyName(OnNoData onNoData) {
  switch (onNoData) {
    case OnNoData::kFail:
      return "Fail";
    case OnNoData::kPass:
      return "Pass";
    case OnNoData::kInconclusive:
      break;
  }
  return "Inconclusive";
}

// The one value a check judges, or a message saying why there is none.
struct Sample {
  bool present = false;
  double value = 0;
  std::string problem;  // when !present and not "no data"
  bool noData = false;
};

Sample sampleOf(const QueryResult& result) {
  Sample s;
  switch (result.type) {
    case ResultType::kScalar:
      if (result.series.size() == 1) {
        s.present = true;
        s.value = result.series.front().value;
        return s;
      }
      s.problem = "the query returned a malformed scalar; " + std::string(kShapeNeeded);
      return s;
    case ResultType::kVector:
      if (result.series.empty()) {
        s.noData = true;
        return s;
      }
      if (result.series.size() == 1) {
        s.present = true;
        s.value = result.series.front().value;
        return s;
      }
      s.problem = "the query returned a vector of " + std::to_string(result.series.size()) +
                  " series; " + kShapeNeeded + " (aggregate it, e.g. with sum or max)";
      return s;
    case ResultType::kMatrix:
      s.problem = "the query returned a matrix (range vector) of " +
                  std::to_string(result.series.size()) + " series; " + kShapeNeeded;
      return s;
    case ResultType::kString:
      s.problem = std::string("the query returned a string; ") + kShapeNeeded;
      return s;
  }
  s.problem = std::string("the query returned an unknown result type; ") + kShapeNeeded;
  return s;
}

}  // namespace

Measurement judge(const Check& check, const std::string& renderedQuery,
                  const Result<prometheus::QueryResult>& outcome, const std::string& time) {
  Measurement m;
  m.check = check.name;
  m.time = time;
  m.query = renderedQuery;
  m.min = check.min;
  m.max = check.max;
  if (!outcome.ok()) {
    m.verdict = Verdict::kError;
    m.message = prometheus::cutMessage(outcome.error().message);
    return m;
  }
  const Sample s = sampleOf(*outcome);
  if (s.noData) {
    m.verdict = noDataVerdict(check.onNoData);
    m.message = std::string("no data (the query returned an empty vector); onNoData is ") +
                noDataPolicyName(check.onNoData);
    return m;
  }
  if (!s.present) {
    m.verdict = Verdict::kError;
    m.message = prometheus::cutMessage(s.problem);
    return m;
  }
  if (std::isnan(s.value)) {
    m.verdict = Verdict::kInconclusive;
    m.message = "the value is NaN";
    return m;
  }
  // ±Inf is judged like any value but not recorded as one: JSON (and so the
  // status) has no number for it; the message carries it.
  if (std::isfinite(s.value)) {
    m.value = s.value;
  }
  const std::string value = valueText(s.value);
  if (check.min && s.value < *check.min) {
    m.verdict = Verdict::kFailed;
    m.message = "value " + value + " is below min " + valueText(*check.min);
  } else if (check.max && s.value > *check.max) {
    m.verdict = Verdict::kFailed;
    m.message = "value " + value + " is above max " + valueText(*check.max);
  } else {
    m.verdict = Verdict::kSuccessful;
    m.message = "value " + value + " is within " + rangeText(check);
  }
  m.message = prometheus::cutMessage(m.message);
  return m;
}

nlohmann::json measurementJson(const Measurement& m) {
  nlohmann::json out{
      {"time", m.time}, {"query", m.query}, {"verdict", std::string(verdictName(m.verdict))}};
  if (m.value && std::isfinite(*m.value)) {
    out["value"] = *m.value;
  }
  if (m.min) {
    out["min"] = *m.min;
  }
  if (m.max) {
    out["max"] = *m.max;
  }
  if (!m.message.empty()) {
    out["message"] = m.message;
  }
  return out;
}

}  // namespace mlops::analysis
