// Verdicts and the counting that turns evaluations into a decision
// (analysis.h; DESIGN.md "Analysis counting", "Drift counting").
#include "analysis/analysis.h"

#include <algorithm>

namespace mlops::analysis {

std::string_view verdictName(Verdict v) {
  switch (v) {
    case Verdict::kSuccessful:
      return "Successful";
    case Verdict::kInconclusive:
      return "Inconclusive";
    case Verdict::kError:
      return "Error";
    case Verdict::kFailed:
      return "Failed";
  }
  return "Error";
}

Verdict worst(Verdict a, Verdict b) {
  // The enumerators are declared in order from best to worst.
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

Verdict evaluationVerdict(const std::vector<Measurement>& measurements) {
  Verdict out = Verdict::kSuccessful;
  for (const Measurement& m : measurements) {
    out = worst(out, m.verdict);
  }
  return out;
}

Counters countEvaluation(Counters counters, Verdict evaluation) {
  switch (evaluation) {
    case Verdict::kSuccessful:
      ++counters.successes;
      break;
    case Verdict::kFailed:
      ++counters.failures;
      break;
    case Verdict::kInconclusive:
      ++counters.inconclusives;
      break;
    case Verdict::kError:
      ++counters.errors;
      ++counters.consecutiveErrors;
      return counters;
  }
  counters.consecutiveErrors = 0;
  return counters;
}

std::string_view outcomeName(Outcome o) {
  switch (o) {
    case Outcome::kRunning:
      return "Running";
    case Outcome::kSuccessful:
      return "Successful";
    case Outcome::kFailed:
      return "Failed";
    case Outcome::kInconclusive:
      return "Inconclusive";
    case Outcome::kError:
      return "Error";
  }
  return "Error";
}

Outcome decideAnalysis(const Counters& counters, const AnalysisSpec& spec) {
  // Evidence against the candidate is looked at first: once failures exceed
  // the limit, no number of successes promotes it.
  if (counters.failures > spec.failureLimit) {
    return Outcome::kFailed;
  }
  if (counters.inconclusives > spec.inconclusiveLimit) {
    return Outcome::kInconclusive;
  }
  if (counters.consecutiveErrors > spec.consecutiveErrorLimit) {
    return Outcome::kError;
  }
  if (counters.successes >= spec.count) {
    return Outcome::kSuccessful;
  }
  return Outcome::kRunning;
}

std::chrono::milliseconds nextEvaluationDelay(Verdict last, const AnalysisSpec& spec) {
  // After an Error, look again soon: a short outage should not cost a whole
  // interval, but never more often than the interval asks for.
  constexpr std::chrono::milliseconds kErrorRetry{10'000};
  if (last == Verdict::kError) {
    return std::min(spec.interval, kErrorRetry);
  }
  return spec.interval;
}

int64_t nextConsecutiveBreaches(int64_t current, Verdict verdict) {
  switch (verdict) {
    case Verdict::kFailed:
      return current + 1;
    case Verdict::kSuccessful:
      return 0;
    case Verdict::kInconclusive:
    case Verdict::kError:
      break;
  }
  // No evidence either way (an outage, NaN, no data): the count stands, so a
  // Prometheus outage neither triggers nor hides drift.
  return current;
}

}  // namespace mlops::analysis
