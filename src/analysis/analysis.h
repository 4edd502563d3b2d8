// Judging a model on Prometheus evidence (DESIGN.md, "DriftPolicy"): the
// parsed policy, one check's verdict, an evaluation (all checks once), and
// the counting that turns evaluations into a decision. Pure: no I/O, no
// clock; the rollout controller (canary and bake) and the drift controller
// both use it.
//
//   parseDriftPolicy(policy JSON) ─▶ DriftPolicySpec
//   renderQuery(check.query, placeholders) ─▶ PromQL as sent
//   judge(check, rendered query, query outcome, time) ─▶ Measurement
//   worst of the measurements ─▶ the evaluation's verdict
//   countEvaluation(counters, verdict) ─▶ counters
//   decideAnalysis(counters, limits) ─▶ Running | Successful | Failed | ...
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "prometheus/query_result.h"

namespace mlops::analysis {

// Ordered from best to worst: the verdict of an evaluation is the worst of
// its checks' verdicts.
enum class Verdict { kSuccessful = 0, kInconclusive = 1, kError = 2, kFailed = 3 };
std::string_view verdictName(Verdict v);  // "Successful", "Inconclusive", "Error", "Failed"
Verdict worst(Verdict a, Verdict b);

enum class OnNoData { kInconclusive, kFail, kPass };

struct Check {
  std::string name;
  std::string query;  // PromQL with {{model}} {{version}} {{namespace}} {{track}}
  std::optional<double> min;
  std::optional<double> max;
  OnNoData onNoData = OnNoData::kInconclusive;
};

struct AnalysisSpec {
  std::vector<Check> checks;
  std::chrono::milliseconds interval{30'000};
  std::chrono::milliseconds initialDelay{30'000};
  int64_t count = 5;
  int64_t failureLimit = 0;
  int64_t inconclusiveLimit = 0;
  int64_t consecutiveErrorLimit = 4;
  int64_t canaryReplicas = 1;
  std::chrono::seconds progressDeadline{600};
  std::chrono::milliseconds bakeTime{600'000};
};

struct SecretKeyRef {
  std::string name;
  std::string key;
};

struct PrometheusSpec {
  std::string url;  // "" = the operator's --prometheus-url
  std::chrono::milliseconds timeout{10'000};
  std::optional<SecretKeyRef> bearerTokenSecretRef;
  bool insecureSkipVerify = false;
};

struct RetrainSpec {
  nlohmann::json templateSpec = nlohmann::json::object();  // a TrainingRun spec without model
  std::chrono::milliseconds cooldown{3'600'000};
  int64_t maxConcurrent = 1;
  // Manual | Automatic: the effective one, retrain.promotion if set, else
  // the template's promotion, else Manual (the TrainingRun default).
  std::string promotion = "Manual";
};

struct DriftSpec {
  std::vector<Check> checks;
  std::chrono::milliseconds interval{60'000};
  int64_t breachAfter = 3;
  std::optional<RetrainSpec> retrain;
};

struct DriftPolicySpec {
  std::string model;
  bool suspend = false;
  PrometheusSpec prometheus;
  AnalysisSpec analysis;  // defaults (no checks) when absent
  std::optional<DriftSpec> drift;
  std::optional<int64_t> retentionKeep;
};

// Parses a DriftPolicy object's spec, applying DESIGN.md's defaults for
// anything absent (the CRD defaults them too, but an object may predate a
// default). `policy` is the whole object as read from the API (its `spec` is
// read); a bare spec (no `spec` member, `model` at the top) is accepted too.
// A null field reads as absent. An error names the field and what is wrong
// with it, e.g. "spec.analysis.checks[1] (latency): has neither min nor max"
// or "spec.analysis.interval: \"5x\" is not a duration"; code
// kInvalidArgument. Besides the CRD's own rules (duration pattern, minimums,
// enums, min <= max, unique check names), a zero analysis or drift interval
// and a zero prometheus timeout are refused: the pattern allows "0s", but
// either would query Prometheus in a busy loop.
Result<DriftPolicySpec> parseDriftPolicy(const nlohmann::json& policy);

// "1h30m", "500ms", "1.5s", "2m" (Go-style units ms, s, m, h, concatenated).
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

struct Placeholders {
  std::string model;
  std::string version;
  std::string ns;
  std::string track;  // "canary" or "stable"
};

// Replaces {{model}} {{version}} {{namespace}} {{track}} by each value
// escaped as the contents of a PromQL double-quoted string (backslash, double
// quote, newline, carriage return, tab and other control bytes escaped), so
// no value can end the string or the label matcher it sits in. Other text,
// including unknown {{…}}, is left as it is.
std::string renderQuery(std::string_view query, const Placeholders& placeholders);

// One evaluation of one check.
struct Measurement {
  std::string check;  // the check's name
  std::string time;   // RFC 3339, as given to judge()
  std::string query;  // as sent
  // Absent for no data, NaN, ±Inf (JSON, and so status, has no number for
  // them; the message names the value) or an error.
  std::optional<double> value;
  std::optional<double> min;
  std::optional<double> max;
  Verdict verdict = Verdict::kError;
  std::string message;  // "no data", "NaN", the bound broken, the error (≤ 256 chars)
};

// A measurement as status records it: {time, query, verdict, value (when
// finite), min, max (when set), message (when not empty)}.
nlohmann::json measurementJson(const Measurement& m);

// The verdict of one check from its query's outcome (DESIGN.md "Evaluating
// one check once"): a scalar or a vector of exactly one series is judged
// against [min, max] (a bound is inclusive); an empty vector gives the
// onNoData verdict; NaN is Inconclusive; any other shape, and any error
// (transport, timeout, HTTP >= 400, Prometheus status error), is Error with
// a message naming the shape or carrying the error (Prometheus's errorType
// and error), cut to 256 characters at a UTF-8 boundary.
Measurement judge(const Check& check, const std::string& renderedQuery,
                  const Result<prometheus::QueryResult>& outcome, const std::string& time);

// The worst verdict of the measurements; Successful for none.
Verdict evaluationVerdict(const std::vector<Measurement>& measurements);

struct Counters {
  int64_t successes = 0;
  int64_t failures = 0;
  int64_t inconclusives = 0;
  int64_t errors = 0;
  int64_t consecutiveErrors = 0;
};

// Adds one evaluation: successes, failures, inconclusives and errors add up;
// consecutiveErrors grows on Error and resets on anything else.
Counters countEvaluation(Counters counters, Verdict evaluation);

enum class Outcome { kRunning, kSuccessful, kFailed, kInconclusive, kError };
std::string_view outcomeName(Outcome o);  // "Running", "Successful", ...

// In this order: failures > failureLimit → Failed; inconclusives >
// inconclusiveLimit → Inconclusive; consecutiveErrors > consecutiveErrorLimit
// → Error; successes >= count → Successful; else Running.
Outcome decideAnalysis(const Counters& counters, const AnalysisSpec& spec);

// When the next evaluation is due after one with this verdict: interval, or
// min(interval, 10 s) after an Error.
std::chrono::milliseconds nextEvaluationDelay(Verdict last, const AnalysisSpec& spec);

// Drift counting for one check: Failed adds one, Successful resets to zero,
// Error and Inconclusive leave the count as it is.
int64_t nextConsecutiveBreaches(int64_t current, Verdict verdict);

}  // namespace mlops::analysis
