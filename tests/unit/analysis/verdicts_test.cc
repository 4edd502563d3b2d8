// Verdict order, analysis counting and its decision precedence, the retry
// delay after an Error, and drift's consecutive breaches.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "analysis/analysis.h"

namespace mlops::analysis {
namespace {

using namespace std::chrono_literals;

constexpr Verdict kS = Verdict::kSuccessful;
constexpr Verdict kI = Verdict::kInconclusive;
constexpr Verdict kE = Verdict::kError;
constexpr Verdict kF = Verdict::kFailed;

TEST(AnalysisVerdicts, NamesAndOrder) {
  EXPECT_EQ(verdictName(kS), "Successful");
  EXPECT_EQ(verdictName(kI), "Inconclusive");
  EXPECT_EQ(verdictName(kE), "Error");
  EXPECT_EQ(verdictName(kF), "Failed");
  // Successful < Inconclusive < Error < Failed, whichever side each is on.
  const Verdict order[] = {kS, kI, kE, kF};
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) {
      EXPECT_EQ(worst(order[a], order[b]), order[std::max(a, b)]) << a << " " << b;
    }
  }
  EXPECT_EQ(outcomeName(Outcome::kRunning), "Running");
  EXPECT_EQ(outcomeName(Outcome::kSuccessful), "Successful");
  EXPECT_EQ(outcomeName(Outcome::kFailed), "Failed");
  EXPECT_EQ(outcomeName(Outcome::kInconclusive), "Inconclusive");
  EXPECT_EQ(outcomeName(Outcome::kError), "Error");
}

TEST(AnalysisVerdicts, EvaluationIsTheWorstCheck) {
  const auto of = [](std::vector<Verdict> verdicts) {
    std::vector<Measurement> ms;
    for (Verdict v : verdicts) {
      Measurement m;
      m.verdict = v;
      ms.push_back(m);
    }
    return evaluationVerdict(ms);
  };
  EXPECT_EQ(of({}), kS);
  EXPECT_EQ(of({kS, kS}), kS);
  EXPECT_EQ(of({kS, kI, kS}), kI);
  EXPECT_EQ(of({kI, kE}), kE);
  EXPECT_EQ(of({kF, kE, kI, kS}), kF);
  EXPECT_EQ(of({kE, kS}), kE);
}

TEST(AnalysisCounting, CountsAndResetsConsecutiveErrors) {
  struct Step {
    Verdict v;
    Counters expected;  // successes, failures, inconclusives, errors, consecutiveErrors
  };
  const Step steps[] = {
      {kE, {0, 0, 0, 1, 1}}, {kE, {0, 0, 0, 2, 2}}, {kS, {1, 0, 0, 2, 0}}, {kE, {1, 0, 0, 3, 1}},
      {kI, {1, 0, 1, 3, 0}}, {kE, {1, 0, 1, 4, 1}}, {kF, {1, 1, 1, 4, 0}}, {kS, {2, 1, 1, 4, 0}},
  };
  Counters c;
  int i = 0;
  for (const Step& s : steps) {
    SCOPED_TRACE(i++);
    c = countEvaluation(c, s.v);
    EXPECT_EQ(c.successes, s.expected.successes);
    EXPECT_EQ(c.failures, s.expected.failures);
    EXPECT_EQ(c.inconclusives, s.expected.inconclusives);
    EXPECT_EQ(c.errors, s.expected.errors);
    EXPECT_EQ(c.consecutiveErrors, s.expected.consecutiveErrors);
  }
}

TEST(AnalysisDecide, LimitsAndPrecedence) {
  AnalysisSpec spec;
  spec.count = 3;
  spec.failureLimit = 1;
  spec.inconclusiveLimit = 1;
  spec.consecutiveErrorLimit = 2;
  struct Case {
    const char* name;
    Counters c;  // successes, failures, inconclusives, errors, consecutiveErrors
    Outcome expected;
  };
  const Case cases[] = {
      {"nothing yet", {0, 0, 0, 0, 0}, Outcome::kRunning},
      {"short of count", {2, 0, 0, 0, 0}, Outcome::kRunning},
      {"count reached", {3, 0, 0, 0, 0}, Outcome::kSuccessful},
      {"beyond count", {4, 0, 0, 0, 0}, Outcome::kSuccessful},
      {"failures at the limit", {2, 1, 0, 0, 0}, Outcome::kRunning},
      {"failures over the limit", {0, 2, 0, 0, 0}, Outcome::kFailed},
      {"inconclusives at the limit", {2, 0, 1, 0, 0}, Outcome::kRunning},
      {"inconclusives over the limit", {0, 0, 2, 0, 0}, Outcome::kInconclusive},
      {"consecutive errors at the limit", {0, 0, 0, 9, 2}, Outcome::kRunning},
      {"consecutive errors over the limit", {0, 0, 0, 3, 3}, Outcome::kError},
      {"many errors but not in a row", {0, 0, 0, 50, 1}, Outcome::kRunning},
      // Precedence: Failed > Inconclusive > Error > Successful.
      {"failed beats everything", {5, 2, 2, 3, 3}, Outcome::kFailed},
      {"inconclusive beats error and success", {5, 1, 2, 3, 3}, Outcome::kInconclusive},
      {"error beats success", {5, 1, 1, 3, 3}, Outcome::kError},
      {"success with tolerated trouble", {3, 1, 1, 2, 2}, Outcome::kSuccessful},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(decideAnalysis(c.c, spec), c.expected);
  }
  // Default limits of 0: the first failure or inconclusive decides.
  const AnalysisSpec defaults;
  EXPECT_EQ(decideAnalysis(countEvaluation({}, kF), defaults), Outcome::kFailed);
  EXPECT_EQ(decideAnalysis(countEvaluation({}, kI), defaults), Outcome::kInconclusive);
  Counters errors;
  for (int i = 0; i < 4; ++i) {
    errors = countEvaluation(errors, kE);
    EXPECT_EQ(decideAnalysis(errors, defaults), Outcome::kRunning) << i;
  }
  EXPECT_EQ(decideAnalysis(countEvaluation(errors, kE), defaults), Outcome::kError);
}

TEST(AnalysisDecide, NextEvaluationDelay) {
  AnalysisSpec spec;
  spec.interval = 30s;
  EXPECT_EQ(nextEvaluationDelay(kS, spec), 30s);
  EXPECT_EQ(nextEvaluationDelay(kF, spec), 30s);
  EXPECT_EQ(nextEvaluationDelay(kI, spec), 30s);
  EXPECT_EQ(nextEvaluationDelay(kE, spec), 10s);
  spec.interval = 4s;
  EXPECT_EQ(nextEvaluationDelay(kE, spec), 4s);
  EXPECT_EQ(nextEvaluationDelay(kS, spec), 4s);
}

TEST(AnalysisDrift, ConsecutiveBreaches) {
  EXPECT_EQ(nextConsecutiveBreaches(0, kF), 1);
  EXPECT_EQ(nextConsecutiveBreaches(2, kF), 3);
  EXPECT_EQ(nextConsecutiveBreaches(2, kS), 0);
  EXPECT_EQ(nextConsecutiveBreaches(2, kE), 2);
  EXPECT_EQ(nextConsecutiveBreaches(2, kI), 2);
  // A run: F F E I F → 3; then S resets.
  int64_t n = 0;
  for (Verdict v : {kF, kF, kE, kI, kF}) {
    n = nextConsecutiveBreaches(n, v);
  }
  EXPECT_EQ(n, 3);
  EXPECT_EQ(nextConsecutiveBreaches(n, kS), 0);
}

}  // namespace
}  // namespace mlops::analysis
